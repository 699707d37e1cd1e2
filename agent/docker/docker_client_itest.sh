#!/usr/bin/env bash
# Usage: docker_client_itest.sh ITEST_BINARY [CATCH_ARGS...]
#
# Runs docker_client_itest (Catch2) against a real dockerd (Debian docker.io, API 1.41)
# started in its own network namespace ipo-dkt, with its data under a temporary directory.
# The binary runs inside that namespace. Phases:
#   1. every test but [kill];
#   2. [kill] with SIGKILL, then with SIGTERM against a second, fresh dockerd.
# Everything it made (dockerd, containerd, shims, mounts, the namespace, files) is removed on
# exit. Needs root.
set -Eeuo pipefail

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib/ipo_common.sh
source "$IPO_SRC/scripts/lib/ipo_common.sh"
# shellcheck source=scripts/lib/ipo_dockerd.sh
source "$IPO_SRC/scripts/lib/ipo_dockerd.sh"

DKT_NETNS=ipo-dkt
DKT_DIR=""

# dkt_cleanup: remove containers, stop dockerd, delete the directory and the namespace.
dkt_cleanup() {
  if [[ -z $DKT_DIR ]]; then
    ip netns del "$DKT_NETNS" 2>/dev/null || true
    return 0
  fi
  if [[ -S $DKT_DIR/docker.sock ]] && curl -sf --max-time 2 --unix-socket "$DKT_DIR/docker.sock" \
    http://docker/_ping >/dev/null 2>&1; then
    local ids
    ids=$(ipo_docker "$DKT_DIR" ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086 # one id per word
    [[ -z $ids ]] || ipo_docker "$DKT_DIR" rm -f $ids >/dev/null 2>&1 || true
  fi
  dkt_cleanup_dir
  ip netns del "$DKT_NETNS" 2>/dev/null || true
}

# dkt_cleanup_dir: stop the dockerd of $DKT_DIR and remove the directory.
dkt_cleanup_dir() {
  ipo_dockerd_stop "$DKT_DIR"
  rm -rf "$DKT_DIR"
  DKT_DIR=""
}

# dkt_run BINARY ENV_ASSIGNMENTS... -- CATCH_ARGS...: the itest inside the namespace.
dkt_run() {
  local bin=$1
  shift
  local -a envs=()
  while [[ $1 != -- ]]; do
    envs+=("$1")
    shift
  done
  shift
  nsenter --net="/run/netns/$DKT_NETNS" -- env \
    IPO_DOCKER_HOST="unix://$DKT_DIR/docker.sock" IPO_DOCKER_IMAGE="$IPO_DOCKER_IMAGE" \
    "${envs[@]}" "$bin" "$@"
}

# dkt_start: start dockerd in the namespace and import the busybox image.
dkt_start() {
  ipo_dockerd_start "$DKT_NETNS" "$DKT_DIR"
  ipo_docker_image "$DKT_DIR"
}

main() {
  if [[ ${1:-} == -h || ${1:-} == --help || $# -lt 1 ]]; then
    ipo_usage "${BASH_SOURCE[0]}"
    [[ $# -ge 1 ]] && return 0
    return 2
  fi
  local bin=$1
  shift
  [[ -x $bin ]] || ipo_die "itest binary not found or not executable: $bin"
  ipo_require_root
  ipo_require_cmd nsenter ip curl /usr/sbin/dockerd /usr/bin/docker

  if ip netns list | grep -qw "$DKT_NETNS"; then
    ipo_die "network namespace $DKT_NETNS exists already (another run, or a leftover: ip netns del $DKT_NETNS)"
  fi
  DKT_DIR=$(mktemp -d /tmp/ipo-dkt.XXXXXX)
  trap dkt_cleanup EXIT
  trap 'exit 130' INT TERM
  ip netns add "$DKT_NETNS"
  ip -n "$DKT_NETNS" link set lo up
  # IPv6 is off in new namespaces on some hosts; the test network has a v6 subnet.
  ip netns exec "$DKT_NETNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
    net.ipv6.conf.default.disable_ipv6=0

  ipo_info "phase 1: API tests against dockerd in $DKT_NETNS"
  dkt_start
  dkt_run "$bin" -- "~[kill]" "$@"

  local sig
  for sig in KILL TERM; do
    ipo_info "phase 2: dockerd killed with SIG$sig while streaming"
    local ids
    ids=$(ipo_docker "$DKT_DIR" ps -aq)
    # shellcheck disable=SC2086 # one id per word
    [[ -z $ids ]] || ipo_docker "$DKT_DIR" rm -f $ids >/dev/null
    dkt_run "$bin" IPO_DOCKERD_PID="$(<"$DKT_DIR/dockerd.pid")" IPO_KILL_SIGNAL="$sig" -- "[kill]" "$@"
    [[ $sig == KILL ]] || continue
    # A fresh directory: right after SIGKILL, dockerd may still see its old containerd's
    # pid file and wait for that containerd instead of starting one.
    dkt_cleanup_dir
    DKT_DIR=$(mktemp -d /tmp/ipo-dkt.XXXXXX)
    dkt_start
  done
  ipo_info "all phases passed"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
