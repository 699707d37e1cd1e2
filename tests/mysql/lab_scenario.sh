#!/usr/bin/env bash
# Usage: lab_scenario.sh SCENARIO | --list
# Test: one lab scenario (SCENARIO, with _ for -) reproduces "server has gone away" without
# the fix, not with any of its fixes, and gone-away-diagnose names the cause (SCENARIOS below)
# from the bad run's own logs ("insufficient-evidence": it must refuse to name one). The lab
# is brought up by the mysql_lab_up fixture (or here if absent). --list prints the scenarios
# (CMake makes one test mysql_lab_SCENARIO of each).
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# scenario and the cause gone-away-diagnose must name from the scenario's own logs, in the
# order the tests run
SCENARIOS=(
  "client-timeout haproxy-timeout-client"
  "server-timeout haproxy-timeout-server"
  "wait-timeout mysql-wait-timeout"
  "marked-down haproxy-marked-down"
  "reload haproxy-reload"
  "max-packet max-allowed-packet"
  "slave-restart slave-restart"
  "conntrack insufficient-evidence"
)
want=${1:?scenario or --list} scenario="" cause=""
for row in "${SCENARIOS[@]}"; do
  if [[ $want == --list ]]; then
    row=${row%% *}
    echo "${row//-/_}"
  elif [[ ${row%% *} == "${want//_/-}" ]]; then
    read -r scenario cause <<<"$row"
  fi
done
[[ $want != --list ]] || exit 0
[[ -n $scenario ]] || fail "unknown scenario $want (lab_scenario.sh --list)"
need_tools
"$LAB" up # no-op when the mysql_lab_up fixture already brought it up

"$LAB" run "$scenario" || fail "mysql-lab run $scenario did not show error-then-fix"

runs=$IPO_MYSQL_LAB_DIR/runs/$scenario
assert_contains "$runs/bad/client.out" "SQLSTATE[HY000]: General error: 2006"
assert_contains "$runs/bad/client.out" "server has gone away"
assert_contains "$runs/bad/php-error.log" "server has gone away"
for dir in "$runs"/*/; do
  variant=$(basename "$dir")
  [[ $variant == bad ]] && continue
  assert_contains "$dir/client.out" "OK port="
  assert_not_contains "$dir/client.out" "server has gone away"
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$DIAG" --run-dir "$runs/bad" >"$out" || rc=$?
cat "$out"
if [[ $cause == insufficient-evidence ]]; then
  # Nothing on HAProxy or MySQL saw the connection die: the tool must not blame them.
  ((rc == 2)) || fail "diagnose exit $rc (want 2) on $runs/bad"
  assert_contains "$out" "insufficient evidence"
  assert_contains "$out" "conntrack/NAT"
else
  ((rc == 0)) || fail "diagnose exit $rc on $runs/bad"
  assert_contains "$out" "most likely cause: $cause"
fi
echo "PASS: $scenario reproduced, fixed, diagnosed as $cause"
