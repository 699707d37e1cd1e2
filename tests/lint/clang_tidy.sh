#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over every C++ source of the agent, tools/ and tests/tools,
# warnings as errors.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
db=${IPO_BUILD:?}/compile_commands.json
[[ -f $db ]] || { echo "no $db" >&2; exit 1; }
mapfile -t files < <(git ls-files 'agent/*.cc' 'tools/*.cc' 'tests/tools/*.cc' | grep -v '_test\.cc$')
echo "clang-tidy: ${#files[@]} files"
printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang-tidy -p "$IPO_BUILD" --quiet --warnings-as-errors='*' 2>&1 |
  grep -v '^[0-9]* warnings generated' || true
# xargs hides failures behind the pipe: run again for the exit status, quietly.
printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang-tidy -p "$IPO_BUILD" --quiet --warnings-as-errors='*' >/dev/null 2>&1
echo "clang-tidy: clean"
