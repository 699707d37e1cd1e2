#!/usr/bin/env bash
# Test: a policy network that already exists as something else is refused, not used. Before
# the agent starts, someone ran `docker network create --subnet 10.99.0.0/24 ipo-shared`
# (bridge br-<id>, another subnet; the policy says bridge ipo-shared, 172.30.1.0/24). The
# rules guard the policy's bridge name and subnet, so using that network would leave its
# containers behind rules written for another interface. Then, with a prober on every
# forbidden path from ipo-wan and ipo-lan-deny:
#   - `ipo-netctl status` is degraded and says why (network, bridge and subnet named);
#   - nothing is connected to the impostor ipo-shared; docker_a and docker_b are not
#     published (WAN -> host:8080 closed, lan-ok -> host:3316 closed);
#   - the rest of the policy applies: docker_c is placed and published (WAN -> host:80);
#   - the prober counts 0 successes;
#   - the operator removes the impostor: the agent creates the policy's network, places
#     docker_a and docker_b, and the whole matrix holds.
# Fails on main before issue 12: the problem was reported and the network used anyway.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=

# refusal_shown: 0 when status is degraded and names the refusal with bridge and subnet.
refusal_shown() {
  local st
  st=$(ipo_lab_netctl status --json 2>/dev/null) || true  # exits non-zero while degraded
  jq -e '.health == "degraded" and
         (.agent.problems // [] | any(test("^network ipo-shared is refused: it exists with bridge br-[0-9a-f]+, the policy says ipo-shared; subnet 10.99.0.0/24, the policy says 172.30.1.0/24")))' \
    <<<"$st" >/dev/null
}

# impostor_empty: 0 when no container is connected to the network named ipo-shared.
impostor_empty() {
  [[ $(ipo_lab_docker network inspect -f '{{len .Containers}}' ipo-shared) == 0 ]]
}

# answers FROM HOST PORT WANT: 0 when FROM -> http://HOST:PORT/ answers WANT.
answers() {
  [[ $(ipo_lab_probe "$1" "$2" "$3") == "$4" ]]
}

main() {
  lab_test_begin --no-agent
  trap lab_test_finish_prober EXIT
  ipo_lab_docker network create --subnet 10.99.0.0/24 ipo-shared >/dev/null
  ipo_info "impostor: $(ipo_lab_docker network inspect -f '{{.Id}} {{range .IPAM.Config}}{{.Subnet}}{{end}}' ipo-shared)"
  ipo_lab_agent_start
  rm -f "$IPO_LAB_RUN/no-agent"
  lab_test_check "status says why ipo-shared is refused" ipo_wait_for 30 refusal_shown
  { ipo_lab_netctl status --json || true; } | jq -c '{health, problems: .agent.problems}'
  lab_test_check "docker_c is published (WAN -> host:80 answers docker_c)" \
    ipo_wait_for 30 answers ipo-wan "$IPO_LAB_HOST_WAN4" 80 docker_c
  lab_test_prober_begin network-refused
  local i
  for i in 1 2 3 4 5 6; do
    # Docker events for the refused network's containers come and go meanwhile.
    ipo_lab_docker restart -t 1 docker_a >/dev/null
    sleep 3
    lab_test_check "nothing is connected to the impostor ipo-shared (round $i)" impostor_empty
  done
  lab_test_check "docker_a is not published (WAN -> host:8080 closed)" answers ipo-wan "$IPO_LAB_HOST_WAN4" 8080 closed
  lab_test_check "docker_b is not published (lan-ok -> host:3316 closed)" \
    answers ipo-lan-ok "$IPO_LAB_HOST_LAN4" 3316 closed
  lab_test_check "status still says why" refusal_shown
  lab_test_prober_verdict "while ipo-shared was refused" 100

  lab_test_mark
  ipo_lab_docker network rm ipo-shared >/dev/null
  lab_test_converge "the impostor ipo-shared removed" 60
  lab_test_matrix "after the operator removed the impostor"
}

main "$@"
