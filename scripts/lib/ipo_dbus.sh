# shellcheck shell=bash
# A private, system-bus-like D-Bus daemon for labs and tests, so ipo-netd's org.ipo.NetD1
# API can be exercised on machines without a system bus (no systemd as PID 1).
#
# The bus behaves like Debian's system bus: every user may connect; owning names and
# sending method calls are denied by default; signals, replies and the bus driver are
# allowed; the policy for org.ipo.NetD1 is the one the package ships
# (systemd/org.ipo.NetD1.conf, included as is), so tests prove the shipped file.
# It listens on a path socket (not an abstract one), so clients in other network
# namespaces reach it too.
#
#   ipo_dbus_start DIR [POLICY_CONF]  start dbus-daemon; DIR gets system.conf,
#                                     system_bus_socket, address, dbus.pid, dbus.log
#   ipo_dbus_address DIR              print the address (for DBUS_SYSTEM_BUS_ADDRESS or
#                                     busctl --address=)
#   ipo_dbus_stop DIR                 stop it (idempotent); DIR itself is left
#   ipo_dbus_wait_name DIR NAME SECS  wait until NAME has an owner on it
#   ipo_dbus_has_owner ADDRESS NAME   0 when NAME has an owner now
#
# Source scripts/lib/ipo_common.sh first. Needs dbus-daemon (package dbus-daemon) and busctl.

# ipo_dbus_config DIR POLICY_CONF: print the bus configuration.
ipo_dbus_config() {
  local dir=$1 policy=$2
  cat <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <!-- busctl monitor / dbus-monitor for the lab's operator -->
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>$policy</include>
</busconfig>
XML
}

# ipo_dbus_start DIR [POLICY_CONF]: start a private system-like bus in DIR (created 0755 so
# unprivileged test users can reach the socket). Dies if it does not come up in 10 s.
ipo_dbus_start() {
  local dir=$1
  local policy=${2:-${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/systemd/org.ipo.NetD1.conf}
  ipo_require_cmd dbus-daemon busctl
  [[ -r $policy ]] || ipo_die "bus policy not found: $policy"
  mkdir -p "$dir"
  chmod 0755 "$dir"
  ipo_dbus_stop "$dir"
  ipo_dbus_config "$dir" "$policy" >"$dir/system.conf"
  rm -f "$dir/system_bus_socket" "$dir/address"
  # --nofork keeps it our child; --print-address tells the address once it listens.
  dbus-daemon --config-file="$dir/system.conf" --nofork --nopidfile --print-address=3 \
    3>"$dir/address" >>"$dir/dbus.log" 2>&1 &
  echo $! >"$dir/dbus.pid"
  if ! ipo_wait_for 10 test -s "$dir/address"; then
    cat "$dir/dbus.log" >&2 || true
    ipo_die "dbus-daemon did not start (config $dir/system.conf)"
  fi
  ipo_info "private system bus: $(ipo_dbus_address "$dir") (pid $(cat "$dir/dbus.pid"))"
}

# ipo_dbus_address DIR: the bus address, e.g. unix:path=DIR/system_bus_socket,guid=...
ipo_dbus_address() {
  head -n1 "$1/address"
}

# ipo_dbus_stop DIR: stop the bus started in DIR, if any.
ipo_dbus_stop() {
  local dir=$1 pid
  [[ -s $dir/dbus.pid ]] || return 0
  pid=$(cat "$dir/dbus.pid")
  if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dbus-daemon ]]; then
    ipo_stop_pid "$pid" 50 || true
  fi
  rm -f "$dir/dbus.pid" "$dir/system_bus_socket" "$dir/address"
}

# ipo_dbus_has_owner ADDRESS NAME: 0 when NAME has an owner on the bus at ADDRESS.
ipo_dbus_has_owner() {
  busctl --address="$1" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    NameHasOwner s "$2" 2>/dev/null | grep -qx 'b true'
}

# ipo_dbus_wait_name DIR NAME SECONDS: 0 once NAME has an owner on the bus, 1 on timeout.
ipo_dbus_wait_name() {
  ipo_wait_for "$3" ipo_dbus_has_owner "$(ipo_dbus_address "$1")" "$2"
}
