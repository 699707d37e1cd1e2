#!/usr/bin/env bash
# Test: the host firewall production runs by default (firewalld, nftables backend) beside the
# agent. Debian's firewalld 1.3 runs in the lab's host namespace on a private system bus (its
# own bus policy, /usr/share/dbus-1/system.d/FirewallD.conf), default zone "public", as on a
# Rocky 8 server. A prober hammers every forbidden path from ipo-wan and ipo-lan-deny (IPv4
# and IPv6) through all of it and must count 0 successes. The agent runs with its tables
# unclaimed (--claim-tables off), as on Rocky 8's 4.18 and every kernel before 6.9: nothing in
# the kernel stops firewalld from deleting them, so "untouched" is firewalld's behaviour.
#   - firewalld starts: its own table appears; the agent's tables are untouched (same rules,
#     same handles: nobody rewrote them) and the agent repaired nothing; the matrix holds
#     (published ports are DNAT + forward, which 1.3's public zone forwards by default).
#   - firewalld owns the host ports: a host listener on 9090, reachable from lan-ok before,
#     is closed once firewalld runs (public lists only ssh), opens with
#     `firewall-cmd --add-port=9090/tcp` and closes again on `firewall-cmd --reload`.
#   - `firewall-cmd --reload`: the agent's tables are untouched again; the matrix holds.
#   - `docker restart docker_a` with firewalld running: the agent converges; the matrix holds.
#   - firewalld stops (CleanupOnExit): its table goes, the agent's stay; the matrix holds.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
FW_DIR=$IPO_LAB_RUN/firewalld
FW_BUS_DIR=$FW_DIR/bus
FW_PORT=9090
export IPO_LAB_NETD_EXTRA_ARGS="--claim-tables off"

# fw_finish: EXIT trap: stop firewalld and its bus (by pid), then the prober and the lab.
fw_finish() {
  local rc=$?
  fw_stop
  ipo_dbus_stop "$FW_BUS_DIR"
  if [[ -s $FW_DIR/listener.pid ]]; then ipo_stop_pid "$(<"$FW_DIR/listener.pid")" 20 || true; fi
  (exit "$rc")
  lab_test_finish_prober
}

# fw_cmd ARGS...: firewall-cmd on the private bus.
fw_cmd() {
  DBUS_SYSTEM_BUS_ADDRESS=$(ipo_dbus_address "$FW_BUS_DIR") firewall-cmd "$@"
}

# fw_running: 0 when firewalld answers "running".
fw_running() {
  [[ $(fw_cmd --state 2>/dev/null) == running ]]
}

# fw_start: start the bus and firewalld in ipo-host (foreground child, log in FW_DIR).
fw_start() {
  mkdir -p "$FW_DIR"
  ipo_dbus_start "$FW_BUS_DIR" /usr/share/dbus-1/system.d/FirewallD.conf
  DBUS_SYSTEM_BUS_ADDRESS=$(ipo_dbus_address "$FW_BUS_DIR") ipo_lab_spawn "$FW_DIR/firewalld.pid" "$FW_DIR/firewalld.out" \
    nsenter --net=/run/netns/ipo-host -- firewalld --nofork --nopid --log-target file --log-file "$FW_DIR/firewalld.log"
  if ! ipo_wait_for 60 fw_running; then
    tail -n 20 "$FW_DIR/firewalld.out" "$FW_DIR/firewalld.log" >&2 || true
    lab_test_fail "firewalld did not come up in 60 s"
    return 1
  fi
}

# fw_stop: stop firewalld (SIGTERM: it removes its own table on exit), idempotent.
fw_stop() {
  [[ -s $FW_DIR/firewalld.pid ]] || return 0
  ipo_stop_pid "$(<"$FW_DIR/firewalld.pid")" 100 || true
  rm -f "$FW_DIR/firewalld.pid"
}

# agent_tables: the agent's tables in ipo-host, stateless (no counters), with handles: equal
#   output means no rule was deleted, replaced or added (a rewrite gives new handles).
agent_tables() {
  local fam name
  while read -r _ fam name; do
    [[ $name == ipo_netd* ]] || continue
    ipo_lab_host nft -a -s list table "$fam" "$name"
  done < <(ipo_lab_host nft list tables)
}

# repairs: the agent's drift repairs so far ("unknown" when the agent does not answer).
repairs() {
  { ipo_lab_netctl status --json 2>/dev/null || true; } | jq -r '.agent.drift_repairs // "unknown"' | grep . || echo unknown
}

