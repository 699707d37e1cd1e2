#!/usr/bin/env bash
# Fault test: ipo-netd SIGKILLed in the middle of an apply, repeated (KILL_ITERATIONS, default
# 30). Two policies alternate: A (rules/policy.json) and B (A plus a LAN allowlist of
# KILL_ALLOW_ENTRIES single addresses in 10.0.0.0/8, which makes each apply large and slow).
# Each iteration writes the other policy, sends SIGHUP, waits a random 0-KILL_MAX_DELAY_MS
# ms and sends SIGKILL. Asserts after every kill: the kernel's ruleset (nft -s list ruleset)
# is exactly candidate A or candidate B (both recorded from the agent's own converged
# applies), never anything else; the state file parses (never torn). The agent is then
# restarted and converges to the policy on disk. The prober runs throughout: 0 forbidden
# successes. Prints how many kills left A and how many B.
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

ITERATIONS=${KILL_ITERATIONS:-30}
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ALLOW_ENTRIES=${KILL_ALLOW_ENTRIES:-3000}
MAX_DELAY_MS=${KILL_MAX_DELAY_MS:-400}

# make_policy_b A_FILE B_FILE: B = A + lan subnet 10.0.0.0/8 + ALLOW_ENTRIES allowed addresses
#   (every other address, so no two merge into one interval).
make_policy_b() {
  jq --argjson n "$ALLOW_ENTRIES" '
    .lan.subnets += ["10.0.0.0/8"]
    | .lan.allow += [range(0; $n) | "10.0.\(. / 100 | floor).\((. % 100) * 2 + 1)"]' "$1" >"$2"
}

# rules_now: the kernel's ruleset without counters and without table ownership metadata
#   (the "# progname ipo-netd" comment and the table's "flags owner/persist" line change when
#   the owning process dies; they are not rules).
rules_now() {
  fault_ruleset | awk '
    /^table / { sub(/ # progname .*$/, ""); print; intable = 1; next }
    intable && /^\tflags/ { intable = 0; next }
    { intable = 0; print }'
}

# use_policy FILE: atomically make FILE the policy the agent reads.
use_policy() {
  cp "$1" "$IPO_LAB_POLICY.new"
  mv -f "$IPO_LAB_POLICY.new" "$IPO_LAB_POLICY"
}

# apply_and_record FILE OUT: make FILE the policy, SIGHUP, wait until converged and the
#   ruleset is stable, save nft -s list ruleset to OUT.
apply_and_record() {
  local mark
  use_policy "$1"
  mark=$(fault_log_lines)
  kill -HUP "$(fault_agent_pid)"
  ipo_wait_for 30 bash -c 'tail -n +"$(($1 + 1))" "$2" | grep -q "policy reloaded"' _ "$mark" "$IPO_LAB_NETD_LOG" ||
    ipo_die "the agent did not reload $1"
  ipo_lab_wait_converged 60 || ipo_die "the agent did not converge on $1"
  sleep 1
  rules_now >"$2"
}

main() {
  fault_policy_copy
  local dir=$FAULT_TMP a b
  a=$dir/policy-a.json b=$dir/policy-b.json
  cp "$IPO_LAB_POLICY" "$a"
  make_policy_b "$a" "$b"
  fault_begin
  ipo_info "policy B: $(jq '.lan.allow | length' "$b") allow entries"
  # Candidates: the agent's own converged ruleset for each policy.
  apply_and_record "$b" "$dir/cand-b"
  apply_and_record "$a" "$dir/cand-a"
  lab_test_check "candidates differ" bash -c '! cmp -s "$0" "$1"' "$dir/cand-a" "$dir/cand-b"
  ipo_info "candidate A $(wc -l <"$dir/cand-a") lines, B $(wc -l <"$dir/cand-b") lines"
  # How long one apply of B takes, from the agent's own report.
  local i delay pid now next got kill_at old_count=0 new_count=0 torn=0 bad_state=0 cur=a
  local t0=$SECONDS
  for ((i = 1; i <= ITERATIONS; i++)); do
    if [[ $cur == a ]]; then next=b; else next=a; fi
    delay=$((RANDOM % (MAX_DELAY_MS + 1)))
    pid=$(fault_agent_pid)
    use_policy "$dir/policy-$next.json"
    kill -HUP "$pid"
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid"
    kill_at=$(date +%T.%3N)
    ipo_wait_for 10 bash -c '! kill -0 "$0" 2>/dev/null' "$pid" || ipo_die "agent $pid did not die"
    now=$(rules_now)
    if [[ $now == "$(<"$dir/cand-$cur")" ]]; then
      got="old ($cur)"
      old_count=$((old_count + 1))
    elif [[ $now == "$(<"$dir/cand-$next")" ]]; then
      got="new ($next)"
      new_count=$((new_count + 1))
    else
      got=NEITHER
      torn=$((torn + 1))
      printf '%s\n' "$now" >"$dir/torn.$i"
      diff "$dir/cand-$next" "$dir/torn.$i" | head -n 20 >&2 || true
    fi
    if ! fault_state_parses; then
      bad_state=$((bad_state + 1))
      cp "$IPO_LAB_NETD_STATE/state.json" "$dir/state.$i" 2>/dev/null || true
      got="$got, STATE TORN"
    fi
    # The time goes with the line so a prober success (successes.log) can be matched to a kill.
    printf 'kill %2d at %s: SIGKILL %3d ms after SIGHUP (%s -> %s): kernel ruleset = %s, state generation %s\n' \
      "$i" "$kill_at" "$delay" "$cur" "$next" "$got" "$(fault_state_generation 2>/dev/null || echo '?')"
    cur=$next
    ipo_lab_agent_start
    if ! ipo_lab_wait_converged 60; then
      lab_test_fail "kill $i: the restarted agent did not converge on policy $cur"
      break
    fi
    if [[ $(rules_now) != "$(<"$dir/cand-$cur")" ]]; then
      lab_test_fail "kill $i: after restart the ruleset is not candidate $cur"
    fi
  done
  ipo_info "$ITERATIONS kills in $((SECONDS - t0)) s: ruleset old $old_count, new $new_count, neither $torn; torn state files $bad_state"
  lab_test_check "every kill left exactly the old or the new ruleset ($torn did not)" test "$torn" -eq 0
  lab_test_check "the state file always parsed ($bad_state torn)" test "$bad_state" -eq 0
  use_policy "$a"
  kill -HUP "$(fault_agent_pid)"
  lab_test_check "back on policy A" ipo_wait_for 30 bash -c '[[ $(bash "$1" --rules-now) == "$(<"$0")" ]]' "$dir/cand-a" "$SELF"
  lab_test_matrix "after $ITERATIONS kills"
  fault_end
}

if [[ ${1:-} == --rules-now ]]; then
  rules_now
else
  main "$@"
fi
