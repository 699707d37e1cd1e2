#!/usr/bin/env bash
# Fault test: the agent's state directory is full, then read-only. The lab's state directory
# is put on a tiny tmpfs (16 KiB) holding the agent's state; the agent restarts on it.
#  1. full: a filler takes every free byte; docker_c is stopped (a ruleset change): the new
#     ruleset is in force anyway (docker_c unpublished: WAN -> host:80 closed), the agent logs
#     the failed save, the old state file is intact (parses, old generation). Space returns:
#     the state catches up (generation of the kernel's ruleset) without another event within
#     30 s (drift interval 10 s), else after one.
#  2. read-only (remount ro): docker_c started again: rules in force (host:80 answers), save
#     failure logged, old state intact; remount rw: the state catches up.
# Throughout: 0 forbidden successes.
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

# agent_generation: the generation the agent reports.
agent_generation() {
  { ipo_lab_netctl status --json 2>/dev/null || true; } | jq -r '.generation // empty'
}

# state_caught_up: 0 if the state file parses and records the agent's current generation.
state_caught_up() {
  fault_state_parses || return 1
  [[ $(fault_state_generation) == "$(agent_generation)" ]]
}

# wan_80_is WANT: 0 if WAN -> host:80 answers WANT (IPv4).
wan_80_is() {
  [[ $(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN4" 80) == "$1" ]]
}

# save_failed_since MARK: 0 if the log after MARK reports a failed state save.
save_failed_since() {
  # (grep reads a process substitution: `tail | grep -q` can fail on SIGPIPE under pipefail)
  grep -qiE 'sav(e|ing) state.*(No space|Read-only|failed|error)|state.*(No space left|Read-only file system)' < <(fault_log_since "$1")
}

# broken_save STAGE CHANGE_CMD EXPECT_80: with saving broken, run CHANGE_CMD (a docker
#   change), check rules follow (WAN host:80 == EXPECT_80), the failure is logged, the old
#   state is intact.
broken_save() {
  local stage=$1 change=$2 expect=$3 mark gen_before sum_before
  gen_before=$(fault_state_generation)
  sum_before=$(sha256sum <"$IPO_LAB_NETD_STATE/state.json")
  mark=$(fault_log_lines)
  lab_test_mark
  # shellcheck disable=SC2086  # CHANGE is a docker argument list
  ipo_lab_docker $change >/dev/null
  lab_test_check "$stage: the new ruleset is in force (WAN host:80 -> $expect)" ipo_wait_for 20 wan_80_is "$expect"
  lab_test_check "$stage: agent logs the failed state save" ipo_wait_for 10 save_failed_since "$mark"
  fault_log_since "$mark" | grep -iE 'state' | head -n 3
  lab_test_check "$stage: agent still running" ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
  lab_test_check "$stage: old state file parses" fault_state_parses
  lab_test_check "$stage: old state file unchanged (generation $gen_before)" \
    test "$(sha256sum <"$IPO_LAB_NETD_STATE/state.json")" == "$sum_before"
  lab_test_check "$stage: no temporary file left" bash -c '! ls "$0"/*.tmp 2>/dev/null | grep -q .' "$IPO_LAB_NETD_STATE"
  local status
  status=$(ipo_lab_netctl status --json 2>/dev/null || true)
  ipo_info "$stage: status health=$(jq -r .health <<<"$status") reason=$(jq -r '.health_reason // ""' <<<"$status") generation=$(jq -r .generation <<<"$status")"
  if grep -qiE 'No space|Read-only|sav' <<<"$(jq -c '{health, health_reason}' <<<"$status")"; then
    ipo_info "ok: $stage: status reports the save failure"
  else
    lab_test_fail "$stage: ipo-netctl status does not report the failed state save (health/health_reason)"
  fi
}

# recovered STAGE: once saving works again the state catches up; first without an event
#   (30 s), else the test records that and forces one (docker restart docker_a).
recovered() {
  local stage=$1
  if ipo_wait_for 30 state_caught_up; then
    ipo_info "ok: $stage: state caught up without a new event (generation $(fault_state_generation))"
  else
    lab_test_fail "$stage: state file still at generation $(fault_state_generation) 30 s after saving works again (agent at $(agent_generation)): the agent does not retry the save"
    lab_test_mark
    ipo_lab_docker restart -t 1 docker_a >/dev/null
    lab_test_converge "$stage: docker restart docker_a to force a save" 30
    lab_test_check "$stage: state caught up after an event" ipo_wait_for 10 state_caught_up
  fi
}

main() {
  fault_begin
  # Move the state onto a tiny tmpfs and restart the agent on it.
  ipo_lab_agent_stop
  local saved
  saved=$(mktemp)
  cp "$IPO_LAB_NETD_STATE/state.json" "$saved"
  mount -t tmpfs -o size=16k,mode=0700 ipo-lab-state "$IPO_LAB_NETD_STATE"
  cp "$saved" "$IPO_LAB_NETD_STATE/state.json"
  rm -f "$saved"
  ipo_lab_agent_start
  lab_test_check "agent converged on the tmpfs state dir" ipo_lab_wait_converged 60
  df -h "$IPO_LAB_NETD_STATE" | tail -n 1

  # 1. full
  dd if=/dev/zero of="$IPO_LAB_NETD_STATE/filler" bs=1k count=64 2>/dev/null || true
  ipo_info "state dir full: $(df --output=avail -B1 "$IPO_LAB_NETD_STATE" | tail -n 1 | tr -d ' ') bytes free"
  broken_save "full" "stop -t 1 docker_c" closed
  rm -f "$IPO_LAB_NETD_STATE/filler"
  recovered "full"

  # 2. read-only
  mount -o remount,ro "$IPO_LAB_NETD_STATE"
  broken_save "read-only" "start docker_c" docker_c
  mount -o remount,rw "$IPO_LAB_NETD_STATE"
  recovered "read-only"

  lab_test_check "converged at the end" ipo_lab_wait_converged 30
  lab_test_matrix "state dir writable again"
  fault_end
  ipo_lab_agent_stop
  umount "$IPO_LAB_NETD_STATE" || umount -l "$IPO_LAB_NETD_STATE"
}

main "$@"
