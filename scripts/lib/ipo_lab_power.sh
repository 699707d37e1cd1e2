# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): power faults of the server: power off (every process in ipo-host killed, /run cleared,
# the namespace deleted) and power on (the namespace re-plumbed, no process started).

# ipo_lab_host_power_off: simulate a power loss of the server: SIGKILL every process in
#   ipo-host (agent, dockerd, containerd, shims, docker-proxy, host service) and the
#   containers' processes (cgroup parent ipo-lab), unmount what they left under the exec and
#   data roots, clear what a reboot clears (/run: docker exec root and socket, the agent's run
#   directory, pid files), and delete the ipo-host namespace. Client namespaces stay; their
#   links to the server vanish with it. Persistent data (Docker's data root, the agent's
#   state directory, the log) stays.
ipo_lab_host_power_off() {
  ipo_lab_kill_ns_pids ipo-host
  local f pid
  for f in /sys/fs/cgroup/*/ipo-lab/*/cgroup.procs /sys/fs/cgroup/ipo-lab/*/cgroup.procs; do
    [[ -f $f ]] || continue
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$f"
  done
  # Wait (bounded) for the killed processes to be gone before unmounting under them.
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -z $(ip netns pids ipo-host 2>/dev/null) ]] && break
    sleep 0.1
  done
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$IPO_LAB_DOCKER_DIR/" -v r="$IPO_LAB_DOCKER_DATA/" 'index($2, d) == 1 || index($2, r) == 1 {print $2}' /proc/mounts | sort -r)
  rm -rf "$IPO_LAB_DOCKER_DIR/exec" "$IPO_LAB_NETD_RUN"
  rm -f "$IPO_LAB_DOCKER_SOCK" "$IPO_LAB_DOCKER_DIR/docker.sock" "$IPO_LAB_DOCKER_DIR/dockerd.pid" \
    "$IPO_LAB_NETD_PID" "$IPO_LAB_HOSTSVC_PID"
  if ipo_lab_ns_exists ipo-host; then ip netns del ipo-host; fi
  # The kernel destroys the namespace (and the veth ends in the clients) asynchronously.
  local ns
  for ns in ipo-wan ipo-lan-ok ipo-lan-deny; do
    ipo_lab_ns_exists "$ns" || continue
    ipo_wait_for 20 bash -c '! ip -n "$0" link show eth0 >/dev/null 2>&1' "$ns" ||
      ipo_die "the server's old links in $ns did not go away"
  done
}

# ipo_lab_host_power_on_net: recreate the ipo-host namespace and re-plumb it to the client
#   namespaces that survived (addresses, routes, forwarding sysctls). Starts no process.
ipo_lab_host_power_on_net() {
  ip netns add ipo-host
  ip -n ipo-host link set lo up
  ipo_lab_net_plumb
}
