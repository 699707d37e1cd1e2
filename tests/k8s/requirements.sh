#!/usr/bin/env bash
# Test: every requirement of question 四 holds on the rendered objects of every
# environment (tests/k8s/assert_chart.py: HPA 2-10 at 80 % CPU, probes HTTP 9090,
# HTTPS Ingress on frontend.example.com, DB_* env with DB_PASS from a Secret, backend
# >= 3 pods with maxUnavailable 0 and a PDB of 3, preferred spread, database StatefulSet
# with a retained PVC at /var/lib/mysql behind ClusterIP Services only, default-deny
# NetworkPolicies and their truth table). The NetworkPolicy evaluator's own unit tests
# run first, and with --mutations each check is shown to fail on a broken render.
set -Eeuo pipefail
# shellcheck source=tests/k8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tmp=

main() {
  k8s_require_tools
  local here py env
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  py="$K8S_VENV/bin/python"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$here" && "$py" -m unittest -q netpol_test) || fail "NetworkPolicy evaluator unit tests"
  k8s_render_all "$tmp"
  while read -r env; do
    printf -- '--- environment %s\n' "$env"
    local extra=()
    [[ $env != default ]] || extra=(--mutations --table)
    "$py" "$here/assert_chart.py" "$tmp/app-$env.yaml" --storage "$tmp/storage.yaml" "${extra[@]}" ||
      fail "requirements of question 四 not met by environment $env"
  done < <(k8s_envs)
}

main "$@"
