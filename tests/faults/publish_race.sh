#!/usr/bin/env bash
# Fault test: a container published with `docker run -p` (docker-proxy binds the host port the
# moment the container starts, before the agent has processed its events). docker_b (LAN
# only in the policy) is removed and recreated with -p 3316:3316 PUBLISH_ROUNDS times (default
# 5) while the prober hammers every forbidden path, among them WAN -> host:3316 and
# lan-deny -> host:3316 (IPv4/IPv6). Asserts 0 forbidden successes (a TCP connection to
# docker-proxy counts, even if the backend does not answer yet), and the matrix afterwards.
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

ROUNDS=${PUBLISH_ROUNDS:-5}

main() {
  fault_begin
  local i t_ms n
  for ((i = 1; i <= ROUNDS; i++)); do
    t_ms=$(date +%s%3N)
    lab_test_mark
    ipo_lab_docker rm -f docker_b >/dev/null
    ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 --restart always
    lab_test_converge "round $i: docker_b recreated with -p 3316:3316" 60
    sleep 1
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
