#!/usr/bin/env bash
# Test: every container network is guarded from its first packet, including networks the
# policy does not know, created later by anyone. While a prober runs on every forbidden
# path, someone runs
#   docker network create --subnet 10.50.0.0/24 shop                   (bridge br-<id>)
#   docker network create --subnet 10.51.0.0/24 \
#     -o com.docker.network.bridge.name=custom0 custom                  (bridge custom0)
# and starts shop_web (:8000) on shop and custom_web (:8000) on custom. The clients have
# a default route via the server, so they can aim at the containers' addresses directly.
#   - from ipo-wan and ipo-lan-deny: shop_web and custom_web are closed;
#   - from ipo-lan-ok (the allowlist): both answer;
#   - shop_web <-> custom_web, docker_c -> shop_web, shop_web -> docker_a: closed (containers
#     of different networks never talk);
#   - the prober counts 0 successes ("forbidden N / attempts"); the matrix still holds.
# Fails on main before issue 12: only the policy's bridges and docker0 were guarded.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=

# extra_rows: the prober's rows for this test's containers (FROM|LABEL|HOST|PORT|EXPECTED),
#   at their current addresses (none until they exist).
extra_rows() {
  local name v4 v6 shop=none custom=none a=none
  while read -r name v4 v6; do
    [[ $v4 == - ]] && v4=none
    case $name in
      shop_web) shop=$v4 ;;
      custom_web) custom=$v4 ;;
      docker_a) a=$v4 ;;
    esac
  done < <(ipo_lab_container_addrs)
  cat <<EOF
ipo-wan|v4 shop-direct|$shop|8000|closed
ipo-lan-deny|v4 shop-direct|$shop|8000|closed
ipo-wan|v4 custom-direct|$custom|8000|closed
ipo-lan-deny|v4 custom-direct|$custom|8000|closed
shop_web|v4 custom|$custom|8000|closed
custom_web|v4 shop|$shop|8000|closed
docker_c|v4 shop|$shop|8000|closed
shop_web|v4 A|$a|8080|closed
EOF
}

# custom0_guarded: 0 when custom0 is an element of set bridges.
custom0_guarded() {
  local set
  set=$(ip netns exec ipo-host nft list set inet ipo_netd bridges)
  grep -q '"custom0"' <<<"$set"
}

# answers FROM HOST WANT: 0 when FROM -> http://HOST:8000/ answers WANT.
answers() {
  [[ $(ipo_lab_probe "$1" "$2" 8000) == "$3" ]]
}

# addr NAME: NAME's IPv4 address on its first network.
addr() {
  ipo_lab_docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'
}

main() {
  lab_test_begin
  trap lab_test_finish_prober EXIT
  # shellcheck disable=SC2034  # read by the prober (scripts/lib/ipo_lab_prober.sh)
  IPO_LAB_PROBER_EXTRA_ROWS=extra_rows
  lab_test_prober_begin docker-networks ipo-wan ipo-lan-deny shop_web custom_web docker_c
  # Networks and containers appear under the running prober: its resolver aims at the new
  # addresses within ~2 s, so the first seconds of each container's life are probed too.
  local t0=$SECONDS shop custom
  ipo_lab_docker network create --subnet 10.50.0.0/24 shop >/dev/null
  ipo_lab_docker network create --subnet 10.51.0.0/24 -o com.docker.network.bridge.name=custom0 custom >/dev/null
  ipo_lab_container_run shop_web 8000 shop_web --network shop
  ipo_lab_container_run custom_web 8000 custom_web --network custom
  ipo_info "two networks and their containers created in $((SECONDS - t0)) s"
  shop=$(addr shop_web)
  custom=$(addr custom_web)
  ipo_info "shop_web $shop (bridge br-*), custom_web $custom (bridge custom0)"
  # Let the prober hammer the live containers for a while.
  sleep 20
  lab_test_check "lan-ok reaches shop_web through the server" ipo_wait_for 10 answers ipo-lan-ok "$shop" shop_web
  lab_test_check "lan-ok reaches custom_web through the server" ipo_wait_for 10 answers ipo-lan-ok "$custom" custom_web
  lab_test_check "WAN -> shop_web closed" answers ipo-wan "$shop" closed
  lab_test_check "lan-deny -> custom_web closed" answers ipo-lan-deny "$custom" closed
  lab_test_check "custom0 is an element of set bridges" custom0_guarded
  lab_test_prober_verdict "while networks nobody told the agent about were created and used" 200
  lab_test_matrix "after the networks were created"
  ipo_lab_docker rm -f shop_web custom_web >/dev/null
  ipo_lab_docker network rm shop custom >/dev/null
}

main "$@"
