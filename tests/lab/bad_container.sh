#!/usr/bin/env bash
# Test: one container Docker refuses to place never stalls the host. docker_a is recreated
# with `--network container:lab_x` (it shares another container's network stack, so Docker
# refuses to connect it to ipo-shared). Before the fix, Reconciler::Sync returned at that
# refusal and nothing else was applied for the whole host. Now:
#   - status shows health "degraded" with the reason naming docker_a, and docker_a is not
#     published (WAN -> host:8080 closed);
#   - docker_b and docker_c stay published; docker_c stopped -> host:80 closes, started again
#     -> it answers again (removals and publications still apply);
#   - a prober on every forbidden path from ipo-wan and ipo-lan-deny counts 0 successes;
#   - docker_a recreated plainly: health ok and the whole matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=

# wan_answer PORT WANT: 0 when ipo-wan -> the host's WAN address:PORT answers WANT ("closed"
#   or a container's name), over IPv4.
wan_answer() {
  [[ $(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN4" "$1") == "$2" ]]
}

# lan_ok_answer PORT WANT: the same from ipo-lan-ok to the host's LAN address.
lan_ok_answer() {
  [[ $(ipo_lab_probe ipo-lan-ok "$IPO_LAB_HOST_LAN4" "$1") == "$2" ]]
}

# problem_shown: 0 when the agent's status is degraded for docker_a's placement.
problem_shown() {
  local st
  st=$(ipo_lab_netctl status --json 2>/dev/null) || true  # exits 3 while degraded
  jq -e '.health == "degraded" and (.health_reason | test("container docker_a cannot be connected to ipo-shared"))' \
    <<<"$st" >/dev/null
}

main() {
  lab_test_begin
  trap lab_test_finish_prober EXIT
  lab_test_prober_begin bad-container

  ipo_lab_docker rm -f docker_a >/dev/null
  ipo_lab_docker run -d --name lab_x "$IPO_DOCKER_IMAGE" sleep 100000 >/dev/null
  ipo_lab_container_run docker_a 8080 docker_a --network container:lab_x
  lab_test_check "status shows docker_a's placement as the problem (degraded)" ipo_wait_for 30 problem_shown
  { ipo_lab_netctl status --json || true; } | jq -c '{health, health_reason}'
  lab_test_check "docker_a (not placed) is not published: WAN -> host:8080 closed" wan_answer 8080 closed
  lab_test_check "docker_c still published: WAN -> host:80 answers docker_c" ipo_wait_for 15 wan_answer 80 docker_c

  ipo_lab_docker stop -t 1 docker_c >/dev/null
  lab_test_check "docker_c stopped: its publication is removed (WAN -> host:80 closed)" ipo_wait_for 15 wan_answer 80 closed
  ipo_lab_docker start docker_c >/dev/null
  lab_test_check "docker_c started again: published again (WAN -> host:80 answers docker_c)" \
    ipo_wait_for 30 wan_answer 80 docker_c
  lab_test_check "docker_b still reachable from lan-ok" ipo_wait_for 15 lan_ok_answer 3316 docker_b

  lab_test_mark
  ipo_lab_docker rm -f docker_a lab_x >/dev/null
  ipo_lab_container_run docker_a 8080 docker_a
  lab_test_converge "docker_a recreated plainly" 60
  lab_test_prober_verdict "while docker_a could not be placed" 50
  lab_test_matrix "after docker_a was placed again"
}

main "$@"
