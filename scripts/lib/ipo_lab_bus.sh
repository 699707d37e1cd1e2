# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): the lab's private system bus (these machines have none), where the agent takes org.ipo.NetD1.

# ipo_lab_bus_start: start the lab's private system bus (idempotent), without the lab lock.
ipo_lab_bus_start() {
  [[ -s $IPO_LAB_DBUS_DIR/address ]] && ipo_lab_pid_alive "$IPO_LAB_DBUS_DIR/dbus.pid" && return 0
  # dbus-daemon must not inherit the lab lock's descriptor: it outlives this command.
  (
    if [[ -n ${IPO_LAB_LOCK_FD:-} ]]; then exec {IPO_LAB_LOCK_FD}<&-; fi
    ipo_dbus_start "$IPO_LAB_DBUS_DIR" "$IPO_LAB_SRC/systemd/org.ipo.NetD1.conf" >/dev/null
  ) || ipo_die "the lab's system bus did not start (log $IPO_LAB_DBUS_DIR/dbus.log)"
}

# ipo_lab_bus_address: the lab bus's address ("" when it is not running: no bus, socket only).
ipo_lab_bus_address() {
  if [[ -s $IPO_LAB_DBUS_DIR/address ]]; then ipo_dbus_address "$IPO_LAB_DBUS_DIR"; fi
}
