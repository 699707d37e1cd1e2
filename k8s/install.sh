#!/usr/bin/env bash
# Usage: k8s/install.sh [--help] [--env dev|prod] [--namespace NS] [--release NAME]
#                       [--dry-run] [--skip-platform] [-- EXTRA HELM ARGS FOR ipo-app]
#
# Installs everything question 四 needs into a fresh cluster (only kube-proxy, CoreDNS and
# Calico present), in this order, each step with `helm upgrade --install --wait`:
#   1. ingress-nginx       upstream chart, namespace ingress-nginx, values k8s/platform/ingress-nginx.yaml
#   2. metrics-server      upstream chart, namespace kube-system,   values k8s/platform/metrics-server.yaml
#   3. local-path-storage  k8s/charts/local-path-storage, namespace local-path-storage (StorageClass local-path)
#   4. ipo-app             k8s/charts/ipo-app with k8s/values/ENV.yaml, namespace NS (default ipo)
# Re-running it upgrades in place. Uses the current kubectl context (KUBECONFIG).
#
# Options:
#   --env ENV         values file k8s/values/ENV.yaml (default: dev)
#   --namespace NS    namespace of the application (default: ipo)
#   --release NAME    release name of the application (default: ipo-app)
#   --dry-run         print every helm command and render the local charts with
#                     `helm template` instead of touching a cluster
#   --skip-platform   install only step 4 (the platform components already exist)
#   -- ARGS...        extra arguments for the ipo-app helm command (e.g. --set ...)
#
# Environment: HELM (helm binary, default: helm on PATH, then /opt/ipo-host/bin/helm),
# IPO_K8S_INGRESS_NGINX_VERSION (default 4.14.1), IPO_K8S_METRICS_SERVER_VERSION (default 3.13.1).
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by ipo_log (scripts/lib/ipo_common.sh)
IPO_PROG=k8s-install
K8S_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/ipo_common.sh
source "$K8S_DIR/../scripts/lib/ipo_common.sh"

INGRESS_NGINX_REPO=https://kubernetes.github.io/ingress-nginx
METRICS_SERVER_REPO=https://kubernetes-sigs.github.io/metrics-server/

# k8s_find_helm: print the helm binary to use, or die.
k8s_find_helm() {
  if [[ -n ${HELM:-} ]]; then
    [[ -x $HELM ]] || command -v "$HELM" >/dev/null 2>&1 || ipo_die "HELM=$HELM is not executable"
    printf '%s\n' "$HELM"
  elif command -v helm >/dev/null 2>&1; then
    command -v helm
  elif [[ -x ${IPO_TOOLS:-/opt/ipo-host}/bin/helm ]]; then
    printf '%s\n' "${IPO_TOOLS:-/opt/ipo-host}/bin/helm"
  else
    ipo_die "helm not found: install helm v3 or run scripts/bootstrap k8s"
  fi
}

# k8s_run DRY_RUN CMD...: print CMD (shell-quoted); run it unless DRY_RUN is 1.
k8s_run() {
  local dry=$1
  shift
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  ((dry)) || "$@"
}

# k8s_install_steps DRY HELM ENV NS RELEASE SKIP_PLATFORM EXTRA...: the four steps in order.
k8s_install_steps() {
  local dry=$1 helm=$2 env=$3 ns=$4 release=$5 skip=$6
  shift 6
  local values="$K8S_DIR/values/$env.yaml"
  [[ -f $values ]] || ipo_die "unknown environment '$env': $values does not exist (have: $(cd "$K8S_DIR/values" && echo ./*.yaml))"
  local common=(--wait --timeout 10m)
  if ((!skip)); then
    ipo_info "step 1/4: ingress-nginx (ingress controller for frontend.example.com)"
    k8s_run "$dry" "$helm" upgrade --install ingress-nginx ingress-nginx \
      --repo "$INGRESS_NGINX_REPO" --version "${IPO_K8S_INGRESS_NGINX_VERSION:-4.14.1}" \
      --namespace ingress-nginx --create-namespace \
      -f "$K8S_DIR/platform/ingress-nginx.yaml" "${common[@]}"
    ipo_info "step 2/4: metrics-server (CPU metrics for the HorizontalPodAutoscaler)"
    k8s_run "$dry" "$helm" upgrade --install metrics-server metrics-server \
      --repo "$METRICS_SERVER_REPO" --version "${IPO_K8S_METRICS_SERVER_VERSION:-3.13.1}" \
      --namespace kube-system \
      -f "$K8S_DIR/platform/metrics-server.yaml" "${common[@]}"
    ipo_info "step 3/4: local-path-storage (StorageClass local-path for the database volume)"
    k8s_run "$dry" "$helm" upgrade --install local-path-storage "$K8S_DIR/charts/local-path-storage" \
      --namespace local-path-storage --create-namespace "${common[@]}"
    if ((dry)); then
      "$helm" template local-path-storage "$K8S_DIR/charts/local-path-storage" \
        --namespace local-path-storage >/dev/null || ipo_die "k8s/charts/local-path-storage does not render"
    fi
  fi
  ipo_info "step 4/4: ipo-app (frontend, backend, database) in namespace $ns with $values"
  k8s_run "$dry" "$helm" upgrade --install "$release" "$K8S_DIR/charts/ipo-app" \
    --namespace "$ns" --create-namespace -f "$values" "${common[@]}" "$@"
  if ((dry)); then
    "$helm" template "$release" "$K8S_DIR/charts/ipo-app" --namespace "$ns" -f "$values" "$@" >/dev/null ||
      ipo_die "k8s/charts/ipo-app does not render with $values"
    ipo_info "dry run: both local charts render; nothing was installed"
  fi
}

main() {
  local env=dev ns=ipo release=ipo-app dry=0 skip=0
  while (($#)); do
    case $1 in
      -h | --help) ipo_usage "${BASH_SOURCE[0]}"; return 0 ;;
      --env) env=${2:?--env needs a value}; shift 2 ;;
      --namespace) ns=${2:?--namespace needs a value}; shift 2 ;;
      --release) release=${2:?--release needs a value}; shift 2 ;;
      --dry-run) dry=1; shift ;;
      --skip-platform) skip=1; shift ;;
      --) shift; break ;;
      *) ipo_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  [[ $env =~ ^[a-z0-9-]+$ ]] || ipo_die "invalid --env '$env'"
  local helm
  helm=$(k8s_find_helm)
  k8s_install_steps "$dry" "$helm" "$env" "$ns" "$release" "$skip" "$@"
  ((dry)) || ipo_info "done: see 'helm -n $ns status $release' for how to reach https://frontend.example.com"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
