# shellcheck shell=bash
# Harness shared by the fault tests: the lab harness (tests/lab/lab_test_lib.sh) plus a
# prober that hammers every FORBIDDEN path of the matrix (clients and containers, IPv4 and
# IPv6) for the whole test, and an ALLOWED prober that shows the traffic the fault must not
# break. fault_begin brings the lab up, self-tests the prober (a success registers) and
# starts both; fault_end stops them, prints the counts and asserts 0 forbidden successes.
# Not thread safe; the fault tests share the lab (CTest RESOURCE_LOCK lab).
# REQUIRES: root; IPO_SRC; IPO_BUILD (CTest sets both).

# shellcheck source=tests/lab/lab_test_lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lab" && pwd)/lab_test_lib.sh"

FAULT_FORBIDDEN=
FAULT_ALLOWED=
FAULT_TMP=

# fault_finish: EXIT trap: stop the prober loops, then the lab harness's finish.
fault_finish() {
  local rc=$?
  [[ -n $FAULT_FORBIDDEN ]] && ipo_lab_prober_kill "$FAULT_FORBIDDEN"
  [[ -n $FAULT_ALLOWED ]] && ipo_lab_prober_kill "$FAULT_ALLOWED"
  # lab_test_finish exits: run it in a subshell so the scratch directory (which holds the
  # policy copy its evidence needs) is removed afterwards.
  set +e
  (
    (exit "$rc")
    lab_test_finish
  )
  rc=$?
  [[ -n $FAULT_TMP ]] && rm -rf "$FAULT_TMP"
  exit "$rc"
}

# fault_policy_copy: point IPO_LAB_POLICY (exported, so scripts/lab sees it) at a private copy
#   of rules/policy.json that the test may rewrite; prints nothing.
fault_policy_copy() {
  FAULT_TMP=${FAULT_TMP:-$(mktemp -d /tmp/ipo-fault.XXXXXX)}
  cp "$IPO_SRC/rules/policy.json" "$FAULT_TMP/policy.json"
  export IPO_LAB_POLICY=$FAULT_TMP/policy.json
}

# fault_begin [--no-prober-containers]: lab up (with agent), prober self-test, start the
#   forbidden prober (sources: clients and containers) and the allowed prober (clients).
fault_begin() {
  local sources=(ipo-wan ipo-lan-deny docker_a docker_b docker_c)
  [[ ${1:-} == --no-prober-containers ]] && sources=(ipo-wan ipo-lan-deny)
  FAULT_TMP=${FAULT_TMP:-$(mktemp -d /tmp/ipo-fault.XXXXXX)}
  lab_test_begin
  trap fault_finish EXIT
  lab_test_check "prober counts a success on an allowed path" ipo_lab_prober_selftest
  FAULT_FORBIDDEN=$FAULT_TMP/forbidden
  FAULT_ALLOWED=$FAULT_TMP/allowed
  local n m
  n=$(ipo_lab_prober_start "$FAULT_FORBIDDEN" forbidden "${sources[@]}")
  m=$(ipo_lab_prober_start "$FAULT_ALLOWED" allowed ipo-wan ipo-lan-ok ipo-lan-deny)
  ipo_info "prober: $n forbidden paths (${sources[*]}), $m allowed paths (clients)"
}

# fault_end: stop the probers, print their counts, assert 0 forbidden successes (from
#   FAULT_SINCE_MS, epoch ms, when the test set it), that the prober made attempts, and that
#   allowed paths succeeded.
fault_end() {
  echo "=== forbidden paths during the test (attempts, successes):"
  ipo_lab_prober_stop "$FAULT_FORBIDDEN"
  echo "=== allowed paths during the test (attempts, successes):"
  ipo_lab_prober_stop "$FAULT_ALLOWED"
  local ok attempts allowed_ok
  ok=$(ipo_lab_prober_successes "$FAULT_FORBIDDEN")
  if [[ -n ${FAULT_SINCE_MS:-} ]]; then
    # What happens before FAULT_SINCE_MS is set-up or a known gap the test reports itself: count from there.
    ipo_info "forbidden successes before the counted part (set-up, or a known gap the test reported): $((ok - $(ipo_lab_prober_since "$FAULT_FORBIDDEN" "$FAULT_SINCE_MS")))"
    ok=$(ipo_lab_prober_since "$FAULT_FORBIDDEN" "$FAULT_SINCE_MS")
  fi
  attempts=$(ipo_lab_prober_attempts "$FAULT_FORBIDDEN")
  allowed_ok=$(ipo_lab_prober_successes "$FAULT_ALLOWED")
  if ((ok > 0)); then
    echo "--- successful forbidden connections (first 40):"
    head -n 40 "$FAULT_FORBIDDEN/successes.log"
  fi
  lab_test_check "0 of $attempts forbidden connection attempts succeeded (got $ok)" test "$ok" -eq 0
  lab_test_check "the forbidden prober made attempts ($attempts)" test "$attempts" -gt 100
  lab_test_check "allowed paths carried traffic during the test ($allowed_ok successes)" test "$allowed_ok" -gt 0
  FAULT_FORBIDDEN=
  FAULT_ALLOWED=
}

# fault_ruleset: the server's ruleset without counters (nft -s), for exact comparisons.
fault_ruleset() {
  ip netns exec ipo-host nft -s list ruleset
}

# fault_agent_pid: the pid of the running ipo-netd.
fault_agent_pid() {
  cat "$IPO_LAB_NETD_PID"
}

# fault_state_parses [FILE]: 0 if the state file has the version line and valid JSON after it.
fault_state_parses() {
  local file=${1:-$IPO_LAB_NETD_STATE/state.json}
  [[ -f $file ]] || return 1
  [[ $(head -n 1 "$file") == "ipo-netd-state "* ]] || return 1
  tail -n +2 "$file" | jq -e '.generation | numbers' >/dev/null
}

# fault_state_generation [FILE]: the generation recorded in the state file.
fault_state_generation() {
  local file=${1:-$IPO_LAB_NETD_STATE/state.json}
  tail -n +2 "$file" | jq -r '.generation'
}

# fault_log_since MARK_LINES: the agent log after its first MARK_LINES lines.
fault_log_since() {
  tail -n +"$(($1 + 1))" "$IPO_LAB_NETD_LOG"
}

# fault_log_lines: the number of lines in the agent log now (a mark for fault_log_since).
fault_log_lines() {
  wc -l <"$IPO_LAB_NETD_LOG"
}
