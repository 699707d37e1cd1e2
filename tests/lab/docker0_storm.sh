#!/usr/bin/env bash
# Test: no docker0 window. A plainly started container sits on Docker's default bridge until
# the agent moves it (0.3-1 s, seconds under load); plain containers the policy does not
# name stay there. Containers on docker0 talk on layer 2 (frames switched between bridge
# ports never pass the inet forward hook), so the agent's bridge table drops IPv4 frames
# between docker0 ports, and routed paths into and out of docker0 are guarded by the
# inet table. With two long-lived plain containers plain_x and plain_y on docker0 and a
# prober on every forbidden path, a creation storm runs: 3 rounds of recreating docker_a,
# docker_b and docker_c plainly (the agent moves them) together with 8 plain storm_N
# containers. Forbidden (all counted by the prober, "forbidden N / attempts"):
#   - a docker0 container reaching another container: plain_x <-> plain_y, plain_x ->
#     storm_1, plain_x/plain_y -> docker_a/b/c (wherever they are), storm_3 -> plain_x;
#   - a container reaching a docker0 container: docker_a -> plain_x, docker_c -> plain_y;
#   - ipo-wan and ipo-lan-deny reaching a docker0 container (plain_x, plain_y, storm_2),
#     and every forbidden path of the matrix from ipo-wan and ipo-lan-deny.
# Then lan-ok still reaches plain_x (the allowlist reaches every container) and the matrix
# holds. Fails on main before issue 12: plain_x reached plain_y on layer 2.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
STORM_PLAIN=8
STORM_ROUNDS=3

# extra_rows: the prober's rows for this test's containers, at their current addresses.
extra_rows() {
  local name v4 v6 x=none y=none s1=none s2=none a=none b=none c=none
  while read -r name v4 v6; do
    [[ $v4 == - ]] && v4=none
    case $name in
      plain_x) x=$v4 ;;
      plain_y) y=$v4 ;;
      storm_1) s1=$v4 ;;
      storm_2) s2=$v4 ;;
      docker_a) a=$v4 ;;
      docker_b) b=$v4 ;;
      docker_c) c=$v4 ;;
    esac
  done < <(ipo_lab_container_addrs)
  printf '%s\n' \
    "plain_x|v4 plain_y|$y|8000|closed" \
    "plain_y|v4 plain_x|$x|8000|closed" \
    "plain_x|v4 storm_1|$s1|8000|closed" \
    "storm_3|v4 plain_x|$x|8000|closed" \
    "plain_x|v4 A|$a|8080|closed" \
    "plain_y|v4 B|$b|3316|closed" \
    "plain_x|v4 C|$c|80|closed" \
    "docker_a|v4 plain_x|$x|8000|closed" \
    "docker_c|v4 plain_y|$y|8000|closed" \
    "ipo-wan|v4 plain_x|$x|8000|closed" \
    "ipo-lan-deny|v4 plain_y|$y|8000|closed" \
    "ipo-wan|v4 storm_2|$s2|8000|closed"
}

# storm_round N: recreate docker_a/b/c plainly and start the plain storm containers, all at
#   once; returns when every `docker run` has returned.
storm_round() {
  local n=$1 name i pids=()
  ipo_lab_docker rm -f docker_a docker_b docker_c >/dev/null
  for ((i = 1; i <= STORM_PLAIN; i++)); do
    ipo_lab_docker rm -f "storm_$i" >/dev/null 2>&1 || true
  done
  for name in docker_a docker_b docker_c; do
    ipo_lab_container_run "$name" "${IPO_LAB_PORTS[$name]}" "$name" &
    pids+=($!)
  done
  for ((i = 1; i <= STORM_PLAIN; i++)); do
    ipo_lab_container_run "storm_$i" 8000 "storm_$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || lab_test_fail "a docker run of round $n failed"; done
}

# bridge_drops_counted: 0 when the docker0 rule of table bridge ipo_netd counted packets.
bridge_drops_counted() {
  local table
  table=$(ip netns exec ipo-host nft list table bridge ipo_netd)
  grep -Eq "counter packets [1-9]" <<<"$table"
}

# answers FROM HOST PORT WANT: 0 when FROM -> http://HOST:PORT/ answers WANT.
answers() {
  [[ $(ipo_lab_probe "$1" "$2" "$3") == "$4" ]]
}

main() {
  lab_test_begin
  trap lab_test_finish_prober EXIT
  ipo_lab_container_run plain_x 8000 plain_x
  ipo_lab_container_run plain_y 8000 plain_y
  # shellcheck disable=SC2034  # read by the prober (scripts/lib/ipo_lab_prober.sh)
  IPO_LAB_PROBER_EXTRA_ROWS=extra_rows
  lab_test_prober_begin docker0-storm ipo-wan ipo-lan-deny plain_x plain_y storm_3 docker_a docker_c
  sleep 4 # every path probed before the storm
  local round t0
  for ((round = 1; round <= STORM_ROUNDS; round++)); do
    t0=$SECONDS
    lab_test_mark
    storm_round "$round"
    ipo_info "storm round $round: $((3 + STORM_PLAIN)) containers started in $((SECONDS - t0)) s"
    lab_test_converge "storm round $round" 60
    sleep 3
  done
  lab_test_prober_verdict "during the creation storm" 300
  local x i
  x=$(ipo_lab_docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' plain_x)
  lab_test_check "lan-ok reaches plain_x on docker0 (the allowlist)" answers ipo-lan-ok "$x" 8000 plain_x
  lab_test_check "the bridge table counted dropped docker0 frames" bridge_drops_counted
  lab_test_matrix "after the storm"
  for ((i = 1; i <= STORM_PLAIN; i++)); do ipo_lab_docker rm -f "storm_$i" >/dev/null; done
  ipo_lab_docker rm -f plain_x plain_y >/dev/null
}

main "$@"
