#!/usr/bin/env bash
# Usage: dbus_api.sh CASE
# ipo-netd's D-Bus API (org.ipo.NetD1, docs/dbus.md) on a PRIVATE system-like bus: a
# dbus-daemon that denies by default and includes the shipped systemd/org.ipo.NetD1.conf
# (scripts/lib/ipo_dbus.sh). ipo-netd runs in a private network namespace (ipo-t-dbus-CASE) with no
# Docker, DBUS_SYSTEM_BUS_ADDRESS pointing at that bus and --drift-interval 1; busctl,
# dbus-send, dbus-monitor and ipo-netctl talk to it. CASE is one of:
#   api            Status() JSON, Generation/Drift properties, introspection
#   reload         Reload() with a bad policy -> org.ipo.NetD1.Error.PolicyRefused naming
#                  file:line: key, rules unchanged; with a good one -> applied, Generation moves
#   drift_signal   a rule deleted with nft -> Drift signal (and PropertiesChanged) on the bus
#   policy         non-root (setpriv uid 65534) denied by the bus policy for methods and for
#                  owning the name; properties readable
#   netctl         ipo-netctl status over the system bus, the private socket and offline;
#                  ipo-netctl reload exits 2 on PolicyRefused
set -Eeuo pipefail
# shellcheck source=scripts/lib/ipo_common.sh
source "${IPO_SRC:?}/scripts/lib/ipo_common.sh"
# shellcheck source=scripts/lib/ipo_dbus.sh
source "$IPO_SRC/scripts/lib/ipo_dbus.sh"

# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
# shellcheck source=tests/lib/cases.sh
source "$IPO_SRC/tests/lib/cases.sh"
# shellcheck source=tests/lib/netns.sh
source "$IPO_SRC/tests/lib/netns.sh"

[[ ${1:-} == --help || ${1:-} == -h ]] && {
  ipo_usage "$0"
  exit 0
}

NS=ipo-t-dbus-${1:-x}  # one namespace per case, so CTest may run the cases in parallel
WORK=""
BUSDIR=""
ADDR=""
MONITOR_PID=""
OBJ=(org.ipo.NetD1 /org/ipo/NetD1 org.ipo.NetD1)
# shellcheck source=tests/lib/agent.sh
source "$IPO_SRC/tests/lib/agent.sh"

cleanup() {
  stop_and_reap MONITOR_PID
  agent_stop
  ipo_dbus_stop "$BUSDIR" || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}

on_fail() {
  show_log "agent log" "$WORK/netd.log"
  show_log "dbus-daemon log" "$BUSDIR/dbus.log"
}

bus() { busctl --address="$ADDR" "$@"; }
ruleset() { in_ns nft list ruleset | grep -v 'counter packets'; }

# start_agent: ipo-netd in the namespace on $WORK/policy.json, on the private system bus.
# --claim-tables off: claimed tables cannot be tampered with at all, and the drift case must.
start_agent() {
  : >>"$WORK/netd.log"
  DBUS_SYSTEM_BUS_ADDRESS=$ADDR agent_spawn "$WORK/policy.json" --drift-interval 1 --claim-tables off
  ipo_dbus_wait_name "$BUSDIR" org.ipo.NetD1 10 || fail "org.ipo.NetD1 did not appear on the bus"
  ipo_wait_for 10 test -S "$WORK/run/bus.sock" || fail "no private socket"
  ipo_wait_for 10 in_ns nft list table inet ipo_netd || fail "no ruleset"
  # The first generation is published once the reconcile loop has run.
  ipo_wait_for 10 sh -c "busctl --address='$ADDR' get-property ${OBJ[*]} Generation | grep -qx 't 42'" ||
    fail "Generation did not reach 42: $(bus get-property "${OBJ[@]}" Generation 2>&1)"
}

# status_over_bus: the JSON string Status() returns, via busctl.
status_over_bus() {
  bus --json=short call "${OBJ[@]}" Status | jq -r '.data[0]'
}

