#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over every C++ source of the agent, tools/ and tests/tools,
# warnings as errors. One pass: its findings are printed and its exit status decides.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
db=${IPO_BUILD:?}/compile_commands.json
[[ -f $db ]] || { echo "no $db" >&2; exit 1; }
mapfile -t files < <(git ls-files 'agent/*.cc' 'tools/*.cc' 'tests/tools/*.cc' | grep -v '_test\.cc$')
echo "clang-tidy: ${#files[@]} files"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang-tidy -p "$IPO_BUILD" --quiet --warnings-as-errors='*' >"$out" 2>&1 ||
  rc=$?
grep -v '^[0-9]* warnings generated' "$out" || true
if ((rc != 0)); then
  echo "clang-tidy: findings above (xargs exit $rc)" >&2
  exit 1
fi
echo "clang-tidy: clean"
