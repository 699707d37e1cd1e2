#!/usr/bin/env bash
# Test: a boot with a policy that cannot be used is fail-closed, including the host ports that
# docker-proxy binds for containers. docker_b is recreated with `-p 3316:3316 --restart always`.
# Then the server loses power three times and boots each time with a different broken policy,
# in the order of the systemd units (restore, dockerd, ipo-netd), and with the agent's saved
# state removed (lost, or older than the container), so only Docker's own files know port 3316:
#   long   a network name of 100,000 characters (std::regex overflowed the stack: exit 139)
#   deep   150,000 nested brackets (quadratic path index: minutes)
#   text   not JSON at all
# Each time: the restore refuses the policy within 1 s and loads the fail-closed baseline
# with docker-proxy's port 3316 (read from Docker's data root) guarded on input; dockerd brings
# docker_a/b/c back and docker-proxy listens on 3316; ipo-netd refuses the policy (exit 2).
# A prober on every forbidden path from ipo-wan and ipo-lan-deny (IPv4 and IPv6) runs through
# all of it and must count 0 successes; the operator's own service (host:22) stays reachable.
# Finally a boot with the good policy again: the agent converges and the matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
POLICY_DIR=
# The lab reads its policy from a copy: the broken ones are written over it.
lab_test_policy_copy bad

finish() {
  local rc=$?
  rm -rf "$POLICY_DIR"
  (exit "$rc")
  lab_test_finish_prober
}

# write_policy KIND: write the broken policy KIND (long, deep, text) over the lab's policy.
write_policy() {
  case $1 in
    long) jq --arg n "$(printf 'a%.0s' {1..100000})" '.networks[0].name = $n' "$IPO_SRC/rules/policy.json" >"$IPO_LAB_POLICY" ;;
    deep)
      {
        printf '{"version": 1, "lan": '
        head -c 150000 /dev/zero | tr '\0' '['
        head -c 150000 /dev/zero | tr '\0' ']'
        printf '}\n'
      } >"$IPO_LAB_POLICY"
      ;;
    text) printf 'networks: [ipo-shared]\n' >"$IPO_LAB_POLICY" ;;
    good) cp "$IPO_SRC/rules/policy.json" "$IPO_LAB_POLICY" ;;
  esac
}

# proxy_holds PORT: 0 when Docker's userland proxy (ipo-netd-proxy: a reservation that never
#   listens) holds TCP PORT for a container.
proxy_holds() {
  pgrep -f -- "ipo-netd-proxy -proto tcp .*-host-port $1 " >/dev/null
}

# agent_exited: 0 when the agent started by ipo_lab_agent_start is gone.
agent_exited() {
  ! ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
}

# boot_with KIND: one power loss and a boot with the policy KIND.
boot_with() {
  local kind=$1 t0 t1 out rc=0 result
  ipo_lab_host_power_off
  write_policy "$kind"
  # No saved state knows docker_b's -p port: only Docker's data root does.
  [[ $kind == good ]] || rm -f "$IPO_LAB_NETD_STATE/state.json"
  ipo_lab_host_power_on_net
  t0=$(date +%s%3N)
  out=$(ipo_lab_restore 2>&1) || rc=$?
  t1=$(date +%s%3N)
  printf '%s\n' "$out" | tail -n 2 | cut -c1-300 >&2
  result=$(jq -r .result "$IPO_LAB_NETD_RUN/boot-restore.json" 2>/dev/null || echo none)
  ipo_lab_hostsvc_start
  ipo_lab_dockerd_start
  if [[ $kind == good ]]; then
    lab_test_check "boot ($kind): restore exited 0 with a usable policy (result $result)" test "$rc" -eq 0
    ipo_lab_agent_start
    lab_test_check "boot ($kind): agent converged" ipo_lab_wait_converged 60
    return 0
  fi
  lab_test_check "boot ($kind): restore exited 0 (rc $rc)" test "$rc" -eq 0
  lab_test_check "boot ($kind): restore result fail-closed (got $result)" test "$result" == fail-closed
  lab_test_check "boot ($kind): the policy was refused within 1 s (restore took $((t1 - t0)) ms)" \
    test $((t1 - t0)) -lt 1000
  lab_test_check "boot ($kind): port 3316 from Docker's files is in the boot record" \
    jq -e '.docker_ports | index("tcp/3316") != null' "$IPO_LAB_NETD_RUN/boot-restore.json"
  lab_test_check "boot ($kind): the userland proxy holds 3316 again (docker_b --restart always)" \
    ipo_wait_for 30 proxy_holds 3316
  ipo_lab_agent_start
  lab_test_check "boot ($kind): ipo-netd refused the policy and exited" ipo_wait_for 20 agent_exited
  # Docker is up with 3316 reserved for docker_b: give the prober a few seconds of it.
  sleep 5
  lab_test_check "boot ($kind): the operator's own service is reachable from the WAN" \
    test "$(ipo_lab_probe ipo-wan "$IPO_LAB_HOST_WAN4" 22)" == ipo-host
  echo "boot ($kind): restore $((t1 - t0)) ms, result $result; forbidden successes so far: $(ipo_lab_prober_successes "$PROBE_DIR")"
}

main() {
  lab_test_begin
  trap finish EXIT
  lab_test_proxied_restart_always
  lab_test_prober_begin bad-policy
  local kind
  for kind in long deep text; do
    boot_with "$kind"
  done
  boot_with good
  lab_test_prober_verdict "during the boots with broken policies" 300
  lab_test_matrix "after the boots with broken policies and one with the good policy"
}

main "$@"
