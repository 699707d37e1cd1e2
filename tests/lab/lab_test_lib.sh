# shellcheck shell=bash
# Harness shared by the lab tests: brings the lab up (scripts/lab up) with a trap that brings
# it down, records failures per stage, checks that `down` left nothing behind and that the
# root namespace's ruleset is unchanged, and prints evidence (the server's ruleset, the
# agent's status and log) when a stage fails.
# Not thread safe; CTest runs the lab tests one at a time (RESOURCE_LOCK lab).
# REQUIRES: root; IPO_SRC (repo root; derived from this file if unset); IPO_BUILD optional.

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export IPO_SRC
# shellcheck disable=SC2034  # read by ipo_log (scripts/lib/ipo_common.sh)
IPO_PROG=${IPO_PROG:-$(basename "$0" .sh)}
# shellcheck source=scripts/lib/ipo_common.sh
source "$IPO_SRC/scripts/lib/ipo_common.sh"
# shellcheck source=scripts/lib/ipo_dockerd.sh
source "$IPO_SRC/scripts/lib/ipo_dockerd.sh"
# shellcheck source=scripts/lib/ipo_lab.sh
source "$IPO_SRC/scripts/lib/ipo_lab.sh"

IPO_LAB_CMD=$IPO_SRC/scripts/lab
# CTest builds the agent before the tests run; a standalone run builds it only if missing.
export IPO_LAB_BUILD=${IPO_LAB_BUILD:-0}
# scripts/test bootstraps before CTest; tests never call apt themselves.
export IPO_LAB_BOOTSTRAP=${IPO_LAB_BOOTSTRAP:-0}
LAB_TEST_FAILED=()
LAB_TEST_ROOT_BEFORE=
LAB_TEST_T0=$SECONDS

# lab_test_policy_copy NAME: a private copy of rules/policy.json for a test that rewrites the
#   lab's policy: sets POLICY_DIR (the test removes it in its EXIT trap) and exports
#   IPO_LAB_POLICY, which the lab reads. Call it at the top level of the test.
lab_test_policy_copy() {
  POLICY_DIR=$(mktemp -d "/tmp/ipo-$1-policy.XXXXXX")
  export IPO_LAB_POLICY=$POLICY_DIR/policy.json
  cp "$IPO_SRC/rules/policy.json" "$IPO_LAB_POLICY"
}

# lab_test_fail WHAT: record a failed check (the test goes on, and fails at the end).
lab_test_fail() {
  ipo_warn "FAIL: $*"
  LAB_TEST_FAILED+=("$*")
}

# lab_test_check WHAT CMD...: run CMD; record WHAT as failed if it does not succeed.
lab_test_check() {
  local what=$1
  shift
  if "$@"; then
    ipo_info "ok: $what"
  else
    lab_test_fail "$what"
  fi
}

