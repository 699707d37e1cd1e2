#!/usr/bin/env bash
# Test: checkov (policy linter, Kubernetes framework) reports 0 failed checks on the
# rendered charts (every environment and the storage chart); each skipped check is
# justified by a checkov.io/skipN annotation in the chart; and a deliberately insecure
# render (privilege escalation allowed, writable root file system) is flagged, proving checkov ran.
# checkov runs offline (--skip-download, BC_SKIP_MAPPING): no platform calls.
set -Eeuo pipefail
# shellcheck source=tests/k8s/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tmp=

main() {
  k8s_require_tools
  local checkov="$K8S_VENV/bin/checkov" rc=0
  [[ -x $checkov ]] || fail "checkov missing in $K8S_VENV (run scripts/bootstrap k8s)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/scan/good" "$tmp/scan/bad"
  k8s_render_all "$tmp/scan/good"
  k8s_render_app default "$tmp/scan/bad/insecure.yaml" \
    --set containerSecurityContext.allowPrivilegeEscalation=true \
    --set containerSecurityContext.readOnlyRootFilesystem=false
  BC_SKIP_MAPPING=TRUE CHECKOV_LOG_LEVEL=ERROR "$checkov" -d "$tmp/scan" --framework kubernetes \
    --skip-download -o json >"$tmp/report.json" 2>"$tmp/checkov.err" || rc=$?
  # checkov exits 1 when any check fails (the bad/ render always does); other codes are errors.
  ((rc <= 1)) || { cat "$tmp/checkov.err"; fail "checkov exited $rc"; }
  "$K8S_VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/checkov_report.py" "$tmp/report.json" \
    --expect-bad CKV_K8S_20 --expect-bad CKV_K8S_22
}

main "$@"
