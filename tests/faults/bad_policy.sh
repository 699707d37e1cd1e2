#!/usr/bin/env bash
# Fault test: garbage policy on reload, in the lab with traffic. The policy file is replaced
# by (1) invalid JSON and (2) valid JSON that is semantically wrong (a container on an unknown
# network), and the agent gets SIGHUP each time. Asserts: the reload is refused; the agent's
# log names the file, the line and (for 2) the key; `ipo-netctl status` reports the problem
# (non-zero exit, file and line); the kernel ruleset stays byte-identical (nft -s); allowed
# paths keep working and the prober sees 0 forbidden successes. Then the good policy is put
# back, SIGHUP, and the matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

# refused_in_log MARK PATTERN: 0 once the log after MARK has a refusal line matching PATTERN.
refused_in_log() {
  # (no `| grep -q` at the end of a pipeline: the writer's SIGPIPE would fail it under pipefail)
  grep -E 'reload refused' < <(fault_log_since "$1") | grep -E "$2" >/dev/null
}

# bad_reload WHAT FILE_CONTENT LOG_PATTERN STATUS_PATTERN
bad_reload() {
  local what=$1 content=$2 log_pattern=$3 status_pattern=$4 before after mark out rc=0
  before=$(fault_ruleset)
  mark=$(fault_log_lines)
  printf '%s\n' "$content" >"$IPO_LAB_POLICY.new"
  mv -f "$IPO_LAB_POLICY.new" "$IPO_LAB_POLICY"
  kill -HUP "$(fault_agent_pid)"
  if ipo_wait_for 10 refused_in_log "$mark" "$log_pattern"; then
    ipo_info "ok: $what: refused; log: $(fault_log_since "$mark" | grep 'reload refused' | head -n 1)"
  else
    fault_log_since "$mark" >&2
    lab_test_fail "$what: no 'reload refused' log line matching '$log_pattern'"
  fi
  sleep 2
  lab_test_check "$what: agent still running" ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
  after=$(fault_ruleset)
  if [[ $after == "$before" ]]; then
    ipo_info "ok: $what: kernel ruleset byte-identical ($(wc -c <<<"$after") bytes, nft -s)"
  else
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
    lab_test_fail "$what: the kernel ruleset changed"
  fi
  out=$(ipo_lab_netctl status 2>&1) || rc=$?
  printf '%s\n' "$out" | head -n 5
  lab_test_check "$what: ipo-netctl status exits non-zero (got $rc)" test "$rc" -ne 0
  lab_test_check "$what: ipo-netctl status names the file and line" grep -qE "$status_pattern" <<<"$out"
  lab_test_check "$what: allowed client paths still answer" ipo_wait_for 10 ipo_lab_allowed_check ipo-wan ipo-lan-ok ipo-lan-deny
}

main() {
  fault_policy_copy
  local good
  good=$(<"$IPO_LAB_POLICY")
  fault_begin
  lab_test_matrix "initial"
  local p=$IPO_LAB_POLICY
  # (1) invalid JSON: line 4 is broken.
  bad_reload "invalid JSON" '{
  "version": 1,
  "lan": {
    "subnets": ["192.168.1.0/24" "fd00:192:168:1::/64"],
  }' "${p//./\\.}:4" "${p//./\\.}:4"
  # (2) semantically bad: docker_b on a network that does not exist (line 11, key
  # containers[1].network).
  local bad
  bad=$(jq '.containers[1].network = "nowhere"' <<<"$good")
  local line
  line=$(grep -n '"nowhere"' <<<"$bad" | cut -d: -f1)
  bad_reload "unknown network" "$bad" "${p//./\\.}:$line: containers\\[1\\]\\.network" "${p//./\\.}:$line"
  # The good policy again.
  printf '%s\n' "$good" >"$p.new"
  mv -f "$p.new" "$p"
  local mark
  mark=$(fault_log_lines)
  kill -HUP "$(fault_agent_pid)"
  lab_test_check "good policy reloaded" ipo_wait_for 10 bash -c 'tail -n +"$(($1 + 1))" "$2" | grep -q "policy reloaded"' _ "$mark" "$IPO_LAB_NETD_LOG"
  lab_test_check "status clean again" ipo_lab_wait_converged 30
  lab_test_matrix "good policy back"
  fault_end
}

main "$@"
