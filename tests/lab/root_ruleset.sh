#!/usr/bin/env bash
# Test fixture: `record FILE` saves the root namespace's nftables ruleset before the lab suite;
# `check FILE` (after the suite) fails, showing the diff, unless it is still identical.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

main() {
  local mode=$1 file=$2
  [[ $(id -u) -eq 0 ]] || { echo "lab tests need root" >&2; exit 77; }
  case $mode in
    record)
      ipo_lab_root_ruleset >"$file"
      echo "recorded the root namespace's ruleset ($(wc -l <"$file") lines) in $file"
      ;;
    check)
      [[ -f $file ]] || ipo_die "no recorded ruleset at $file (the record fixture did not run)"
      if diff -u "$file" <(ipo_lab_root_ruleset); then
        echo "root namespace ruleset identical before and after the lab suite"
        rm -f "$file"
      else
        ipo_die "the root namespace's nftables ruleset changed during the lab suite"
      fi
      ;;
    *) ipo_die "usage: root_ruleset.sh record|check FILE" ;;
  esac
}

main "$@"