# lab_test_leftovers: print everything of the lab that still exists (nothing when clean).
lab_test_leftovers() {
  local ns
  for ns in "${IPO_LAB_NAMESPACES[@]}"; do
    ipo_lab_ns_exists "$ns" && echo "namespace $ns"
  done
  [[ -e $IPO_LAB_RUN ]] && echo "directory $IPO_LAB_RUN"
  [[ -e $IPO_LAB_VAR ]] && echo "directory $IPO_LAB_VAR"
  awk -v a="$IPO_LAB_RUN/" -v b="$IPO_LAB_VAR/" 'index($2, a) == 1 || index($2, b) == 1 {print "mount " $2}' /proc/mounts
  ip -o link show | awk -F': ' '$2 ~ /^(wan0|lan0|lan-ok|lan-deny)(@|$)/ {print "root-namespace link " $2}'
  ipo_dockerd_shim_pids "$IPO_LAB_DOCKER_DIR" | sed 's/^/containerd shim pid /'
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == *"$IPO_LAB_RUN"* || $cmd == *"$IPO_LAB_VAR"* ]] || continue
    [[ $cmd == *lab_test_leftovers* ]] && continue
    f=${f#/proc/}
    [[ ${f%/cmdline} == "$$" || ${f%/cmdline} == "$BASHPID" ]] && continue
    echo "process ${f%/cmdline}: $cmd"
  done
  ls -d /sys/fs/cgroup/*/ipo-lab /sys/fs/cgroup/ipo-lab 2>/dev/null | sed 's/^/cgroup /'
  return 0
}

# lab_test_down_and_verify: scripts/lab down, then check nothing is left and the root
#   namespace's ruleset equals the one recorded at the start.
lab_test_down_and_verify() {
  "$IPO_LAB_CMD" down || lab_test_fail "scripts/lab down exited non-zero"
  local left
  left=$(lab_test_leftovers)
  if [[ -n $left ]]; then
    printf '%s\n' "$left" >&2
    lab_test_fail "scripts/lab down left things behind"
  fi
  if [[ -n $LAB_TEST_ROOT_BEFORE ]]; then
    if [[ $(ipo_lab_root_ruleset) != "$LAB_TEST_ROOT_BEFORE" ]]; then
      diff <(printf '%s\n' "$LAB_TEST_ROOT_BEFORE") <(ipo_lab_root_ruleset) >&2 || true
      lab_test_fail "the root namespace's nftables ruleset changed"
    else
      ipo_info "ok: root namespace ruleset unchanged"
    fi
  fi
}

# lab_test_finish_prober: EXIT trap for tests that run a prober in $PROBE_DIR: stop its
#   loops, then lab_test_finish (with the script's exit status).
lab_test_finish_prober() {
  local rc=$?
  [[ -n ${PROBE_DIR:-} ]] && ipo_lab_prober_kill "$PROBE_DIR"
  set +e
  (exit "$rc")
  lab_test_finish
}

# lab_test_finish: EXIT trap: on failure print evidence, bring the lab down, verify, report.
lab_test_finish() {
  local rc=$?
  trap - EXIT
  set +e
  if ((rc != 0 || ${#LAB_TEST_FAILED[@]})) && ipo_lab_is_up && [[ ! -f $IPO_LAB_RUN/no-agent ]]; then
    ipo_lab_evidence >&2
  fi
  ((rc == 0)) || lab_test_fail "test script stopped early (exit $rc)"
  lab_test_down_and_verify
  ipo_info "took $((SECONDS - LAB_TEST_T0)) s"
  if ((${#LAB_TEST_FAILED[@]})); then
    printf 'FAILED: %s\n' "${LAB_TEST_FAILED[@]}" >&2
    exit 1
  fi
  echo "PASSED"
  exit 0
}

# lab_test_begin [--no-agent]: root check, record the root ruleset, clear leftovers of an
#   earlier crashed run, install the EXIT trap, and bring the lab up (timed).
lab_test_begin() {
  [[ $(id -u) -eq 0 ]] || { echo "lab tests need root" >&2; exit 77; }
  LAB_TEST_ROOT_BEFORE=$(ipo_lab_root_ruleset)
  "$IPO_LAB_CMD" down >/dev/null 2>&1 || true
  trap lab_test_finish EXIT
  trap 'lab_test_fail "interrupted by a signal"; exit 1' INT TERM
  local t0=$SECONDS
  "$IPO_LAB_CMD" up "$@"
  ipo_info "lab up took $((SECONDS - t0)) s"
  [[ ${1:-} == --no-agent ]] || lab_test_busy "${IPO_LAB_BUSY:-0}"
}

# lab_docker_cli ARGS...: the docker CLI on the lab's dockerd (exported, so xargs can call it).
lab_docker_cli() {
  DOCKER_CONFIG="$IPO_LAB_DOCKER_DIR/cli" /usr/bin/docker -H "unix://$IPO_LAB_DOCKER_DIR/docker.sock" "$@"
}

# lab_test_busy_one N: start busy-N, a plain `sleep` container no policy names.
lab_test_busy_one() {
  lab_docker_cli run -d --name "busy-$1" "$IPO_DOCKER_IMAGE" sleep 999999 >/dev/null
}

# lab_test_agent_counter NAME: one of the agent's counters (.agent.NAME of ipo-netctl status --json;
#   0 when the agent does not answer).
lab_test_agent_counter() {
  { ipo_lab_netctl status --json 2>/dev/null || true; } | jq -r --arg k "$1" '.agent[$k] // 0'
}

# lab_test_busy_running: how many busy-N containers the agent's status shows running.
lab_test_busy_running() {
  { ipo_lab_netctl status --json 2>/dev/null || true; } |
    jq '[.containers[] | select((.name | startswith("busy-")) and .running)] | length'
}

# lab_test_busy_running_is N: 0 when the agent shows exactly N busy containers running.
lab_test_busy_running_is() {
  [[ $(lab_test_busy_running) == "$1" ]]
}

# lab_test_busy N: run the test on a busy host: start N busy containers (4 at a time) and
#   check the agent shows them all running. lab_test_begin does it for IPO_LAB_BUSY=N (e.g.
#   1000: the address-reuse and rename tests on a host as large as docs/scale.md measures);
#   `scripts/lab down` removes them with the rest.
lab_test_busy() {
  local n=$1 t0=$SECONDS
  ((n > 0)) || return 0
  ipo_info "starting $n busy containers (no policy names them) that run through the test"
  export -f lab_docker_cli lab_test_busy_one
  export IPO_LAB_DOCKER_DIR IPO_DOCKER_IMAGE
  seq 1 "$n" | xargs -P 4 -I{} bash -c 'lab_test_busy_one {}'
  lab_test_check "the agent shows the $n busy containers running" ipo_wait_for 120 lab_test_busy_running_is "$n"
  ipo_info "  $n busy containers up in $((SECONDS - t0)) s"
}

# lab_test_matrix STAGE [EXTRA_ROW...]: print and check the connectivity matrix for STAGE.
lab_test_matrix() {
  local stage=$1
  shift
  echo "=== matrix: $stage"
  ipo_lab_matrix "$@" || lab_test_fail "matrix rows failed at stage '$stage'"
}

LAB_TEST_MARK=null

# lab_test_mark: remember the agent's last Docker event; call it before a change, so that
#   lab_test_converge waits until the agent has seen a newer event (not just its old state).
lab_test_mark() {
  LAB_TEST_MARK=$(ipo_lab_netctl status --json 2>/dev/null | jq -c '.last_event // null') || LAB_TEST_MARK=null
}

# lab_test_event_seen: 0 if the agent's last event differs from the mark (or there is no mark).
lab_test_event_seen() {
  [[ $LAB_TEST_MARK == null ]] && return 0
  [[ $(ipo_lab_netctl status --json 2>/dev/null | jq -c '.last_event // null') != "$LAB_TEST_MARK" ]]
}

# lab_test_converge STAGE [SECONDS]: wait (default 60 s) until the agent has seen an event
#   since lab_test_mark and agrees with Docker after STAGE.
lab_test_converge() {
  local stage=$1 timeout=${2:-60} t0=$SECONDS
  if ! ipo_wait_for "$timeout" lab_test_event_seen; then
    lab_test_fail "agent saw no Docker event after '$stage' (last event still $LAB_TEST_MARK)"
  elif ipo_lab_wait_converged "$((timeout - (SECONDS - t0)))"; then
    ipo_info "agent converged after '$stage' in $((SECONDS - t0)) s"
  else
    lab_test_fail "agent did not converge after '$stage'"
  fi
  LAB_TEST_MARK=null
}

# lab_test_proxied_restart_always: docker_a and docker_c get restart policy "always"; docker_b
#   is recreated with `-p 3316:3316 --restart always`, so docker-proxy listens on the host (the
#   INPUT path) as soon as dockerd restarts it at boot, before the agent runs. Waits for the agent.
lab_test_proxied_restart_always() {
  ipo_lab_docker update --restart always docker_a docker_c >/dev/null
  lab_test_mark
  ipo_lab_docker rm -f docker_b >/dev/null
  ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 --restart always
  lab_test_converge "docker_b recreated with -p 3316:3316 --restart always" 60
}

# lab_test_prober_begin NAME [SOURCE...]: check that the prober registers a success on an
#   allowed path, then start it on every forbidden path from the SOURCEs (default ipo-wan and
#   ipo-lan-deny; IPO_LAB_PROBER_EXTRA_ROWS adds a test's own rows) in a new PROBE_DIR
#   (/tmp/ipo-NAME-prober.*). The caller's EXIT trap must stop it (lab_test_finish_prober).
lab_test_prober_begin() {
  local name=$1 paths sources
  shift
  (($#)) || set -- ipo-wan ipo-lan-deny
  sources=$*
  lab_test_check "prober counts a success on an allowed path" ipo_lab_prober_selftest
  PROBE_DIR=$(mktemp -d "/tmp/ipo-$name-prober.XXXXXX")
  paths=$(ipo_lab_prober_start "$PROBE_DIR" forbidden "$@")
  ipo_info "prober: $paths forbidden paths from ${sources// /, }"
}

# lab_test_prober_verdict WHAT MIN_ATTEMPTS: stop the prober of PROBE_DIR, print its counts
#   and any successful forbidden connection, print "forbidden N / ATTEMPTS", and check that
#   none succeeded and that it made more than MIN_ATTEMPTS attempts; removes PROBE_DIR.
lab_test_prober_verdict() {
  local what=$1 min=$2 ok attempts
  sleep 1
  echo "=== forbidden paths $what (attempts, successes):"
  ipo_lab_prober_stop "$PROBE_DIR"
  ok=$(ipo_lab_prober_successes "$PROBE_DIR")
  attempts=$(ipo_lab_prober_attempts "$PROBE_DIR")
  if ((ok > 0)); then
    echo "--- successful forbidden connections:"
    head -n 40 "$PROBE_DIR/successes.log"
  fi
  echo "forbidden $ok / $attempts"
  lab_test_check "0 of $attempts forbidden connection attempts succeeded (got $ok)" test "$ok" -eq 0
  lab_test_check "the prober made attempts ($attempts)" test "$attempts" -gt "$min"
  rm -rf "$PROBE_DIR"
  PROBE_DIR=
}
