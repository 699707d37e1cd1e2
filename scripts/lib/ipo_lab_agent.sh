# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): the agent in ipo-host: the built binaries, ipo-netd started and stopped, ipo-netctl and
# the boot-time restore with the lab's paths.

# ipo_lab_agent_bin NAME: path of the built agent binary NAME (ipo-netd, ipo-netctl) under
#   $IPO_BUILD (default <repo>/build); empty output and 1 if there is none.
ipo_lab_agent_bin() {
  local name=$1 build=${IPO_BUILD:-$IPO_LAB_SRC/build} bin
  [[ -d $build ]] || return 1
  bin=$(find "$build" -name "$name" -type f -perm -u+x -not -path '*/CMakeFiles/*' 2>/dev/null | sort | head -n1)
  [[ -n $bin ]] || return 1
  printf '%s\n' "$bin"
}

# ipo_lab_agent_build: build ipo-netd, ipo-netctl, ipo-netd-proxy and the prober's ipo-probe
#   (incremental; -j2 on this shared machine).
ipo_lab_agent_build() {
  ipo_info "building ipo-netd, ipo-netctl, ipo-netd-proxy and ipo-probe"
  if [[ -n ${IPO_BUILD:-} ]]; then
    cmake --build "$IPO_BUILD" -j 2 --target ipo-netd ipo-netctl ipo-netd-proxy ipo-probe >&2
  else
    (cd "$IPO_LAB_SRC" && cmake --preset default >/dev/null && cmake --build --preset default -j 2 --target ipo-netd ipo-netctl ipo-netd-proxy ipo-probe) >&2
  fi
}

# ipo_lab_netctl ARGS...: run ipo-netctl inside ipo-host with the lab's paths after ARGS.
ipo_lab_netctl() {
  local bin
  bin=$(ipo_lab_agent_bin ipo-netctl) || ipo_die "ipo-netctl is not built (run scripts/lab up or cmake --build)"
  DBUS_SYSTEM_BUS_ADDRESS=$(ipo_lab_bus_address) ipo_lab_host "$bin" "$@" --run-dir "$IPO_LAB_NETD_RUN" --state-dir "$IPO_LAB_NETD_STATE" --policy "$IPO_LAB_POLICY"
}

# ipo_lab_agent_start: start ipo-netd inside ipo-host in the background (log $IPO_LAB_NETD_LOG),
#   on the lab's system bus; $IPO_LAB_NETD_EXTRA_ARGS (words) are added to its command line
#   (bench/agent/scale: --full-sync-per-event).
ipo_lab_agent_start() {
  local bin extra=()
  bin=$(ipo_lab_agent_bin ipo-netd) || ipo_die "ipo-netd is not built under ${IPO_BUILD:-$IPO_LAB_SRC/build}"
  read -r -a extra <<<"${IPO_LAB_NETD_EXTRA_ARGS:-}"
  mkdir -p "$IPO_LAB_NETD_RUN" "$IPO_LAB_NETD_STATE"
  ipo_lab_bus_start
  ipo_lab_spawn "$IPO_LAB_NETD_PID" "$IPO_LAB_NETD_LOG" \
    env DBUS_SYSTEM_BUS_ADDRESS="$(ipo_lab_bus_address)" nsenter --net=/run/netns/ipo-host -- "$bin" --policy "$IPO_LAB_POLICY" \
    --docker-host "unix://$IPO_LAB_DOCKER_SOCK" --state-dir "$IPO_LAB_NETD_STATE" --run-dir "$IPO_LAB_NETD_RUN" \
    --docker-root "$IPO_LAB_DOCKER_DATA" "${extra[@]}"
}

# ipo_lab_restore [ARGS...]: what ipo-netd-restore.service runs at boot, inside ipo-host, with
#   the lab's paths and its dockerd's data root (whose containers' -p ports it guards).
ipo_lab_restore() {
  ipo_lab_netctl restore --docker-root "$IPO_LAB_DOCKER_DATA" "$@"
}

# ipo_lab_agent_stop: stop ipo-netd.
ipo_lab_agent_stop() {
  ipo_lab_kill_pidfile "$IPO_LAB_NETD_PID" 10
}

# ipo_lab_agent_ensure_running: die with the log's tail if ipo-netd has exited.
ipo_lab_agent_ensure_running() {
  ipo_lab_pid_alive "$IPO_LAB_NETD_PID" && return 0
  tail -n 30 "$IPO_LAB_NETD_LOG" >&2 2>/dev/null || true
  ipo_die "ipo-netd is not running (log: $IPO_LAB_NETD_LOG)"
}
