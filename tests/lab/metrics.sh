#!/usr/bin/env bash
# Test: the agent's Prometheus metrics (--metrics-file; docs/observability.md). The lab's
# agent writes /run/ipo-lab/ipo_netd.prom; checks: `promtool check metrics` accepts it (names,
# types, help, histogram shape), it is mode 0644 with no temporary file left, and it agrees
# with the agent's own status (generation, events, set sizes). Then, live: a restart of
# docker_c counts Docker events and event->rules latencies in the histogram; an element
# deleted from the agent's set by someone else (nft in the lab's host namespace; the agent
# runs with --claim-tables off so that the kernel lets anyone) shows as a repair by
# notification; drift is back to 0 and the file keeps passing promtool. Last, per-rule
# counters: five connections from lan-deny straight to docker_a's address are counted by the
# LAN drop rule in `ipo-netctl status --json` (the CLI's own read of the kernel), in
# `status --counters` and, after the agent's next drift check, in
# ipo_netd_rule_packets_total{action="drop"}.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

METRICS=$IPO_LAB_RUN/ipo_netd.prom
PROMTOOL=${IPO_TOOLS:-/opt/ipo-host}/bin/promtool

# metric NAME_WITH_LABELS: the value of one sample line of the metrics file ("" if absent).
#   Label values may hold spaces: the line is matched on its text up to the value.
metric() {
  awk -v k="$1 " 'index($0, k) == 1 {print $NF}' "$METRICS" 2>/dev/null
}

# metric_above NAME VALUE: 0 when the sample is greater than VALUE.
metric_above() {
  local v
  v=$(metric "$1")
  [[ -n $v ]] && awk -v a="$v" -v b="$2" 'BEGIN {exit !(a > b)}'
}

# promtool_ok: 0 when promtool accepts the metrics file as it is now.
promtool_ok() {
  "$PROMTOOL" check metrics <"$METRICS" >"$IPO_LAB_RUN/promtool.out" 2>&1
}

LAN_DROP="LAN sources outside the allowlist (192.168.1.0/24)"

# lan_drop_packets: the LAN drop rule's packets as `ipo-netctl status --json` reads them now.
lan_drop_packets() {
  ipo_lab_netctl status --json 2>/dev/null |
    jq -r --arg r "$LAN_DROP" '[.counters[] | select(.chain == "to-containers" and .rule == $r) | .packets] | first // empty'
}

# lan_drop_metric_at_least N: 0 when the metrics file's series of the LAN drop rule is >= N.
lan_drop_metric_at_least() {
  local v
  v=$(metric "ipo_netd_rule_packets_total{family=\"inet\",table=\"ipo_netd\",chain=\"to-containers\",rule=\"$LAN_DROP\",action=\"drop\"}")
  [[ -n $v ]] && ((v >= $1))
}

# counters_line_ok FILE: 0 when `status --counters` output FILE has the LAN drop rule's line:
#   packets, bytes, action drop, then the rule's comment to the end of the line.
counters_line_ok() {
  awk -v r="$LAN_DROP" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 == "drop" &&
    substr($0, length($0) - length(r) + 1) == r {found = 1} END {exit !found}' "$1"
}

check_rule_counters() {
  local a4 before after i answer closed=0
  a4=$(ipo_lab_container_addrs | awk '$1 == "docker_a" {print $2}')
  before=$(lan_drop_packets)
  lab_test_check "status --json has the LAN drop rule's counter" test -n "$before"
  for i in 1 2 3 4 5; do
    answer=$(ipo_lab_probe ipo-lan-deny "$a4" 8080)
    [[ $answer == closed ]] && closed=$((closed + 1))
  done
  lab_test_check "lan-deny -> docker_a $a4:8080 stayed closed 5 of 5 times" test "$closed" = 5
  after=$(lan_drop_packets)
  ipo_info "LAN drop rule: $before -> $after packets after 5 attempts (SYN retransmits count too)"
  lab_test_check "status --json: the LAN drop rule counted the 5 attempts" test "$after" -ge $((before + 5))
  ipo_lab_netctl status --counters >"$IPO_LAB_RUN/counters.txt" 2>&1 || true
  lab_test_check "status --counters prints the rule with its action" \
    counters_line_ok "$IPO_LAB_RUN/counters.txt"
  lab_test_check "the metrics file has the rule's drops after the agent's next drift check" \
    ipo_wait_for 30 lan_drop_metric_at_least $((before + 5))
  sed -n '/^counters/,$p' "$IPO_LAB_RUN/counters.txt"
}