# expect_untouched STAGE BEFORE REPAIRS0: the agent's tables equal BEFORE and no repair since.
expect_untouched() {
  local stage=$1 before=$2 r0=$3 now
  now=$(agent_tables)
  if [[ $now == "$before" ]]; then
    ipo_info "ok: $stage: the agent's tables are untouched ($(grep -c handle <<<"$now") rules and chains, same handles)"
  else
    diff <(echo "$before") <(echo "$now") | head -n 20 >&2 || true
    lab_test_fail "$stage: the agent's tables changed"
  fi
  lab_test_check "$stage: the agent repaired nothing ($(repairs) repairs, $r0 before)" test "$(repairs)" -eq "$r0"
}

# port_row EXPECTED: the matrix row lan-ok -> host:9090 (v4 and v6), EXPECTED ipo-host or closed.
port_rows() {
  printf '%s\n' "ipo-lan-ok|v4 host-lan|$IPO_LAB_HOST_LAN4|$FW_PORT|$1" "ipo-lan-ok|v6 host-lan|$IPO_LAB_HOST_LAN6|$FW_PORT|$1"
}

main() {
  lab_test_begin
  trap fw_finish EXIT
  lab_test_check "the agent's tables are unclaimed (claim: $(ipo_lab_netctl status --json | jq -r .agent.protection.claim))" \
    bash -c '[[ $("$0" status --json | jq -r .agent.protection.claim) == off* ]]' "$IPO_LAB_CMD"
  command -v firewalld >/dev/null || { lab_test_fail "firewalld is not installed (scripts/bootstrap core)"; exit 1; }
  # A host service firewalld's public zone does not list.
  mkdir -p "$FW_DIR"
  ipo_lab_spawn "$FW_DIR/listener.pid" /dev/null \
    nsenter --net=/run/netns/ipo-host -- busybox httpd -f -p "[::]:$FW_PORT" -h "$IPO_LAB_HOSTSVC_DIR"
  local rows
  mapfile -t rows < <(port_rows ipo-host)
  lab_test_matrix "before firewalld (host:$FW_PORT open: the agent leaves host ports to the host firewall)" "${rows[@]}"
  lab_test_prober_begin firewalld

  local before r0 t0=$SECONDS
  before=$(agent_tables)
  r0=$(repairs)
  fw_start || exit 1
  ipo_info "firewalld $(fw_cmd --version) running in ipo-host after $((SECONDS - t0)) s, default zone $(fw_cmd --get-default-zone)"
  lab_test_check "firewalld's own table exists" bash -c 'nsenter --net=/run/netns/ipo-host nft list tables | grep -qx "table inet firewalld"'
  expect_untouched "firewalld started" "$before" "$r0"
  mapfile -t rows < <(port_rows closed)
  lab_test_matrix "firewalld running (host:$FW_PORT closed by its zone)" "${rows[@]}"

  lab_test_check "firewall-cmd --add-port=$FW_PORT/tcp" fw_cmd --add-port="$FW_PORT/tcp"
  mapfile -t rows < <(port_rows ipo-host)
  lab_test_matrix "firewall-cmd --add-port=$FW_PORT/tcp (runtime)" "${rows[@]}"

  t0=$SECONDS
  lab_test_check "firewall-cmd --reload" fw_cmd --reload
  ipo_info "firewall-cmd --reload took $((SECONDS - t0)) s"
  expect_untouched "after firewall-cmd --reload" "$before" "$r0"
  mapfile -t rows < <(port_rows closed)
  lab_test_matrix "after firewall-cmd --reload (the runtime port is gone)" "${rows[@]}"

  lab_test_mark
  ipo_lab_docker restart -t 2 docker_a >/dev/null
  lab_test_converge "docker restart docker_a with firewalld running"
  lab_test_matrix "docker_a restarted with firewalld running" "${rows[@]}"

  before=$(agent_tables)
  r0=$(repairs)
  fw_stop
  lab_test_check "firewalld's table is gone after it stopped" \
    bash -c '! nsenter --net=/run/netns/ipo-host nft list tables | grep -q "table inet firewalld"'
  expect_untouched "firewalld stopped" "$before" "$r0"
  mapfile -t rows < <(port_rows ipo-host)
  lab_test_matrix "firewalld stopped" "${rows[@]}"

  lab_test_prober_verdict "with firewalld started, reloaded and stopped" 50
}

main "$@"
