#!/usr/bin/env bash
# Test: both charts pass `helm lint --strict` and render with `helm template` for every
# environment (values.yaml, k8s/values/*.yaml); values that would break a requirement are
# rejected with a message naming the key (values.schema.json and the template's own checks);
# the self-signed certificate is generated when no Secret exists (helm template: lookup
# returns nothing), and the chart creates no Namespace (helm --create-namespace does).
set -Eeuo pipefail
# shellcheck source=tests/k8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_render_error WHAT PATTERN HELM-ARGS...: rendering must fail with PATTERN in stderr.
expect_render_error() {
  local what=$1 pattern=$2 err
  shift 2
  if err=$(k8s_render_app default /dev/null "$@" 2>&1); then
    fail "$what: helm template accepted $*"
  fi
  grep -qE -- "$pattern" <<<"$err" || fail "$what: error does not match /$pattern/: $err"
  printf 'ok   rejects %s\n' "$what"
}

tmp=

main() {
  k8s_require_tools
  local env
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  "$K8S_HELM" lint --strict "$K8S_STORAGE_CHART" >"$tmp/lint.log" 2>&1 ||
    { cat "$tmp/lint.log"; fail "helm lint local-path-storage"; }
  while read -r env; do
    local values=()
    [[ $env == default ]] || values=(-f "$K8S_DIR/values/$env.yaml")
    "$K8S_HELM" lint --strict "$K8S_APP_CHART" --namespace "$K8S_NAMESPACE" "${values[@]}" >"$tmp/lint.log" 2>&1 ||
      { cat "$tmp/lint.log"; fail "helm lint ipo-app ($env)"; }
    printf 'ok   helm lint ipo-app (%s)\n' "$env"
  done < <(k8s_envs)

  k8s_render_all "$tmp"
  for env in "$tmp"/*.yaml; do
    local kinds
    kinds=$(grep -c '^kind: ' "$env") || true
    ((kinds > 5)) || fail "${env##*/} renders only $kinds objects"
    ! grep -q '^kind: Namespace' "$env" || fail "${env##*/} renders a Namespace"
    printf 'ok   helm template %s (%d objects)\n' "${env##*/}" "$kinds"
  done

  # Two renders without a cluster: lookup finds nothing, so each generates its own certificate.
  k8s_render_app default "$tmp/again.yaml"
  local c1 c2
  c1=$(grep -m1 'tls.crt:' "$tmp/app-default.yaml")
  c2=$(grep -m1 'tls.crt:' "$tmp/again.yaml")
  [[ -n $c1 && $c1 != "$c2" ]] || fail "expected a fresh self-signed certificate per render without a cluster"
  printf 'ok   self-signed certificate generated when lookup finds no Secret\n'
  k8s_render_app default "$tmp/byo.yaml" --set frontend.ingress.tls.selfSigned=false \
    --set frontend.ingress.tls.secretName=my-cert --set database.auth.existingSecret=my-db
  ! grep -q '^kind: Secret' "$tmp/byo.yaml" || fail "the chart renders a Secret although both are brought by the user"
  grep -q 'secretName: my-cert' "$tmp/byo.yaml" || fail "Ingress does not use tls.secretName my-cert"
  grep -q 'name: my-db' "$tmp/byo.yaml" || fail "DB_PASS does not use database.auth.existingSecret my-db"
  printf 'ok   bring-your-own certificate and database Secret\n'

  expect_render_error "backend.replicas=2" 'backend.replicas|minimum' --set backend.replicas=2
  expect_render_error "backend.pdb.minAvailable=2" 'minAvailable' --set backend.pdb.minAvailable=2
  expect_render_error "replicas equal to minAvailable" \
    'backend.replicas \(3\) must be greater than backend.pdb.minAvailable \(3\)' --set backend.replicas=3
  expect_render_error "maxUnavailable=1" 'maxUnavailable' --set backend.rollingUpdate.maxUnavailable=1
  expect_render_error "image tag latest" 'tag' --set frontend.image.tag=latest
  expect_render_error "port 0" 'healthPort' --set frontend.healthPort=0
}

main "$@"
