#!/usr/bin/env bash
# Test: the example alert rules (rules/prometheus/ipo-netd-alerts.yml) are valid for
# Prometheus (`promtool check rules`) and fire when they should and not before (`promtool
# test rules` over tests/testdata/prometheus/ipo-netd-alerts.test.yml). promtool comes from
# scripts/bootstrap observability.
set -Eeuo pipefail
# shellcheck source=tests/lib/assert.sh
source "${IPO_SRC:?}/tests/lib/assert.sh"

main() {
  local promtool=${IPO_TOOLS:-/opt/ipo-host}/bin/promtool
  [[ -x $promtool ]] || fail "$promtool missing: run scripts/bootstrap observability"
  "$promtool" check rules "$IPO_SRC/rules/prometheus/ipo-netd-alerts.yml" || fail "promtool check rules"
  # Relative rule_files: promtool resolves them from the test file's directory.
  (cd "$IPO_SRC/tests/testdata/prometheus" && "$promtool" test rules ipo-netd-alerts.test.yml) ||
    fail "promtool test rules: an alert fired when it should not, or did not when it should"
  echo "PASS: 7 alert rules valid; their unit tests pass"
}

main "$@"
