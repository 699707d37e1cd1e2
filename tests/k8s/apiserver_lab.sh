#!/usr/bin/env bash
# Usage: tests/k8s/apiserver_lab.sh [--help] [run|down]
#
# OPTIONAL real-API-server check of the charts (not registered in CTest: building
# kube-apiserver costs too much of CI's 90-minute budget, see k8s/README.md). Starts etcd
# and kube-apiserver on loopback only (127.0.0.1:23790 and :16443, state in
# /tmp/ipo-k8s-lab), then with helm against that API server:
#   1. server-side dry run of both charts (admission + full API validation);
#   2. real install of local-path-storage and ipo-app (namespace ipo);
#   3. helm upgrade: the self-signed certificate and the database password must be the
#      same objects' data as before (the `lookup` reuse path that helm template cannot test);
#   4. the stored objects keep the requirement fields (HPA 2..10, PDB 3, PVC retention);
#   5. with kube-scheduler and kube-controller-manager (deployment, replicaset, disruption,
#      statefulset, serviceaccount controllers) and three simulated Node objects (no kubelet:
#      pod readiness is set through the pods/status API, as kwok would): the 4 backend
#      pods land on all 3 nodes (at most 2 per node), the PDB allows exactly one disruption,
#      and a drain is stopped by the PDB: the first eviction succeeds, the second is refused
#      with 429 because only 3 ready backend pods would remain.
# `down` (also run on exit) stops everything it started and removes the state.
#
# The binaries come from `IPO_K8S_CONTROL_PLANE=1 scripts/bootstrap k8s` (opt-in, ~30 min
# cold). Environment: KUBE_APISERVER, KUBE_SCHEDULER, KUBE_CONTROLLER_MANAGER (default
# $IPO_TOOLS/bin/...; step 5 is left out without the last two), ETCD (default: etcd on
# PATH, Debian package etcd-server), HELM (default $IPO_TOOLS/bin/helm).
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by ipo_log (scripts/lib/ipo_common.sh)
IPO_PROG=k8s-apiserver-lab
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib/ipo_common.sh
source "$SRC/scripts/lib/ipo_common.sh"

LAB=/tmp/ipo-k8s-lab
TOOLS_BIN=${IPO_TOOLS:-/opt/ipo-host}/bin
KAS=${KUBE_APISERVER:-$TOOLS_BIN/kube-apiserver}
KSCHED=${KUBE_SCHEDULER:-$TOOLS_BIN/kube-scheduler}
KCM=${KUBE_CONTROLLER_MANAGER:-$TOOLS_BIN/kube-controller-manager}
ETCD_BIN=${ETCD:-etcd}
HELM_BIN=${HELM:-$TOOLS_BIN/helm}
API=https://127.0.0.1:16443
TOKEN=ipo-lab-admin-token

