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
# ipo_netd_rule_packets_total{action="drop"}. And the drop log: `ipo-netctl drops` names the
# rule and the policy entry of those drops, a burst is logged within the rule's limit, and
# `drops --follow` prints a new drop as it comes.
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

LAN_LOG="log: $LAN_DROP"

# rule_packets CHAIN RULE: the packets of one rule as `ipo-netctl status --json` reads them now.
rule_packets() {
  ipo_lab_netctl status --json 2>/dev/null |
    jq -r --arg c "$1" --arg r "$2" '[.counters[] | select(.chain == $c and .rule == $r) | .packets] | first // empty'
}

# drops_json: `ipo-netctl drops --json`, the agent's drop log document.
drops_json() {
  ipo_lab_netctl drops --json 2>/dev/null
}

# drop_logged SRC DST DPORT PROTO: 0 when the drop log has a record of that packet, attributed
#   to the LAN drop rule and to its policy entry (line 4 of the policy, lan.subnets[0]).
drop_logged() {
  drops_json | jq -e --arg s "$1" --arg d "$2" --argjson p "$3" --arg pr "$4" --arg r "$LAN_DROP" \
    '[.records[] | select(.src == $s and .dst == $d and .dport == $p and .proto == $pr and .rule == $r
       and .chain == "to-containers" and (.policy | endswith(":4 lan.subnets[0]")))] | length > 0' >/dev/null
}

# The drop log (docs/observability.md): the probes above were logged by the LAN drop rule's
# twin and the agent attributes them; a burst of 300 datagrams is dropped whole but logged
# within the rule's limit (burst 20, 10/s); `drops --follow` prints a new drop as it comes.
check_drop_log() {
  local a4 doc log0 drop0 log1 drop1 logged dropped follow_out
  a4=$(ipo_lab_container_addrs | awk '$1 == "docker_a" {print $2}')
  doc=$(drops_json)
  lab_test_check "drops: the agent reads nflog group 20" test "$(jq -r '"\(.group) \(.listening)"' <<<"$doc")" = "20 true"
  lab_test_check "drops: lan-deny -> docker_a $a4:8080/tcp is logged with its rule and policy entry" \
    ipo_wait_for 5 drop_logged "$IPO_LAB_LANDENY4" "$a4" 8080 tcp
  ipo_lab_netctl drops >"$IPO_LAB_RUN/drops.txt" 2>&1 || true
  lab_test_check "drops: the text names the rule and the policy line" \
    grep -q "$IPO_LAB_LANDENY4:[0-9]* *$a4:8080 .*to-containers: $LAN_DROP  \[policy .*:4 lan.subnets\[0\]\]" \
    "$IPO_LAB_RUN/drops.txt"
  head -n 4 "$IPO_LAB_RUN/drops.txt"

  log0=$(rule_packets to-containers "$LAN_LOG")
  drop0=$(rule_packets to-containers "$LAN_DROP")
  ip netns exec ipo-lan-deny bash -c "for i in \$(seq 300); do echo x >/dev/udp/$a4/9999; done" 2>/dev/null || true
  log1=$(rule_packets to-containers "$LAN_LOG")
  drop1=$(rule_packets to-containers "$LAN_DROP")
  logged=$((log1 - log0))
  dropped=$((drop1 - drop0))
  ipo_info "burst of 300 datagrams: dropped $dropped, logged $logged"
  lab_test_check "drops: the whole burst was dropped ($dropped >= 300)" test "$dropped" -ge 300
  lab_test_check "drops: the log kept to its limit ($logged <= 20 burst + 10/s)" test "$logged" -le 40
  lab_test_check "drops: something of the burst was logged" test "$logged" -ge 1
  lab_test_check "drops: a logged datagram reached the agent" ipo_wait_for 5 drop_logged "$IPO_LAB_LANDENY4" "$a4" 9999 udp

  follow_out=$IPO_LAB_RUN/drops-follow.jsonl
  sleep 3  # the limit's bucket refills
  local seq
  seq=$(drops_json | jq -r '.next')
  ipo_lab_netctl drops --follow --json --after "$seq" >"$follow_out" 2>/dev/null &
  local follower=$!
  sleep 1
  ip netns exec ipo-lan-deny bash -c "echo x >/dev/udp/$a4/7777" 2>/dev/null || true
  lab_test_check "drops --follow prints a new drop as it comes" \
    ipo_wait_for 5 grep -q '"dport":7777' "$follow_out"
  kill "$follower" 2>/dev/null || true
  wait "$follower" 2>/dev/null || true
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
  check_drop_log
  echo "--- $METRICS (excerpt)"
  grep -E '^ipo_netd_(healthy|policy_generation|drift|repairs_total|docker_events_total|event_to_rules_seconds_(count|sum)|containers)' "$METRICS"
  lab_test_matrix "after the metrics checks"
}

main "$@"
