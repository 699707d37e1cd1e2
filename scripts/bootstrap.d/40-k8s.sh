# shellcheck shell=bash
# Group "k8s": the tools that test the Helm chart in k8s/ (tests/k8s).
#
# - helm, built from the Go module proxy (helm.sh/helm/v3) into $IPO_TOOLS/bin; the Go
#   build cache (~/.cache/go-build) makes a rebuild cheap.
# - kubernetes-validate (offline JSON-schema validation of the rendered objects against
#   the Kubernetes version the cluster runs), checkov (policy linter; kube-linter is not
#   available here) and PyYAML (the requirement assertions in tests/k8s/assert_chart.py),
#   pinned, into $IPO_TOOLS/venv.
#
# Opt-in (IPO_K8S_CONTROL_PLANE=1, not done by `scripts/bootstrap all` in CI): the real
# control plane for tests/k8s/apiserver_lab.sh: kube-apiserver, kube-scheduler and
# kube-controller-manager built from k8s.io/kubernetes through a small tools module
# (k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces its staging modules
# with ./staging paths, so the tools module replaces each of them with the matching v0.x
# release), plus etcd from Debian. A cold build took 1479 s for kube-apiserver and 507 s
# more for the other two on the shared 2-core machine: too much for CI's 90-minute budget.
#
# Idempotent: ipo_go_install skips a helm of the same version, ipo_pip_install skips
# packages that are already installed, the control plane is rebuilt only for a new version.

IPO_K8S_HELM_VERSION=${IPO_K8S_HELM_VERSION:-v3.22.0}
# The Kubernetes minor version helm assumes without a cluster (helm template, helm lint):
# the k8s.io modules helm v3.22.0 is built with (v0.37 -> 1.37), as helm's own Makefile sets.
IPO_K8S_HELM_KUBE_MINOR=${IPO_K8S_HELM_KUBE_MINOR:-37}
IPO_K8S_CONTROL_PLANE_VERSION=${IPO_K8S_CONTROL_PLANE_VERSION:-1.37.2}

# ipo_k8s_build_control_plane: kube-apiserver, kube-scheduler, kube-controller-manager into
# $IPO_TOOLS/bin, built in the tools module $IPO_TOOLS/src/k8s-tools.
ipo_k8s_build_control_plane() {
  local v=$IPO_K8S_CONTROL_PLANE_VERSION dir="$IPO_TOOLS/src/k8s-tools"
  local stamp="$IPO_TOOLS/bin/.k8s-control-plane.version" bins=(kube-apiserver kube-scheduler kube-controller-manager)
  ipo_apt_install etcd-server
  if [[ -f $stamp && $(<"$stamp") == "$v" ]]; then
    return 0
  fi
  ipo_info "go: building ${bins[*]} v$v (tools module $dir; ~30 min cold on 2 cores)"
  mkdir -p "$dir" "$IPO_TOOLS/bin"
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$v" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    printf 'module ipo.local/k8s-tools\n\ngo 1.25\n\nrequire k8s.io/kubernetes v%s\n\n' "$v"
    grep -oE '^\s*k8s.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v m="0.${v#1.}" '{printf "replace %s => %s v%s\n", $1, $1, m}'
  } >"$dir/go.mod"
  printf 'package tools\n\nimport (\n' >"$dir/tools.go"
  local b
  for b in "${bins[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b" >>"$dir/tools.go"; done
  printf ')\n' >>"$dir/tools.go"
  local x=k8s.io/component-base/version minor=${v#1.}
  minor=${minor%%.*}
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy &&
    go build -trimpath -ldflags "-s -X $x.gitVersion=v$v -X $x.gitMajor=1 -X $x.gitMinor=$minor" \
      -o "$IPO_TOOLS/bin/" "${bins[@]/#/k8s.io/kubernetes/cmd/}")
  printf '%s' "$v" >"$stamp"
}

ipo_bootstrap_k8s() {
  ipo_apt_install python3 python3-venv ca-certificates
  # helm v3.22 needs Go >= 1.24 (the machine image ships it in /usr/local/go; Debian 12's
  # golang-go is 1.19 and too old).
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    ipo_die "k8s: Go >= 1.24 is needed to build helm (not found on PATH nor in /usr/local/go)"
  local x=helm.sh/helm/v3
  PATH=$PATH:/usr/local/go/bin ipo_go_install helm "$x/cmd/helm@$IPO_K8S_HELM_VERSION" \
    -trimpath -ldflags "-s -w -X $x/internal/version.version=$IPO_K8S_HELM_VERSION \
      -X $x/pkg/lint/rules.k8sVersionMajor=1 -X $x/pkg/lint/rules.k8sVersionMinor=$IPO_K8S_HELM_KUBE_MINOR \
      -X $x/pkg/chartutil.k8sVersionMajor=1 -X $x/pkg/chartutil.k8sVersionMinor=$IPO_K8S_HELM_KUBE_MINOR"
  ipo_pip_install pyyaml==6.0.3 kubernetes-validate==1.37.0 checkov==3.3.30
  if [[ ${IPO_K8S_CONTROL_PLANE:-0} == 1 ]]; then
    PATH=$PATH:/usr/local/go/bin ipo_k8s_build_control_plane
  fi
}