case_api() {
  local s intro
  s=$(status_over_bus) || fail "Status() failed"
  [[ $(jq -r .generation <<<"$s") == 42 ]] || fail "Status(): generation should be 42: $s"
  [[ $(jq -r .health <<<"$s") == degraded ]] || fail "Status(): health should be degraded without docker: $s"
  [[ $(jq -r .docker.connected <<<"$s") == false ]] || fail "Status(): docker.connected: $s"
  [[ $(jq -r '.observed.containers | map(.name) | join(",")' <<<"$s") == docker_a,docker_c ]] ||
    fail "Status(): observed containers: $s"
  [[ $(bus get-property "${OBJ[@]}" Generation) == "t 42" ]] || fail "Generation property"
  [[ $(bus get-property "${OBJ[@]}" Drift) == "as 0" ]] || fail "Drift property: $(bus get-property "${OBJ[@]}" Drift)"
  intro=$(bus introspect --xml-interface "${OBJ[@]::2}")
  local want
  for want in '<method name="Status">' '<arg type="s" name="status_json" direction="out"/>' '<method name="Reload">' \
    '<method name="Resync">' '<method name="Drops">' '<arg type="t" name="after" direction="in"/>' \
    '<arg type="s" name="drops_json" direction="out"/>' '<property name="Generation" type="t" access="read">' \
    '<property name="Drift" type="as" access="read">' '<signal name="Drift">' '<arg type="as" name="differences"/>'; do
    grep -qF "$want" <<<"$intro" || fail "introspection lacks $want: $intro"
  done
  local d
  d=$(bus --json=short call "${OBJ[@]}" Drops t 0 | jq -r '.data[0]') || fail "Drops(0) failed"
  [[ $(jq -r '.group' <<<"$d") == 20 && $(jq -r '.records | type' <<<"$d") == array ]] ||
    fail "Drops(0): the policy's nflog group 20 and a list of records expected: $d"
  bus call "${OBJ[@]}" Resync || fail "Resync() failed"
  ipo_wait_for 10 grep -q 'resync requested' "$WORK/netd.log" || fail "Resync() did not reach the reconcile loop"
  echo "PASS: Status() JSON (generation 42, degraded), Generation/Drift properties, introspection, Drops(0), Resync()"
}

case_reload() {
  local before out rc=0 gen
  before=$(ruleset)
  # networks[1].subnet_v4 with host bits set: line 17 of the policy, key networks[1].subnet_v4.
  sed 's/"172.30.2.0\/24"/"172.30.1.0\/16"/' "$IPO_SRC/rules/policy.json" >"$WORK/policy.json"
  # dbus-send prints the error name; busctl only the message.
  out=$(dbus-send --bus="$ADDR" --print-reply --dest=org.ipo.NetD1 /org/ipo/NetD1 org.ipo.NetD1.Reload 2>&1) || rc=$?
  [[ $rc -ne 0 ]] || fail "a bad policy was accepted: $out"
  grep -q '^Error org.ipo.NetD1.Error.PolicyRefused: ' <<<"$out" || fail "not PolicyRefused: $out"
  grep -q "policy.json:17: networks\[1\].subnet_v4: \"172.30.1.0/16\" has host bits set" <<<"$out" ||
    fail "the refusal should name file:line: key: $out"
  sleep 1.5  # a drift check and a loop turn later, nothing may have changed
  [[ $before == "$(ruleset)" ]] || fail "the ruleset changed after a refused reload"
  [[ $(bus get-property "${OBJ[@]}" Generation) == "t 42" ]] || fail "generation moved after a refused reload"
  echo "PASS: Reload() with a bad policy -> PolicyRefused naming file:line: key; rules and generation unchanged"

  # A good policy: the LAN allowlist grows to .40; the loop applies it, Generation moves.
  sed 's/192.168.1.1-192.168.1.30/192.168.1.1-192.168.1.40/' "$IPO_SRC/rules/policy.json" >"$WORK/policy.json"
  bus call "${OBJ[@]}" Reload || fail "Reload() of a good policy failed"
  ipo_wait_for 10 sh -c "nsenter --net=/run/netns/$NS -- nft list set inet ipo_netd lan-allow-v4 | grep -q '192.168.1.1-192.168.1.40'" ||
    fail "the reloaded allowlist is not in force: $(in_ns nft list set inet ipo_netd lan-allow-v4)"
  ipo_wait_for 10 sh -c "busctl --address='$ADDR' get-property ${OBJ[*]} Generation | grep -qx 't 43'" ||
    fail "Generation should be 43: $(bus get-property "${OBJ[@]}" Generation)"
  gen=$(status_over_bus | jq -r .generation)
  [[ $gen == 43 ]] || fail "Status() generation $gen, want 43"
  echo "PASS: Reload() of a good policy applied by the reconcile loop (allowlist .1-.40, generation 43)"
}

