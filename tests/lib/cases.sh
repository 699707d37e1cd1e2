# shellcheck shell=bash
# Multi-case test scripts: one CTest test per case_NAME function of the script. CMake asks the
# script for its cases (`SCRIPT --list`, see ipo_add_shell_test CASES in
# cmake/IpoTesting.cmake), so the list of cases lives only in the script.

# list_cases: the script's cases, one a line, in the order of declare -F (sorted).
list_cases() {
  local f
  while read -r _ _ f; do
    if [[ $f == case_* ]]; then
      echo "${f#case_}"
    fi
  done < <(declare -F)
}

# cases_list_or_check ARG: with --list print the cases and exit 0; otherwise exit 2 unless
# ARG names a case. Call it first in main, before any setup.
cases_list_or_check() {
  if [[ ${1:-} == --list ]]; then
    list_cases
    exit 0
  fi
  declare -F "case_${1:-}" >/dev/null || {
    echo "unknown case '${1:-}'; one of: $(list_cases | tr '\n' ' ')" >&2
    exit 2
  }
}
