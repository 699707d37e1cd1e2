#!/usr/bin/env bash
# Test: the server survives repeated power loss without a window. The lab comes up with the
# agent; the containers get restart policy "always" (docker_b is also published with
# -p 3316:3316, so docker-proxy listens on the host at boot); a prober hammers every FORBIDDEN path of
# the matrix from ipo-wan and ipo-lan-deny (IPv4 and IPv6) for the whole test. Then, N times
# (REBOOT_ITERATIONS, default 20): every process of ipo-host and every container process is
# SIGKILLed, /run state is cleared and the ipo-host namespace deleted (the client namespaces
# and the prober stay); the namespace is recreated and re-plumbed, and exactly what the
# systemd units run at boot runs, in their order:
#   1. ipo-netctl restore --policy P --state-dir <lab state> --run-dir <lab run>
#      --docker-root <lab docker data>  (boot unit)
#   2. dockerd (the containers come back by their restart policy)
#   3. ipo-netd
# After each iteration the agent converges and every allowed path answers again (bounded).
# Asserts: 0 forbidden connections succeeded over all iterations (counts per path and total
# are printed), every restore exited 0 and wrote boot-restore.json, allowed paths back each
# time, and the final matrix holds. REBOOT_SKIP_RESTORE=1 is a negative control (the test then
# fails, and the prober shows the window the boot restore closes).
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

ITERATIONS=${REBOOT_ITERATIONS:-20}
PROBE_DIR=

# restore_at_boot: what the boot restore unit runs, in the new ipo-host namespace.
restore_at_boot() {
  local out rc=0
  out=$(ipo_lab_restore 2>&1) || rc=$?
  printf '%s\n' "$out" | tail -n 5 >&2
  if ((rc != 0)); then
    if grep -qiE 'restore.*(not found|unknown|extras)|The following argument was not expected|requires a subcommand' <<<"$out"; then
      ipo_warn "PLACEHOLDER: 'ipo-netctl restore' is not available in this build; the boot restore step FAILS"
    fi
    return 1
  fi
  [[ -f $IPO_LAB_NETD_RUN/boot-restore.json ]] || { ipo_warn "restore wrote no $IPO_LAB_NETD_RUN/boot-restore.json"; return 1; }
  jq -c . "$IPO_LAB_NETD_RUN/boot-restore.json" >&2
  jq -e '.result == "restored" or .result == "static" or .result == "fail-closed"' \
    "$IPO_LAB_NETD_RUN/boot-restore.json" >/dev/null
}

# allowed_back: 0 if every allowed client path answers as expected.
allowed_back() {
  ipo_lab_allowed_check ipo-wan ipo-lan-ok ipo-lan-deny >/dev/null
}

# reboot_once N: one power loss and boot; records failures; prints a timing line.
reboot_once() {
  local n=$1 t0 t_off t_rest t_docker t_agent t_conv t_allowed
  t0=$(date +%s%3N)
  ipo_lab_host_power_off
  t_off=$(date +%s%3N)
  ipo_lab_host_power_on_net
  # Boot order of the units: restore, dockerd, ipo-netd (the host service is independent).
  if [[ ${REBOOT_SKIP_RESTORE:-0} == 1 ]]; then
    # Negative control (manual runs only): without the boot restore the prober must catch
    # the window between the containers' start and the agent's first apply.
    lab_test_fail "iteration $n: boot restore SKIPPED (REBOOT_SKIP_RESTORE=1, negative control)"
  elif ! restore_at_boot; then
    lab_test_fail "iteration $n: boot restore (ipo-netctl restore) failed"
  fi
  t_rest=$(date +%s%3N)
  ipo_lab_hostsvc_start
  ipo_lab_dockerd_start
  t_docker=$(date +%s%3N)
  ipo_lab_agent_start
  t_agent=$(date +%s%3N)
  if ! ipo_lab_wait_converged 60; then
    lab_test_fail "iteration $n: agent did not converge within 60 s"
  fi
  t_conv=$(date +%s%3N)
  if ! ipo_wait_for 30 allowed_back; then
    ipo_lab_allowed_check ipo-wan ipo-lan-ok ipo-lan-deny >&2 || true
    lab_test_fail "iteration $n: allowed paths did not come back within 30 s of convergence"
  fi
  t_allowed=$(date +%s%3N)
  printf 'iteration %2d: power-off %5d ms, restore %5d ms, dockerd %5d ms, converged %5d ms after agent start, allowed back %5d ms later; forbidden successes so far: %d\n' \
    "$n" $((t_off - t0)) $((t_rest - t_off)) $((t_docker - t_rest)) $((t_conv - t_agent)) $((t_allowed - t_conv)) \
    "$(ipo_lab_prober_successes "$PROBE_DIR")"
}

main() {
  lab_test_begin
  trap lab_test_finish_prober EXIT
  lab_test_proxied_restart_always
  lab_test_prober_begin reboot
  local i t0=$SECONDS
  for ((i = 1; i <= ITERATIONS; i++)); do
    reboot_once "$i"
  done
  ipo_info "$ITERATIONS reboots in $((SECONDS - t0)) s"
  lab_test_prober_verdict "during $ITERATIONS reboots" $((ITERATIONS * 10))
  lab_test_matrix "after $ITERATIONS reboots"
}

main "$@"
