#!/usr/bin/env bash
# Test: the connectivity matrix (IPv4 and IPv6, clients and containers, host service) holds
# with the agent enforcing rules/policy.json; `scripts/lab status --json` reports health ok
# and no drift; `up` again is a no-op; after `docker restart docker_a` the matrix holds again.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

main() {
  lab_test_begin
  lab_test_check "status --json: health ok, no drift" \
    bash -c '"$0" status --json | jq -e ".health == \"ok\" and .drift == false"' "$IPO_LAB_CMD"
  lab_test_check "second 'up' says already up" bash -c '"$0" up 2>&1 | grep -q "already up"' "$IPO_LAB_CMD"
  lab_test_matrix "initial"

  local t0=$SECONDS
  lab_test_mark
  ipo_lab_docker restart -t 2 docker_a >/dev/null
  ipo_info "docker restart docker_a took $((SECONDS - t0)) s"
  lab_test_converge "docker restart docker_a"
  lab_test_matrix "after docker restart docker_a"
}

main "$@"
