#!/usr/bin/env bash
# Test: the agent survives a dockerd restart. With dockerd stopped the agent reports
# "degraded" and keeps its ruleset; when dockerd and the containers come back it reconnects,
# resyncs, and the matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

# agent_degraded: 0 if the agent reports health "degraded".
agent_degraded() {
  [[ $(ipo_lab_netctl status --json 2>/dev/null | jq -r .health) == degraded ]]
}

# agent_has_tables: 0 if ipo-host has nftables tables (the agent's).
agent_has_tables() {
  [[ -n $(ip netns exec ipo-host nft list tables) ]]
}

main() {
  lab_test_begin
  lab_test_matrix "initial"
  local t0=$SECONDS
  ipo_lab_dockerd_stop
  ipo_info "dockerd stopped in $((SECONDS - t0)) s"
  lab_test_check "agent reports degraded while dockerd is down" \
    ipo_wait_for 20 agent_degraded
  lab_test_check "agent still running" ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
  lab_test_check "agent's tables still in ipo-host" agent_has_tables
  t0=$SECONDS
  lab_test_mark
  ipo_lab_dockerd_start
  ipo_lab_containers_ensure_running
  ipo_info "dockerd and containers back in $((SECONDS - t0)) s"
  lab_test_converge "dockerd restart" 90
  lab_test_matrix "after dockerd restart"
}

main "$@"
