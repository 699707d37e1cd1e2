# shellcheck shell=bash
# Shared by the tests of the k8s suite: where the tools are, which Kubernetes versions the
# chart is checked against, and rendering the charts into a temporary directory.
# Source it after setting IPO_SRC; it sets K8S_* variables and defines k8s_* functions.

: "${IPO_SRC:?IPO_SRC must point at the repository root}"
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
IPO_TOOLS=${IPO_TOOLS:-/opt/ipo-host}
K8S_HELM=${K8S_HELM:-$IPO_TOOLS/bin/helm}
K8S_VENV=${K8S_VENV:-$IPO_TOOLS/venv}
K8S_DIR="$IPO_SRC/k8s"
K8S_APP_CHART="$K8S_DIR/charts/ipo-app"
K8S_STORAGE_CHART="$K8S_DIR/charts/local-path-storage"
# The cluster version the renders target (helm --kube-version) and the range the schema
# validation covers: the chart's kubeVersion minimum up to the newest known schema.
K8S_VERSION=${K8S_VERSION:-1.37.0}
# shellcheck disable=SC2034 # used by schema_validate.sh
K8S_SCHEMA_VERSIONS=(1.27.0 1.28.0 1.29.0 1.30.0 1.31.0 1.32.0 1.33.0 1.34.0 1.35.0 1.36.0 1.37.0)
K8S_NAMESPACE=ipo
K8S_RELEASE=ipo-app
export PYTHONDONTWRITEBYTECODE=1

# k8s_require_tools: fail (not skip: the bootstrap must install them) if a tool is missing.
k8s_require_tools() {
  [[ -x $K8S_HELM ]] || fail "helm not found at $K8S_HELM (run scripts/bootstrap k8s)"
  [[ -x $K8S_VENV/bin/python ]] || fail "no Python venv at $K8S_VENV (run scripts/bootstrap k8s)"
  "$K8S_VENV/bin/python" -c 'import yaml' || fail "PyYAML missing in $K8S_VENV (run scripts/bootstrap k8s)"
}

# k8s_envs: the environments to render: "default" (values.yaml only) plus k8s/values/*.yaml.
k8s_envs() {
  local f
  printf '%s\n' default
  for f in "$K8S_DIR"/values/*.yaml; do
    f=${f##*/}
    printf '%s\n' "${f%.yaml}"
  done
}

# k8s_render_app ENV OUT [HELM ARGS...]: helm template the app chart for ENV into OUT.
k8s_render_app() {
  local env=$1 out=$2
  shift 2
  local values=()
  [[ $env == default ]] || values=(-f "$K8S_DIR/values/$env.yaml")
  "$K8S_HELM" template "$K8S_RELEASE" "$K8S_APP_CHART" --namespace "$K8S_NAMESPACE" \
    --kube-version "$K8S_VERSION" "${values[@]}" "$@" >"$out"
}

# k8s_render_storage OUT: helm template the storage chart into OUT.
k8s_render_storage() {
  "$K8S_HELM" template local-path-storage "$K8S_STORAGE_CHART" --namespace local-path-storage \
    --kube-version "$K8S_VERSION" >"$1"
}

# k8s_render_all DIR: render every environment (app-ENV.yaml) and the storage chart (storage.yaml).
k8s_render_all() {
  local dir=$1 env
  while read -r env; do
    k8s_render_app "$env" "$dir/app-$env.yaml" || fail "helm template of ipo-app for env '$env' failed"
  done < <(k8s_envs)
  k8s_render_storage "$dir/storage.yaml" || fail "helm template of local-path-storage failed"
}