case_drift_signal() {
  # Watch the bus for the agent's signals, as any system bus client could.
  dbus-monitor --address "$ADDR" "type='signal',sender='org.ipo.NetD1',path='/org/ipo/NetD1'" \
    >"$WORK/monitor.log" 2>&1 &
  # shellcheck disable=SC2034 # stopped by name: stop_and_reap MONITOR_PID
  MONITOR_PID=$!
  ipo_wait_for 5 grep -q 'member=NameAcquired\|NameLost\|signal' "$WORK/monitor.log" || sleep 0.5
  local handle
  handle=$(in_ns nft -a list chain inet ipo_netd filter-input | sed -n 's/.* # handle \([0-9]*\)$/\1/p' | tail -n1)
  [[ -n $handle ]] || fail "no rule to delete in filter-input: $(in_ns nft -a list chain inet ipo_netd filter-input)"
  in_ns nft delete rule inet ipo_netd filter-input handle "$handle"
  ipo_wait_for 10 grep -q 'interface=org.ipo.NetD1; member=Drift' "$WORK/monitor.log" ||
    fail "no Drift signal: $(cat "$WORK/monitor.log")"
  # The signal carries what the agent found (the same text it logs as "drift: ...").
  local logged
  logged=$(sed -n 's/.* drift: \(inet ipo_netd: chain filter-input.*\)$/\1/p' "$WORK/netd.log" | head -n1)
  [[ -n $logged ]] || fail "the agent did not log the drift"
  grep -qF "string \"$logged\"" "$WORK/monitor.log" || fail "the signal lacks \"$logged\": $(cat "$WORK/monitor.log")"
  # PropertiesChanged for Drift: set to the differences, then back to empty after the repair.
  ipo_wait_for 5 grep -q 'member=PropertiesChanged' "$WORK/monitor.log" || fail "no PropertiesChanged"
  grep -A3 'string "Drift"' "$WORK/monitor.log" | grep -qF "string \"$logged\"" ||
    fail "PropertiesChanged lacks Drift=[...]: $(cat "$WORK/monitor.log")"
  # Repaired: the rule is back and the property is empty again.
  ipo_wait_for 10 sh -c "nsenter --net=/run/netns/$NS -- nft -a list chain inet ipo_netd filter-input | grep -q 'handle'" ||
    fail "chain not repaired"
  ipo_wait_for 10 sh -c "busctl --address='$ADDR' get-property ${OBJ[*]} Drift | grep -qx 'as 0'" ||
    fail "Drift property not cleared after the repair: $(bus get-property "${OBJ[@]}" Drift)"
  [[ $(status_over_bus | jq -r .drift_repairs) -ge 1 ]] || fail "no repair counted"
  echo "PASS: deleted rule -> Drift signal with the agent's differences, PropertiesChanged, repaired, Drift back to []"
}

# nobody CMD...: run CMD as uid/gid 65534 with no supplementary groups.
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