main() {
  [[ -x $PROMTOOL ]] || { echo "$PROMTOOL missing: run scripts/bootstrap observability" >&2; exit 1; }
  # Unclaimed tables (as on every kernel before 6.9, Rocky 8's included): someone else can
  # change them, and the monitor repairs at once.
  export IPO_LAB_NETD_EXTRA_ARGS="--metrics-file $METRICS --claim-tables off"
  lab_test_begin
  lab_test_check "the agent wrote $METRICS" ipo_wait_for 15 test -s "$METRICS"
  if ! lab_test_check "promtool check metrics accepts the file" promtool_ok; then
    cat "$IPO_LAB_RUN/promtool.out" >&2
  fi
  lab_test_check "the file is mode 0644" test "$(stat -c %a "$METRICS")" = 644
  lab_test_check "no temporary file left beside it" test ! -e "$METRICS.tmp"
  local status gen sets
  status=$(ipo_lab_netctl status --json)
  gen=$(jq -r '.generation' <<<"$status")
  lab_test_check "ipo_netd_policy_generation is the status' generation ($gen)" \
    ipo_wait_for 5 bash -c "[[ \$(awk '\$1 == \"ipo_netd_policy_generation\" {print \$2}' '$METRICS') == $gen ]]"
  lab_test_check "ipo_netd_healthy is 1" test "$(metric ipo_netd_healthy)" = 1
  lab_test_check "ipo_netd_drift is 0" test "$(metric ipo_netd_drift)" = 0
  lab_test_check "ipo_netd_docker_connected is 1" test "$(metric ipo_netd_docker_connected)" = 1
  sets=$(jq -r '.agent.set_elements | to_entries[] | "\(.key) \(.value)"' <<<"$status")
  local fam table set n
  while read -r fam table set n; do
    lab_test_check "ipo_netd_set_elements for $fam $table $set is $n" \
      test "$(metric "ipo_netd_set_elements{family=\"$fam\",table=\"$table\",set=\"$set\"}")" = "$n"
  done <<<"$sets"
  lab_test_check "the allowlist set holds its one range" \
    test "$(metric 'ipo_netd_set_elements{family="inet",table="ipo_netd",set="lan-allow-v4"}')" = 1

  local events0 latency0 repairs0
  events0=$(metric ipo_netd_docker_events_total)
  latency0=$(metric ipo_netd_event_to_rules_seconds_count)
  latency0=${latency0:-0}
  lab_test_mark
  ipo_lab_docker restart -t 1 docker_c >/dev/null
  lab_test_converge "docker_c restarted"
  lab_test_check "ipo_netd_docker_events_total counted the restart (was $events0)" \
    ipo_wait_for 15 metric_above ipo_netd_docker_events_total "$events0"
  lab_test_check "the latency histogram counted its batches (was $latency0)" \
    ipo_wait_for 15 metric_above ipo_netd_event_to_rules_seconds_count "$latency0"
  lab_test_check "the histogram's +Inf bucket equals its count" \
    test "$(metric 'ipo_netd_event_to_rules_seconds_bucket{le="+Inf"}')" = "$(metric ipo_netd_event_to_rules_seconds_count)"
  ipo_info "after the restart: $(metric ipo_netd_docker_events_total) events, $(metric ipo_netd_event_to_rules_seconds_count) batches, p50 bucket line: $(grep -m1 'le="0.01"' "$METRICS")"

  repairs0=$(metric 'ipo_netd_repairs_total{cause="notification"}')
  ip netns exec ipo-host nft delete element inet ipo_netd lan-allow-v4 '{ 192.168.1.1-192.168.1.30 }'
  lab_test_check "a foreign change shows as a repair by notification (was $repairs0)" \
    ipo_wait_for 15 metric_above 'ipo_netd_repairs_total{cause="notification"}' "$repairs0"
  lab_test_check "ipo_netd_drift is back to 0" ipo_wait_for 15 bash -c "[[ \$(awk '\$1 == \"ipo_netd_drift\" {print \$2}' '$METRICS') == 0 ]]"
  lab_test_check "ipo_netd_tamper_notices_total counted it" metric_above ipo_netd_tamper_notices_total 0
  if ! lab_test_check "promtool still accepts the file" promtool_ok; then
    cat "$IPO_LAB_RUN/promtool.out" >&2
  fi
  check_rule_counters
  echo "--- $METRICS (excerpt)"
  grep -E '^ipo_netd_(healthy|policy_generation|drift|repairs_total|docker_events_total|event_to_rules_seconds_(count|sum)|containers)' "$METRICS"
  lab_test_matrix "after the metrics checks"
}

main "$@"
