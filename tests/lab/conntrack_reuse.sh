#!/usr/bin/env bash
# Test: conntrack follows the ruleset. A WAN client holds one TCP connection to the host's
# published port 8080 (the agent's DNAT to docker_a), sending a line every 50 ms. docker_a is
# removed and, at once, another container ("intruder", not named by the policy, serving 8080)
# is given docker_a's address. docker_a dies without a goodbye (its FIN/RST are dropped in its
# own namespace), so the flow's conntrack entry is all that is left of it. The old connection
# must end (reset) no later than 1 s after the address is taken, and no packet of it may
# reach the intruder: an nft counter inside the intruder's namespace, in place before it gets
# the address, counts them ("forbidden").
# The lab's forbidden-path prober runs throughout.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
HOLD_PID=
HOLD_LOG=

# conntrack_finish: EXIT trap: stop the holding client (by pid), then the prober and the lab.
conntrack_finish() {
  local rc=$?
  set +e
  [[ -n $HOLD_PID ]] && kill "$HOLD_PID" 2>/dev/null
  [[ -n $HOLD_LOG ]] && rm -f "$HOLD_LOG"
  (exit "$rc")
  lab_test_finish_prober
}

# now: the wall-clock time in seconds, 6 decimals (ipo-hold prints the same clock).
now() { date +%s.%6N; }

# hold_event WORD: the first line of the holding client's log whose 2nd field is WORD.
hold_event() { awk -v w="$1" '$2 == w {print; exit}' "$HOLD_LOG"; }

# got_lines: lines of the held connection docker_a's listener has received.
got_lines() { ipo_lab_docker exec docker_a sh -c 'grep -c ipo-hold /tmp/got' 2>/dev/null || true; }

# removed_some: 0 if the agent's status counts removed conntrack flows.
removed_some() { (($(ipo_lab_netctl status --json | jq '.agent.conntrack.removed // 0') > 0)); }

# got_some: 0 once docker_a's listener has received data over the held connection.
got_some() { (($(got_lines) > 0)); }

main() {
  lab_test_begin
  trap conntrack_finish EXIT
  local hold
  hold=$(ipo_lab_agent_bin ipo-hold) || ipo_die "ipo-hold is not built (cmake --build build --target ipo-hold)"

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

  # The intruder starts on Docker's default network; its packet counter is in place before it
  # is given docker_a's address.
  ipo_lab_container_run intruder 8080 intruder
  local ipid
  ipid=$(ipo_lab_docker inspect -f '{{.State.Pid}}' intruder)

  lab_test_prober_begin conntrack
  HOLD_LOG=$(mktemp /tmp/ipo-conntrack-hold.XXXXXX)
  "$hold" /run/netns/ipo-wan "$IPO_LAB_HOST_WAN4" 8080 50 60 >"$HOLD_LOG" 2>&1 &
  HOLD_PID=$!
  ipo_wait_for 5 hold_event connected || ipo_die "the WAN client could not connect to host:8080: $(cat "$HOLD_LOG")"
  local client cport
  read -r _ _ client cport <<<"$(hold_event connected)"
  lab_test_check "the held connection reaches docker_a" ipo_wait_for 5 got_some
  nsenter --net="/proc/$ipid/ns/net" -- nft -f - <<NFT
table inet ipoct {
  chain pre {
    type filter hook prerouting priority -400
    ip saddr $client tcp sport $cport counter comment "packets of the old flow"
  }
}
NFT
  sleep 1
  ipo_info "WAN $client:$cport holds a connection to host:8080 -> docker_a $a4:8080 ($(got_lines) lines so far)"
  # docker_a dies without a goodbye (a hung or crashed container, a host-side kill): its FIN
  # and RST never leave, so only the agent can end the flow. With the goodbye the client
  # would learn of the close, yet a client that keeps sending still reaches the next holder.
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
  ipo_wait_for 10 hold_event ended || true
  sleep 2  # room for late packets of the old flow to show up at the intruder
  local ended forbidden attempts t_end reason
  ended=$(hold_event ended)
  forbidden=$(nsenter --net="/proc/$ipid/ns/net" -- nft list chain inet ipoct pre |
    awk '/counter packets/ {for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1)}')
  attempts=$(awk -v t="$t_rm" '$2 == "sent" && $1 > t' "$HOLD_LOG" | wc -l)
  echo "=== the held connection (client $client:$cport):"
  grep -v ' sent ' "$HOLD_LOG" || true
  echo "forbidden $forbidden / $attempts (packets of the old flow that reached the intruder / sends after docker_a's removal)"
  if [[ -n $ended ]]; then
    read -r t_end _ reason _ <<<"$ended"
    echo "connection ended ($reason) $(awk -v a="$t_end" -v b="$t_rm" 'BEGIN {printf "%.3f", a - b}') s after docker_a's removal," \
      "$(awk -v a="$t_end" -v b="$t_taken" 'BEGIN {printf "%.3f", a - b}') s after the intruder took its address"
    lab_test_check "the old connection ended within 1 s of the address being taken" \
      awk -v a="$t_end" -v b="$t_taken" 'BEGIN {exit !(a - b <= 1.0)}'
  else
    lab_test_fail "the old connection was still alive 10 s after the intruder took docker_a's address"
  fi
  lab_test_check "no packet of the old flow reached the intruder (got $forbidden)" test "${forbidden:-x}" = 0
  echo "=== agent status conntrack:"
  ipo_lab_netctl status --json | jq -c .agent.conntrack
  lab_test_check "the agent counted removed flows" removed_some
  lab_test_converge "docker_a removed, intruder on its address"
  lab_test_prober_verdict "while docker_a's address changed hands" 20
  ipo_lab_docker rm -f intruder >/dev/null
}

main "$@"