case_policy() {
  local out rc=0 m
  for m in Status Reload Resync; do
    rc=0
    out=$(nobody dbus-send --bus="$ADDR" --print-reply --dest=org.ipo.NetD1 /org/ipo/NetD1 "org.ipo.NetD1.$m" 2>&1) ||
      rc=$?
    [[ $rc -ne 0 ]] || fail "uid 65534 could call $m: $out"
    # Refused by dbus-daemon's policy (the shipped file) before it reaches the agent, whose
    # own refusal would read "only root may call ...".
    grep -q "^Error org.freedesktop.DBus.Error.AccessDenied: Rejected send message.*member=\"$m\"" <<<"$out" ||
      fail "$m: not refused by the bus policy: $out"
    rc=0
    out=$(nobody busctl --address="$ADDR" call "${OBJ[@]}" "$m" 2>&1) || rc=$?
    [[ $rc -ne 0 ]] || fail "uid 65534 could call $m with busctl: $out"
  done
  if grep -q 'refused: caller euid 65534' "$WORK/netd.log"; then fail "the bus policy let a call through to the agent"; fi
  # Reads are open: the same values are broadcast as signals.
  out=$(nobody busctl --address="$ADDR" get-property "${OBJ[@]}" Generation) || fail "uid 65534 cannot read Generation"
  [[ $out == "t 42" ]] || fail "uid 65534 read Generation as $out"
  nobody busctl --address="$ADDR" introspect "${OBJ[@]::2}" >/dev/null || fail "uid 65534 cannot introspect"
  # Nobody but root may own the name.
  rc=0
  out=$(nobody /usr/bin/python3 -c "
import sys, dbus
bus = dbus.bus.BusConnection('$ADDR')
try:
    bus.request_name('org.ipo.NetD1', dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name()); sys.exit(3)
print('owned'); sys.exit(0)" 2>&1) || rc=$?
  [[ $rc -eq 3 && $out == org.freedesktop.DBus.Error.AccessDenied ]] || fail "uid 65534 owning the name: rc=$rc $out"
  # And root still can.
  [[ $(status_over_bus | jq -r .generation) == 42 ]] || fail "root's Status() broken"
  echo "PASS: uid 65534 denied Status/Reload/Resync and name ownership by the shipped bus policy; may read properties"
}

case_netctl() {
  local s rc=0 out
  s=$(DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" status --json --policy "$WORK/policy.json" --run-dir "$WORK/run" \
    --state-dir "$WORK/state" || true)
  [[ $(jq -r .agent.via <<<"$s") == system-bus ]] || fail "status should go over the system bus: $s"
  [[ $(jq -r .generation <<<"$s") == 42 && $(jq -r .health <<<"$s") == degraded ]] || fail "status over the bus: $s"
  [[ $(jq -r .drift <<<"$s") == false ]] || fail "unexpected drift: $s"
  # No system bus in the environment (an address nobody serves): the private socket.
  s=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$WORK/nobody.sock in_ns "$CTL" status --json --policy "$WORK/policy.json" \
    --run-dir "$WORK/run" --state-dir "$WORK/state" || true)
  [[ $(jq -r .agent.via <<<"$s") == socket && $(jq -r .generation <<<"$s") == 42 ]] ||
    fail "status should fall back to the private socket: $s"
  # reload: a bad policy -> exit 2 and the reason.
  cp "$WORK/policy.json" "$WORK/good.json"
  printf '{ "version": 1, "lan": ' >"$WORK/policy.json"
  out=$(DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" reload --run-dir "$WORK/run" 2>&1) || rc=$?
  [[ $rc -eq 2 ]] || fail "ipo-netctl reload of a bad policy should exit 2, got $rc: $out"
  grep -q "refused the policy.*policy.json:1" <<<"$out" || fail "reload should name the file and line: $out"
  cp "$WORK/good.json" "$WORK/policy.json"
  out=$(DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" reload --run-dir "$WORK/run" 2>&1) ||
    fail "ipo-netctl reload of a good policy failed: $out"
  grep -q 'system bus name org.ipo.NetD1' <<<"$out" || fail "reload should have used the system bus: $out"
  DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" resync --run-dir "$WORK/run" || fail "ipo-netctl resync failed"
  # Agent stopped: from the state file, health down.
  agent_stop
  ipo_wait_for 5 sh -c "! busctl --address='$ADDR' call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.ipo.NetD1 | grep -qx 'b true'" ||
    fail "the name outlived the agent"
  s=$(DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" status --json --policy "$WORK/policy.json" --run-dir "$WORK/run" \
    --state-dir "$WORK/state" || true)
  [[ $(jq -r .agent.via <<<"$s") == state-file && $(jq -r .health <<<"$s") == down ]] ||
    fail "offline status should come from the state file: $s"
  [[ $(jq -r .generation <<<"$s") -ge 42 ]] || fail "offline generation: $s"
  rc=0
  DBUS_SYSTEM_BUS_ADDRESS=$ADDR in_ns "$CTL" reload --run-dir "$WORK/run" 2>/dev/null || rc=$?
  [[ $rc -eq 1 ]] || fail "reload with the agent down should exit 1, got $rc"
  echo "PASS: ipo-netctl status via system bus, private socket and state file; reload exit 2 on PolicyRefused"
}

main() {
  cases_list_or_check "${1:-}"
  ipo_require_root
  ipo_require_cmd dbus-daemon busctl dbus-send dbus-monitor setpriv nsenter nft jq
  [[ -x $NETD && -x $CTL ]] || ipo_die "build ipo-netd and ipo-netctl first"
  WORK=$(mktemp -d /tmp/ipo-dbus-test.XXXXXX)
  BUSDIR=$WORK/bus
  trap cleanup EXIT
  chmod 0711 "$WORK"  # uid 65534 must reach the bus socket below it
  ipo_dbus_start "$BUSDIR"
  ADDR=$(ipo_dbus_address "$BUSDIR")
  netns_fresh "$NS"
  cp "$IPO_SRC/rules/policy.json" "$WORK/policy.json"
  agent_write_state
  start_agent
  "case_$1"
}

main "$@"
