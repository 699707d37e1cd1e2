#!/usr/bin/env bash
# Test: conntrack follows the ruleset. A WAN client holds one TCP connection to the host's
# published port 8080 (the agent's DNAT to docker_a), sending a line every 50 ms
# (tests/tools/ipo-hold), while the lab's forbidden-path prober runs throughout. Two stages:
#   revoke  the policy is reloaded with docker_a's 8080 published to the LAN allowlist only:
#           the WAN's held connection must end within 1 s of the reload, and no line sent
#           after that second may reach docker_a ("forbidden"). Docker knows nothing of the
#           agent's DNAT, so only the agent can end this flow.
#   reuse   docker_a is removed without a goodbye (its FIN/RST are dropped in its own
#           namespace) and, at once, another container ("intruder", not named by the policy,
#           serving 8080) is given its address: the held connection must end no later than
#           1 s after the address is taken, and no packet of it may reach the intruder (an
#           nft counter in the intruder's namespace, in place before it gets the address).
#           dockerd's bridge driver clears the endpoint's conntrack entries itself
#           (RevokeExternalConnectivity); the agent's flush covers the same ground.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
HOLD_PID=
HOLD_LOG=
HOLD_BIN=
POLICY_DIR=
lab_test_policy_copy conntrack

# conntrack_finish: EXIT trap: stop the holding client (by pid), then the prober and the lab.
conntrack_finish() {
  local rc=$?
  set +e
  [[ -n $HOLD_PID ]] && kill "$HOLD_PID" 2>/dev/null
  [[ -n $HOLD_LOG ]] && rm -f "$HOLD_LOG"
  rm -rf "$POLICY_DIR"
  (exit "$rc")
  lab_test_finish_prober
}

# now: the wall-clock time in seconds, 6 decimals (ipo-hold prints the same clock).
now() { date +%s.%6N; }

# hold_event WORD: the first line of the holding client's log whose 2nd field is WORD.
#   Returns 1 when there is none yet.
hold_event() { awk -v w="$1" '$2 == w {print; found = 1; exit} END {exit !found}' "$HOLD_LOG"; }

# removed_some: 0 if the agent's status counts removed conntrack flows.
removed_some() { (($(ipo_lab_netctl status --json | jq '.agent.conntrack.removed // 0') > 0)); }

# got_lines: lines of the held connection docker_a's listener has received.
got_lines() { ipo_lab_docker exec docker_a sh -c 'grep -c ipo-hold /tmp/got' 2>/dev/null || true; }

# got_some: 0 once docker_a's listener has received data over the held connection.
got_some() { (($(got_lines) > 0)); }

# hold_start: a new held connection from ipo-wan to host:8080 (docker_a's /tmp/got emptied
#   first); sets CLIENT and CPORT; checks that its lines reach docker_a.
hold_start() {
  if [[ -n $HOLD_PID ]]; then kill "$HOLD_PID" 2>/dev/null || true; fi
  ipo_lab_docker exec docker_a sh -c ': >/tmp/got'
  HOLD_LOG=${HOLD_LOG:-$(mktemp /tmp/ipo-conntrack-hold.XXXXXX)}
  : >"$HOLD_LOG"
  "$HOLD_BIN" /run/netns/ipo-wan "$IPO_LAB_HOST_WAN4" 8080 50 60 >"$HOLD_LOG" 2>&1 &
  HOLD_PID=$!
  ipo_wait_for 5 hold_event connected || ipo_die "the WAN client could not connect to host:8080: $(cat "$HOLD_LOG")"
  read -r _ _ CLIENT CPORT <<<"$(hold_event connected)"
  lab_test_check "the held connection reaches docker_a" ipo_wait_for 5 got_some
  sleep 1
  ipo_info "WAN $CLIENT:$CPORT holds a connection to host:8080 -> docker_a ($(got_lines) lines so far)"
}

# hold_verdict STAGE T_CHANGE T_LIMIT_FROM: print the held connection's events and how long
#   after T_CHANGE it ended; check it ended no later than 1 s after T_LIMIT_FROM.
hold_verdict() {
  local stage=$1 t_change=$2 t_from=$3 ended t_end reason
  ipo_wait_for 10 hold_event ended || true
  echo "=== $stage: the held connection (client $CLIENT:$CPORT):"
  grep -v ' sent ' "$HOLD_LOG" || true
  ended=$(hold_event ended) || true
  if [[ -z $ended ]]; then
    lab_test_fail "$stage: the old connection was still alive 10 s later"
    return 0
  fi
  read -r t_end _ reason _ <<<"$ended"
  echo "$stage: connection ended ($reason) $(awk -v a="$t_end" -v b="$t_change" 'BEGIN {printf "%.3f", a - b}') s" \
    "after the change, $(awk -v a="$t_end" -v b="$t_from" 'BEGIN {printf "%.3f", a - b}') s after the deadline's start"
  lab_test_check "$stage: the old connection ended within 1 s" \
    awk -v a="$t_end" -v b="$t_from" 'BEGIN {exit !(a - b <= 1.0)}'
}

