#!/usr/bin/env bash
# Test: k8s/install.sh is shellcheck clean, prints --help from its Usage block, refuses
# bad input with a message, and in --dry-run renders both local charts and lists the four
# helm installs in the documented order (ingress-nginx, metrics-server, local-path-storage,
# ipo-app) without touching a cluster.
set -Eeuo pipefail
# shellcheck source=tests/k8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  k8s_require_tools
  local script="$K8S_DIR/install.sh" out
  (cd "$IPO_SRC" && shellcheck -S warning -x k8s/install.sh scripts/bootstrap.d/40-k8s.sh tests/k8s/*.sh) ||
    fail "shellcheck"
  echo "ok   shellcheck"
  out=$(bash "$script" --help)
  grep -q '^Usage: k8s/install.sh' <<<"$out" || fail "--help does not print the Usage block: $out"
  grep -q -- '--dry-run' <<<"$out" || fail "--help does not document --dry-run"
  echo "ok   --help"
  if out=$(HELM=$K8S_HELM bash "$script" --env nosuch --dry-run 2>&1); then
    fail "--env nosuch was accepted"
  fi
  grep -q "unknown environment 'nosuch'" <<<"$out" || fail "bad --env message: $out"
  if out=$(HELM=$K8S_HELM bash "$script" --bogus 2>&1); then fail "--bogus was accepted"; fi
  grep -q "unknown argument '--bogus'" <<<"$out" || fail "bad argument message: $out"
  echo "ok   bad input refused with a message"

  out=$(HELM=$K8S_HELM KUBECONFIG=/nonexistent bash "$script" --env prod --dry-run 2>&1) ||
    fail "--dry-run failed: $out"
  local order
  order=$(grep -oE '^\+ .* upgrade --install [a-z-]+' <<<"$out" | awk '{print $NF}' | tr '\n' ' ')
  [[ $order == "ingress-nginx metrics-server local-path-storage ipo-app " ]] ||
    fail "install order is '$order': $out"
  grep -q -- "--namespace ipo --create-namespace -f $K8S_DIR/values/prod.yaml" <<<"$out" ||
    fail "ipo-app is not installed with values/prod.yaml into namespace ipo: $out"
  grep -q 'nothing was installed' <<<"$out" || fail "dry run did not render the local charts: $out"
  echo "ok   --dry-run order: $order"
  out=$(HELM=$K8S_HELM bash "$script" --dry-run --skip-platform -- --set backend.replicas=5 2>&1) ||
    fail "--skip-platform dry run failed: $out"
  [[ $(grep -c 'upgrade --install' <<<"$out") -eq 1 ]] || fail "--skip-platform still installs the platform"
  grep -q -- '--set backend.replicas=5' <<<"$out" || fail "extra helm arguments are not passed on"
  echo "ok   --skip-platform and extra helm arguments"
}

main "$@"
