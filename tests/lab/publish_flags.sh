#!/usr/bin/env bash
# Test: the policy holds whatever flags the containers ran with. docker_a is recreated with
# `-p 8080:8080` and docker_b with `-p 3316:3316 -p 9999:3316`: docker-proxy now binds host
# ports, which Docker's userland proxy (ipo-netd-proxy) only reserves: nothing listens. The
# matrix holds, and the extra host port 9999, published by the agent itself (DNAT for the LAN
# allowlist), is closed from WAN and lan-deny and open from lan-ok, over IPv4 and IPv6.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

main() {
  lab_test_begin
  lab_test_mark
  ipo_lab_docker rm -f docker_a docker_b >/dev/null
  ipo_lab_container_run docker_a 8080 docker_a -p 8080:8080
  ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 -p 9999:3316
  lab_test_converge "docker_a/docker_b recreated with -p"
  lab_test_check "ipo-netd-proxy reserves the published ports (Docker's userland proxy)" \
    bash -c 'ps -eo args | grep -q "[i]po-netd-proxy.*-host-port 9999"'
  lab_test_check "nothing listens on the published host port 9999 (a reservation only)" \
    test -z "$(ip netns exec ipo-host ss -Hltn 'sport = :9999')"
  local extra=() fam hw hl
  for fam in 4 6; do
    if [[ $fam == 4 ]]; then hw=$IPO_LAB_HOST_WAN4 hl=$IPO_LAB_HOST_LAN4; else hw=$IPO_LAB_HOST_WAN6 hl=$IPO_LAB_HOST_LAN6; fi
    extra+=("ipo-wan|v$fam host-wan|$hw|9999|closed"
      "ipo-lan-ok|v$fam host-lan|$hl|9999|docker_b"
      "ipo-lan-deny|v$fam host-lan|$hl|9999|closed")
  done
  lab_test_matrix "docker_a -p 8080, docker_b -p 3316 -p 9999:3316" "${extra[@]}"
}

main "$@"