main() {
  lab_test_begin
  trap conntrack_finish EXIT
  HOLD_BIN=$(ipo_lab_agent_bin ipo-hold) || ipo_die "ipo-hold is not built (cmake --build build --target ipo-hold)"

  # docker_a keeps every connection to 8080 open and appends what it gets to /tmp/got (nc;
  # busybox httpd would close the connection).
  lab_test_mark
  ipo_lab_docker rm -f docker_a >/dev/null
  ipo_lab_docker run -d --name docker_a --network ipo-shared "$IPO_DOCKER_IMAGE" sh -c \
    "trap 'exit 0' TERM INT; nc -ll -p 8080 -e sh -c 'cat >>/tmp/got' & wait" >/dev/null
  lab_test_converge "docker_a serves 8080 with nc"
  local a4
  a4=$(ipo_lab_docker inspect -f '{{with index .NetworkSettings.Networks "ipo-shared"}}{{.IPAddress}}{{end}}' docker_a)
  [[ -n $a4 ]] || ipo_die "docker_a has no address on ipo-shared"
  ipo_info "docker_a on ipo-shared: $a4"
  lab_test_prober_begin conntrack

  echo "=== stage revoke: docker_a's 8080 goes from everyone to the LAN allowlist"
  hold_start
  local t_reload
  jq '.containers |= map(if .name == "docker_a" then .publish[0].from = "lan" else . end)' \
    "$IPO_SRC/rules/policy.json" >"$IPO_LAB_POLICY"
  t_reload=$(now)
  kill -HUP "$(cat "$IPO_LAB_NETD_PID")"
  hold_verdict revoke "$t_reload" "$t_reload"
  sleep 1
  local last_ok forbidden attempts
  last_ok=$(awk -v t="$t_reload" '$2 == "sent" && $1 <= t + 1.0 {s = $3} END {print s + 0}' "$HOLD_LOG")
  attempts=$(awk -v t="$t_reload" '$2 == "sent" && $1 > t' "$HOLD_LOG" | wc -l)
  forbidden=$(ipo_lab_docker exec docker_a cat /tmp/got | awk -v s="$last_ok" '$2 > s' | wc -l)
  echo "revoke: forbidden $forbidden / $attempts (lines sent more than 1 s after the reload that reached docker_a /" \
    "lines sent after the reload)"
  lab_test_check "revoke: no line sent more than 1 s after the reload reached docker_a (got $forbidden)" \
    test "$forbidden" -eq 0
  echo "=== agent status conntrack:"
  ipo_lab_netctl status --json | jq -c .agent.conntrack || true
  lab_test_check "revoke: the agent counted removed flows" removed_some

  echo "=== stage reuse: docker_a's address is given to an intruder"
  cp "$IPO_SRC/rules/policy.json" "$IPO_LAB_POLICY"
  kill -HUP "$(cat "$IPO_LAB_NETD_PID")"
  # The intruder starts on Docker's default network; its packet counter is in place before it
  # is given docker_a's address.
  ipo_lab_container_run intruder 8080 intruder
  local ipid
  ipid=$(ipo_lab_docker inspect -f '{{.State.Pid}}' intruder)
  ipo_wait_for 10 bash -c "ip netns exec ipo-host nft list map ip ipo_netd_nat publish-any | grep -q '8080 : $a4'" ||
    lab_test_fail "reuse: 8080 was not published to everyone again after the reload"
  hold_start
  nsenter --net="/proc/$ipid/ns/net" -- nft -f - <<NFT
table inet ipoct {
  chain pre {
    type filter hook prerouting priority -400
    ip saddr $CLIENT tcp sport $CPORT counter comment "packets of the old flow"
  }
}
NFT
  # docker_a dies without a goodbye (a hung or crashed container, a host-side kill): its FIN
  # and RST never leave, so the flow's conntrack entry is all that is left of it.
  local apid
  apid=$(ipo_lab_docker inspect -f '{{.State.Pid}}' docker_a)
  nsenter --net="/proc/$apid/ns/net" -- nft -f - <<NFT
table inet ipoct {
  chain out {
    type filter hook output priority 0
    tcp sport 8080 tcp flags & (fin | rst) != 0 drop
  }
}
NFT
  lab_test_mark
  local t_rm t_taken
  t_rm=$(now)
  ipo_lab_docker rm -f docker_a >/dev/null
  ipo_lab_docker network connect --ip "$a4" ipo-shared intruder
  t_taken=$(now)
  ipo_info "docker_a removed at $t_rm; intruder took $a4 at $t_taken"
  hold_verdict reuse "$t_rm" "$t_taken"
  sleep 2  # room for late packets of the old flow to show up at the intruder
  forbidden=$(nsenter --net="/proc/$ipid/ns/net" -- nft list chain inet ipoct pre |
    awk '/counter packets/ {for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1)}')
  attempts=$(awk -v t="$t_rm" '$2 == "sent" && $1 > t' "$HOLD_LOG" | wc -l)
  echo "reuse: forbidden $forbidden / $attempts (packets of the old flow that reached the intruder / lines sent" \
    "after docker_a's removal)"
  lab_test_check "reuse: no packet of the old flow reached the intruder (got $forbidden)" test "${forbidden:-x}" = 0
  echo "=== agent status conntrack:"
  ipo_lab_netctl status --json | jq -c .agent.conntrack || true
  lab_test_converge "docker_a removed, intruder on its address"
  lab_test_prober_verdict "during both stages" 20
  ipo_lab_docker rm -f intruder >/dev/null
}

main "$@"