# lab_down: stop what lab_up started (by recorded pid) and remove the state directory.
lab_down() {
  local p
  for p in "$LAB"/*.pid; do
    [[ -f $p ]] || continue
    kill "$(<"$p")" 2>/dev/null || true
  done
  sleep 1
  for p in "$LAB"/*.pid; do
    [[ -f $p ]] || continue
    kill -9 "$(<"$p")" 2>/dev/null || true
  done
  rm -rf "$LAB"
}

# lab_api PATH: GET an API path as the lab admin; prints the JSON.
lab_api() {
  curl -fsSk -H "Authorization: Bearer $TOKEN" "$API$1"
}

# lab_api_send METHOD PATH CONTENT-TYPE BODY: send BODY; prints the HTTP status code only
# (the response body is in $LAB/last-response.json).
lab_api_send() {
  curl -sk -o "$LAB/last-response.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: $3" --data "$4" "$API$2"
}

# lab_ready: 0 when kube-apiserver answers /readyz; dies at once if the process exited.
lab_ready() {
  kill -0 "$(<"$LAB/kube-apiserver.pid")" 2>/dev/null || ipo_die "kube-apiserver exited: $(tail -3 "$LAB/kube-apiserver.log")"
  lab_api /readyz
}

# lab_up: etcd + kube-apiserver on loopback, a kubeconfig at $LAB/kubeconfig.
lab_up() {
  [[ -x $KAS ]] || ipo_die "kube-apiserver not found at $KAS (run: IPO_K8S_CONTROL_PLANE=1 scripts/bootstrap k8s)"
  ipo_require_cmd "$ETCD_BIN" curl openssl python3
  [[ -x $HELM_BIN ]] || ipo_die "helm not found at $HELM_BIN"
  lab_down
  mkdir -p "$LAB/certs"
  openssl genrsa -out "$LAB/sa.key" 2048 2>/dev/null
  openssl rsa -in "$LAB/sa.key" -pubout -out "$LAB/sa.pub" 2>/dev/null
  printf '%s,admin,admin,system:masters\n' "$TOKEN" >"$LAB/tokens.csv"
  "$ETCD_BIN" --data-dir "$LAB/etcd" --name ipo-lab \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster ipo-lab=http://127.0.0.1:23800 >"$LAB/etcd.log" 2>&1 &
  echo $! >"$LAB/etcd.pid"
  ipo_wait_for 30 curl -fs http://127.0.0.1:23790/health || ipo_die "etcd did not start: $(tail -5 "$LAB/etcd.log")"
  "$KAS" --etcd-servers=http://127.0.0.1:23790 --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port=16443 --cert-dir="$LAB/certs" --token-auth-file="$LAB/tokens.csv" \
    --authorization-mode=RBAC --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$LAB/sa.pub" --service-account-signing-key-file="$LAB/sa.key" \
    >"$LAB/kube-apiserver.log" 2>&1 &
  echo $! >"$LAB/kube-apiserver.pid"
  ipo_info "waiting for kube-apiserver /readyz"
  ipo_wait_for 120 lab_ready || ipo_die "kube-apiserver not ready: $(tail -20 "$LAB/kube-apiserver.log")"
  cat >"$LAB/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "$API", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: lab, context: {cluster: lab, user: admin}}]
current-context: lab
EOF
  chmod 600 "$LAB/kubeconfig"
  ipo_info "kube-apiserver $("$KAS" --version) ready on $API"
}

# lab_json_field PATH: read JSON on stdin, print the field at PATH (keys separated by "/").
lab_json_field() {
  python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("/"):
    d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$1"
}

lab_run() {
  lab_up
  local h=("$HELM_BIN" --kubeconfig "$LAB/kubeconfig")
  local app="$SRC/k8s/charts/ipo-app" storage="$SRC/k8s/charts/local-path-storage"
  ipo_info "1. server-side dry run"
  "${h[@]}" install local-path-storage "$storage" -n local-path-storage --create-namespace --dry-run=server >/dev/null
  "${h[@]}" install ipo-app "$app" -n ipo --create-namespace -f "$SRC/k8s/values/prod.yaml" --dry-run=server >/dev/null
  ipo_info "2. real install"
  "${h[@]}" install local-path-storage "$storage" -n local-path-storage --create-namespace >/dev/null
  "${h[@]}" install ipo-app "$app" -n ipo --create-namespace -f "$SRC/k8s/values/prod.yaml" >/dev/null
  local crt1 pw1 crt2 pw2
  crt1=$(lab_api /api/v1/namespaces/ipo/secrets/ipo-app-frontend-tls | lab_json_field data/tls.crt)
  pw1=$(lab_api /api/v1/namespaces/ipo/secrets/ipo-app-database | lab_json_field data/password)
  ipo_info "3. helm upgrade keeps the certificate and the password (lookup)"
  "${h[@]}" upgrade ipo-app "$app" -n ipo -f "$SRC/k8s/values/prod.yaml" >/dev/null
  crt2=$(lab_api /api/v1/namespaces/ipo/secrets/ipo-app-frontend-tls | lab_json_field data/tls.crt)
  pw2=$(lab_api /api/v1/namespaces/ipo/secrets/ipo-app-database | lab_json_field data/password)
  [[ -n $crt1 && $crt1 == "$crt2" ]] || ipo_die "the upgrade replaced the self-signed certificate"
  [[ -n $pw1 && $pw1 == "$pw2" ]] || ipo_die "the upgrade changed the database password"
  ipo_info "4. stored objects"
  [[ $(lab_api /apis/autoscaling/v2/namespaces/ipo/horizontalpodautoscalers/ipo-app-frontend | lab_json_field spec/maxReplicas) == 10 ]] ||
    ipo_die "stored HPA maxReplicas is not 10"
  [[ $(lab_api /apis/policy/v1/namespaces/ipo/poddisruptionbudgets/ipo-app-backend | lab_json_field spec/minAvailable) == 3 ]] ||
    ipo_die "stored PDB minAvailable is not 3"
  [[ $(lab_api /apis/apps/v1/namespaces/ipo/statefulsets/ipo-app-database | lab_json_field spec/persistentVolumeClaimRetentionPolicy/whenDeleted) == Retain ]] ||
    ipo_die "stored StatefulSet does not retain its PVC"
  [[ $(lab_api /api/v1/namespaces/ipo/services/ipo-app-database | lab_json_field spec/type) == ClusterIP ]] ||
    ipo_die "stored database Service is not ClusterIP"
  "${h[@]}" list -A
  if [[ -x $KSCHED && -x $KCM ]]; then
    lab_spread_and_drain
  else
    ipo_warn "step 5 left out: no kube-scheduler/kube-controller-manager at $KSCHED, $KCM"
  fi
  ipo_info "lab passed"
}

# lab_backend_pods: "name node" per backend pod that is not terminating ("-": unscheduled).
lab_backend_pods() {
  lab_api "/api/v1/namespaces/ipo/pods?labelSelector=app.kubernetes.io/component%3Dbackend" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    if not p["metadata"].get("deletionTimestamp"):
        print(p["metadata"]["name"], p["spec"].get("nodeName") or "-")'
}

# lab_all_backend_scheduled: 0 when 4 backend pods exist and all have a node.
lab_all_backend_scheduled() {
  local out
  out=$(lab_backend_pods)
  [[ $(grep -c . <<<"$out") -eq 4 ]] && ! grep -q ' -$' <<<"$out"
}

# lab_pdb_allows N: 0 when the backend PDB status says N disruptions are allowed.
lab_pdb_allows() {
  [[ $(lab_api /apis/policy/v1/namespaces/ipo/poddisruptionbudgets/ipo-app-backend |
    lab_json_field status/disruptionsAllowed 2>/dev/null) == "$1" ]]
}

# lab_evict POD: ask the eviction API to evict POD in namespace ipo; prints the HTTP code.
lab_evict() {
  lab_api_send POST "/api/v1/namespaces/ipo/pods/$1/eviction" application/json \
    "{\"apiVersion\":\"policy/v1\",\"kind\":\"Eviction\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"ipo\"}}"
}

lab_spread_and_drain() {
  ipo_info "5. scheduler + controllers on 3 simulated nodes"
  local n code body
  for n in 1 2 3; do
    body='{"apiVersion":"v1","kind":"Node","metadata":{"name":"ipo-lab-node-N",'
    body+='"labels":{"kubernetes.io/hostname":"ipo-lab-node-N","kubernetes.io/os":"linux"}},'
    body+='"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},'
    body+='"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},'
    body+='"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}]}}'
    code=$(lab_api_send POST /api/v1/nodes application/json "${body//-N/-$n}")
    [[ $code == 201 ]] || ipo_die "creating node $n: HTTP $code $(cat "$LAB/last-response.json")"
    # Admission (TaintNodesByCondition) taints a new node not-ready until the node lifecycle
    # controller sees its kubelet; with no kubelet here, clear the taint as kwok does.
    code=$(lab_api_send PATCH "/api/v1/nodes/ipo-lab-node-$n" application/merge-patch+json '{"spec":{"taints":null}}')
    [[ $code == 200 ]] || ipo_die "untainting node $n: HTTP $code"
  done
  "$KCM" --kubeconfig "$LAB/kubeconfig" --leader-elect=false --secure-port=0 \
    --controllers=deployment,replicaset,disruption,statefulset,serviceaccount \
    >"$LAB/kube-controller-manager.log" 2>&1 &
  echo $! >"$LAB/kube-controller-manager.pid"
  "$KSCHED" --kubeconfig "$LAB/kubeconfig" --leader-elect=false --bind-address=127.0.0.1 \
    --secure-port=16459 --authentication-skip-lookup >"$LAB/kube-scheduler.log" 2>&1 &
  echo $! >"$LAB/kube-scheduler.pid"
  ipo_wait_for 120 lab_all_backend_scheduled ||
    ipo_die "backend pods not scheduled: $(lab_backend_pods); $(tail -5 "$LAB/kube-scheduler.log")"
  local placement per_node
  placement=$(lab_backend_pods)
  printf '%s\n' "$placement"
  per_node=$(awk '{print $2}' <<<"$placement" | sort | uniq -c | awk '{print $1}' | sort -rn | tr '\n' ' ')
  [[ $per_node == "2 1 1 " ]] || ipo_die "backend pods are not spread over the 3 nodes (pods per node: $per_node)"
  ipo_info "spread ok: 4 backend pods on 3 nodes, pods per node: $per_node"
  local name
  while read -r name _; do
    code=$(lab_api_send PATCH "/api/v1/namespaces/ipo/pods/$name/status" application/merge-patch+json \
      '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"},{"type":"PodScheduled","status":"True"}]}}')
    [[ $code == 200 ]] || ipo_die "marking $name ready: HTTP $code"
  done <<<"$placement"
  ipo_wait_for 60 lab_pdb_allows 1 ||
    ipo_die "PDB does not allow exactly 1 disruption with 4 ready pods: $(lab_api /apis/policy/v1/namespaces/ipo/poddisruptionbudgets/ipo-app-backend)"
  ipo_info "PDB: 4 healthy, minAvailable 3 -> 1 disruption allowed"
  local first second
  first=$(awk 'NR == 1 {print $1}' <<<"$placement")
  second=$(awk 'NR == 2 {print $1}' <<<"$placement")
  code=$(lab_evict "$first")
  [[ $code == 201 ]] || ipo_die "first eviction ($first) refused: HTTP $code $(cat "$LAB/last-response.json")"
  code=$(lab_evict "$second")
  [[ $code == 429 ]] || ipo_die "second eviction ($second) was not refused by the PDB: HTTP $code"
  grep -q 'disruption budget' "$LAB/last-response.json" ||
    ipo_die "429 without the PDB reason: $(cat "$LAB/last-response.json")"
  ipo_info "drain: eviction of $first -> 201, eviction of $second -> 429: $(lab_json_field message <"$LAB/last-response.json")"
}

main() {
  case ${1:-run} in
    -h | --help) ipo_usage "${BASH_SOURCE[0]}" ;;
    run) trap lab_down EXIT; lab_run ;;
    down) lab_down ;;
    *) ipo_die "unknown command '$1' (see --help)" ;;
  esac
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
