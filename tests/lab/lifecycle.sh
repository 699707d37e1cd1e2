#!/usr/bin/env bash
# Test: the lab itself, without the agent. `scripts/lab` rejects bad commands; `up --no-agent`
# builds the namespaces, dockerd, containers and host service and is idempotent; the host
# service answers every client; each container serves its name; the matrix, run with no
# policy in force, reports the violations a plain Docker host has (so it can fail); `down`
# removes everything, twice in a row, and the root namespace's ruleset is unchanged.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

# expect_row_fail MATRIX_OUTPUT FROM TO_PREFIX GOT: the matrix has a FAIL row FROM/TO with GOT.
expect_row_fail() {
  local out=$1 from=$2 to=$3 got=$4
  awk -v f="$from" -v t="$to" -v g="$got" '$1 == f && index($0, t) && $(NF-1) == g && $NF == "FAIL" {found=1} END {exit !found}' <<<"$out"
}

# probe_is FROM HOST PORT WANT: 0 if probing HOST:PORT from FROM answers WANT.
probe_is() {
  [[ $(ipo_lab_probe "$1" "$2" "$3") == "$4" ]]
}

main() {
  lab_test_check "lab --help prints usage" bash -c '"$0" --help | grep -q "^Usage: scripts/lab"' "$IPO_LAB_CMD"
  lab_test_check "lab rejects an unknown command" bash -c '! "$0" frobnicate 2>/dev/null' "$IPO_LAB_CMD"
  lab_test_check "lab status fails while down" bash -c '! "$0" status 2>/dev/null' "$IPO_LAB_CMD"
  lab_test_begin --no-agent
  lab_test_check "second 'up' says already up" bash -c '"$0" up --no-agent 2>&1 | grep -q "already up"' "$IPO_LAB_CMD"
  lab_test_check "namespaces exist" bash -c 'for n in ipo-host ipo-wan ipo-lan-ok ipo-lan-deny; do [[ -e /run/netns/$n ]] || exit 1; done'
  lab_test_check "docker API at $IPO_LAB_DOCKER_SOCK" curl -sf -o /dev/null --unix-socket "$IPO_LAB_DOCKER_SOCK" http://docker/_ping
  lab_test_check "ip_forward on in ipo-host" bash -c '[[ $(ip netns exec ipo-host sysctl -n net.ipv4.ip_forward) == 1 ]]'
  lab_test_check "IPv6 forwarding on in ipo-host" bash -c '[[ $(ip netns exec ipo-host sysctl -n net.ipv6.conf.all.forwarding) == 1 ]]'
  local name from host
  for name in docker_a docker_b docker_c; do
    lab_test_check "$name serves its name on :${IPO_LAB_PORTS[$name]}" \
      probe_is "$name" 127.0.0.1 "${IPO_LAB_PORTS[$name]}" "$name"
  done
  for from in ipo-wan ipo-lan-ok ipo-lan-deny; do
    for host in "$IPO_LAB_HOST_WAN4" "$IPO_LAB_HOST_LAN4" "$IPO_LAB_HOST_WAN6" "$IPO_LAB_HOST_LAN6"; do
      lab_test_check "$from reaches the host service at $host:22" \
        probe_is "$from" "$host" 22 ipo-host
    done
  done
  # Without the agent the containers sit on docker0 with nothing enforced: the matrix must
  # catch it (C reaches A, WAN reaches B's address directly, nobody is on a policy network).
  local out rc=0
  out=$(ipo_lab_matrix) || rc=$?
  printf '%s\n' "$out"
  lab_test_check "matrix fails without the agent" test "$rc" -ne 0
  lab_test_check "matrix catches C->A" expect_row_fail "$out" docker_c "v4 A " docker_a
  lab_test_check "matrix catches WAN->B direct" expect_row_fail "$out" wan "v4 B-direct" docker_b
  lab_test_check "matrix catches placement" expect_row_fail "$out" docker_a "(its docker networks)" bridge
  lab_test_down_and_verify
  lab_test_check "second 'down' succeeds" "$IPO_LAB_CMD" down
}

main "$@"
