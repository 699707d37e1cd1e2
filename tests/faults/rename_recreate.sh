#!/usr/bin/env bash
# Fault test: a container renamed, and a container recreated with a new address. With the
# prober on every forbidden path:
#  1. `docker rename docker_a docker_x`: the policy no longer names it, so its address must
#     leave the published sets and host:8080 must close (WAN, v4/v6); renamed back, it is
#     published again and host:8080 answers docker_a.
#  2. `docker rm -f docker_a` + run docker_a again on ipo-shared with a fixed, different
#     address (.200 / ::200): the rules follow the new address (published sets hold it,
#     host:8080 answers docker_a); the old address is no longer published, and an
#     "intruder" started on the old address is never reached through host:8080.
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

NEW4=172.30.1.200
NEW6=fd00:ac1e:1::200

# published_has FAMILY ADDR: 0 if ADDR is in the agent's published-vFAMILY set. (The listing is
#   captured: nft writes each token separately, so `nft ... | grep -q` fails under pipefail
#   whenever grep exits before nft's last write: 74 of 300 times in a test here.)
published_has() {
  local set
  set=$(ip netns exec ipo-host nft -s list set inet ipo_netd "published-v$1") || return 1
  grep -qF "$2 " <<<"$set"
}

# wan_8080_is WANT: 0 if WAN -> host:8080 (v4 and v6) answers WANT.
wan_8080_is() {
  [[ $(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN4" 8080) == "$1" &&
    $(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN6" 8080) == "$1" ]]
}

# shared_ip NAME FAMILY: NAME's address on ipo-shared.
shared_ip() {
  local field=IPAddress
  [[ $2 == 6 ]] && field=GlobalIPv6Address
  ipo_lab_docker inspect -f "{{with index .NetworkSettings.Networks \"ipo-shared\"}}{{.$field}}{{end}}" "$1"
}

main() {
  fault_begin
  local old4 old6 t0
  old4=$(shared_ip docker_a 4)
  old6=$(shared_ip docker_a 6)
  ipo_info "docker_a on ipo-shared: $old4 $old6"
  lab_test_check "docker_a's $old4 published at start" published_has 4 "$old4"

  # 1. rename
  lab_test_mark
  t0=$SECONDS
  ipo_lab_docker rename docker_a docker_x
  lab_test_check "renamed: WAN -> host:8080 closed (v4, v6)" ipo_wait_for 20 wan_8080_is closed
  lab_test_check "renamed: $old4 left published-v4" ipo_wait_for 20 bash -c '! ip netns exec ipo-host nft -s list set inet ipo_netd published-v4 | grep -qF "$0 "' "$old4"
  lab_test_check "renamed: $old6 left published-v6" ipo_wait_for 20 bash -c '! ip netns exec ipo-host nft -s list set inet ipo_netd published-v6 | grep -qF "$0 "' "$old6"
  lab_test_converge "docker_a renamed to docker_x" 30
  ipo_info "rename followed in $((SECONDS - t0)) s"
  lab_test_mark
  ipo_lab_docker rename docker_x docker_a
  lab_test_converge "docker_x renamed back to docker_a" 30
  lab_test_check "renamed back: WAN -> host:8080 answers docker_a" ipo_wait_for 20 wan_8080_is docker_a

  # 2. recreate with a new address
  lab_test_mark
  t0=$SECONDS
  ipo_lab_docker rm -f docker_a >/dev/null
  ipo_lab_container_run docker_a 8080 docker_a --network ipo-shared --ip "$NEW4" --ip6 "$NEW6"
  lab_test_converge "docker_a recreated at $NEW4" 30
  ipo_info "recreate followed in $((SECONDS - t0)) s"
  lab_test_check "recreated: docker_a really has $NEW4" test "$(shared_ip docker_a 4)" == "$NEW4"
  lab_test_check "recreated: $NEW4 in published-v4" published_has 4 "$NEW4"
  lab_test_check "recreated: $NEW6 in published-v6" published_has 6 "$NEW6"
  lab_test_check "recreated: old $old4 not in published-v4" bash -c '! ip netns exec ipo-host nft -s list set inet ipo_netd published-v4 | grep -qF "$0 "' "$old4"
  lab_test_check "recreated: old $old6 not in published-v6" bash -c '! ip netns exec ipo-host nft -s list set inet ipo_netd published-v6 | grep -qF "$0 "' "$old6"
  lab_test_check "recreated: WAN -> host:8080 answers docker_a" ipo_wait_for 20 wan_8080_is docker_a
  # An intruder on the old address is never reached through the published port.
  ipo_lab_container_run intruder 8080 intruder --network ipo-shared --ip "$old4" --ip6 "$old6"
  lab_test_check "intruder answers on the old address inside ipo-host" ipo_wait_for 10 bash -c \
    '[[ $(ip netns exec ipo-host curl -s --noproxy "*" -m 1 "http://$0:8080/") == intruder ]]' "$old4"
  local i bad=0 body
  for ((i = 0; i < 10; i++)); do
    for body in "$(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN4" 8080)" "$(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN6" 8080)" \
      "$(ipo_lab_probe ipo-wan "$old4" 8080)" "$(ipo_lab_probe ipo-lan-deny "$old4" 8080)"; do
      [[ $body == intruder ]] && bad=$((bad + 1))
    done
  done
  lab_test_check "40 probes of host:8080 and the old address from WAN/lan-deny never reached the intruder ($bad did)" test "$bad" -eq 0
  ipo_lab_docker rm -f intruder >/dev/null
  lab_test_matrix "docker_a at its new address"
  fault_end
}

main "$@"
