#!/usr/bin/env bash
# Test: no hijack window on address reuse. docker_a stops; a container the policy does not
# name ("intruder") takes docker_a's old addresses on ipo-shared and serves "intruder" on
# 8080. While probers hammer the host's published port 8080 from WAN and LAN (IPv4 and IPv6)
# the whole time, no answer may ever say "intruder" (the intruder is proven live at that
# address from inside the server, so the check is not vacuous). Then docker_a starts again
# beside the intruder, and the matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
PROBERS=()

# answers_from_host ADDR BODY: 0 if http://ADDR:8080/ answers BODY when asked from ipo-host.
answers_from_host() {
  local url="http://$1:8080/"
  [[ $1 == *:* ]] && url="http://[$1]:8080/"
  [[ $(ip netns exec ipo-host curl -s --noproxy '*' -m 1 "$url") == "$2" ]]
}

# start_probers: background loops probing host:8080 from WAN and LAN every ~50 ms.
start_probers() {
  PROBE_DIR=$(mktemp -d)
  touch "$PROBE_DIR/run"
  local spec from host i=0
  for spec in "ipo-wan $IPO_LAB_HOST_WAN4" "ipo-wan $IPO_LAB_HOST_WAN4" "ipo-wan $IPO_LAB_HOST_WAN6" \
    "ipo-lan-ok $IPO_LAB_HOST_LAN4" "ipo-lan-ok $IPO_LAB_HOST_LAN6"; do
    read -r from host <<<"$spec"
    (
      while [[ -e $PROBE_DIR/run ]]; do
        printf '%s %s %s\n' "$from" "$host" \
          "$(IPO_LAB_CONNECT_TIMEOUT=0.5 IPO_LAB_PROBE_TIMEOUT=1 ipo_lab_probe "$from" "$host" 8080)"
        sleep 0.05
      done
    ) >"$PROBE_DIR/log.$i" 2>/dev/null &
    PROBERS+=($!)
    i=$((i + 1))
  done
}

# stop_probers: stop the loops (by pid) and print how many probes saw what.
stop_probers() {
  rm -f "$PROBE_DIR/run"
  local pid
  for pid in "${PROBERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PROBERS=()
  cat "$PROBE_DIR"/log.* | awk '{print $1, $2, $3}' | sort | uniq -c
}

main() {
  lab_test_begin
  lab_test_matrix "initial"
  local a4 a6
  a4=$(ipo_lab_docker inspect -f '{{with index .NetworkSettings.Networks "ipo-shared"}}{{.IPAddress}}{{end}}' docker_a)
  a6=$(ipo_lab_docker inspect -f '{{with index .NetworkSettings.Networks "ipo-shared"}}{{.GlobalIPv6Address}}{{end}}' docker_a)
  [[ -n $a4 ]] || ipo_die "docker_a has no address on ipo-shared"
  ipo_info "docker_a on ipo-shared: $a4 ${a6:-(no IPv6)}"

  start_probers
  lab_test_mark
  ipo_lab_docker stop -t 2 docker_a >/dev/null
  local ip6_flag=()
  [[ -n $a6 ]] && ip6_flag=(--ip6 "$a6")
  ipo_lab_container_run intruder 8080 intruder --network ipo-shared --ip "$a4" "${ip6_flag[@]}"
  # The intruder really holds the old address and answers there (seen from the server).
  lab_test_check "intruder answers at docker_a's old IPv4 $a4 from inside ipo-host" \
    ipo_wait_for 10 answers_from_host "$a4" intruder
  if [[ -n $a6 ]]; then
    lab_test_check "intruder answers at docker_a's old IPv6 $a6 from inside ipo-host" \
      ipo_wait_for 10 answers_from_host "$a6" intruder
  fi
  sleep 5
  lab_test_converge "docker_a stopped, intruder on its address"
  sleep 2
  lab_test_mark
  ipo_lab_docker start docker_a >/dev/null
  lab_test_converge "docker_a started again beside the intruder"
  sleep 2
  local counts
  counts=$(stop_probers)
  printf 'probes of host:8080 during the sequence (count, from, to, answer):\n%s\n' "$counts"
  lab_test_check "host:8080 never answered 'intruder'" bash -c '! grep -q " intruder$" <<<"$0"' "$counts"
  lab_test_check "host:8080 answered 'docker_a' again at the end" bash -c 'grep -q " docker_a$" <<<"$0"' "$counts"
  rm -rf "$PROBE_DIR"
  lab_test_matrix "docker_a back, intruder still on its old address" \
    "ipo-wan|v4 host-wan|$IPO_LAB_HOST_WAN4|8080|docker_a"
  lab_test_mark
  ipo_lab_docker rm -f intruder >/dev/null
  lab_test_converge "intruder removed"
  lab_test_matrix "intruder removed"
}

main "$@"
