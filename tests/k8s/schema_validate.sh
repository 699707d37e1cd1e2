#!/usr/bin/env bash
# Test: every rendered object of both charts (all environments) is valid against the
# Kubernetes OpenAPI schemas, strictly (unknown fields rejected), for every Kubernetes
# version from the chart's minimum (kubeVersion >=1.27) to the newest schema that
# kubernetes-validate ships; and the validator does reject a broken object.
set -Eeuo pipefail
# shellcheck source=tests/k8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tmp=

main() {
  k8s_require_tools
  local kv="$K8S_VENV/bin/kubernetes-validate" v out
  [[ -x $kv ]] || fail "kubernetes-validate missing in $K8S_VENV (run scripts/bootstrap k8s)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  k8s_render_all "$tmp"
  for v in "${K8S_SCHEMA_VERSIONS[@]}"; do
    out=$("$kv" --kubernetes-version "$v" --strict --quiet "$tmp"/*.yaml 2>&1) ||
      { printf '%s\n' "$out"; fail "schema validation against Kubernetes $v"; }
    printf 'ok   %s objects valid against Kubernetes %s (strict)\n' \
      "$(cat "$tmp"/*.yaml | grep -c '^kind: ')" "$v"
  done

  # The validator must catch a misspelt field and a wrong type, or the loop above proves nothing.
  sed 's/^  minAvailable: 3$/  minAvaliable: 3/' "$tmp/app-default.yaml" >"$tmp/broken-field.yml"
  sed 's/^  maxReplicas: 10$/  maxReplicas: ten/' "$tmp/app-default.yaml" >"$tmp/broken-type.yml"
  for f in broken-field broken-type; do
    ! cmp -s "$tmp/$f.yml" "$tmp/app-default.yaml" || fail "could not inject $f into the render"
    if "$kv" --kubernetes-version "$K8S_VERSION" --strict --quiet "$tmp/$f.yml" >/dev/null 2>&1; then
      fail "kubernetes-validate accepted $f"
    fi
    printf 'ok   kubernetes-validate rejects %s\n' "$f"
  done
}

main "$@"
