#!/usr/bin/env bash
# Fault test: a container published with `docker run -p`. docker_b (LAN only in the policy)
# is removed and recreated with -p 3316:3316 while the prober hammers every forbidden path,
# among them WAN -> host:3316 and lan-deny -> host:3316 (IPv4/IPv6); a completed TCP
# handshake counts as a success, even if nothing answers after it.
#
# Docker's userland proxy is ipo-netd-proxy (daemon.json "userland-proxy-path"): it reserves
# the host port and never listens, and only the agent publishes (for docker_b: the policy's
# LAN-only publication). So the first recreation, a port the agent has never seen, is
# asserted like every later one (PUBLISH_ROUNDS, default 5): 0 forbidden successes. Before
# issue 12 Docker's docker-proxy listened at `docker run`, an event before the agent's guard,
# and the first publication let 0-8 forbidden connections through (docs/faults.md).
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

ROUNDS=${PUBLISH_ROUNDS:-5}

# recreate_b LABEL: remove docker_b and run it again with -p 3316:3316; wait for the agent.
recreate_b() {
  lab_test_mark
  ipo_lab_docker rm -f docker_b >/dev/null
  ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 --restart always
  lab_test_converge "$1: docker_b recreated with -p 3316:3316" 60
  sleep 1
}

main() {
  fault_begin
  local i t_ms n
  t_ms=$(date +%s%3N)
  FAULT_SINCE_MS=$t_ms  # fault_end asserts 0 from here on: the first publication included
  recreate_b "first publication"
  n=$(ipo_lab_prober_since "$FAULT_FORBIDDEN" "$t_ms")
  printf 'first publication of host port 3316 (never seen by the agent): %d forbidden successes\n' "$n"
  for ((i = 1; i <= ROUNDS; i++)); do
    t_ms=$(date +%s%3N)
    recreate_b "round $i"
    n=$(ipo_lab_prober_since "$FAULT_FORBIDDEN" "$t_ms")
    printf 'round %d: forbidden successes while docker_b was recreated with -p: %d\n' "$i" "$n"
  done
  local extra=() fam hw hl
  for fam in 4 6; do
    if [[ $fam == 4 ]]; then hw=$IPO_LAB_HOST_WAN4 hl=$IPO_LAB_HOST_LAN4; else hw=$IPO_LAB_HOST_WAN6 hl=$IPO_LAB_HOST_LAN6; fi
    extra+=("ipo-wan|v$fam host-wan proxy|$hw|3316|closed" "ipo-lan-deny|v$fam host-lan proxy|$hl|3316|closed")
  done
  lab_test_matrix "docker_b published with -p" "${extra[@]}"
  fault_end
}

main "$@"
