# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): the whole lab: up, down, whether it is up, and the evidence for failure reports.

# ipo_lab_is_up: 0 if the lab is fully up (namespaces, dockerd, and the agent unless the lab
#   was brought up with --no-agent).
ipo_lab_is_up() {
  local ns
  for ns in "${IPO_LAB_NAMESPACES[@]}"; do ipo_lab_ns_exists "$ns" || return 1; done
  ipo_lab_pid_alive "$IPO_LAB_DOCKER_DIR/dockerd.pid" || return 1
  [[ -f $IPO_LAB_RUN/no-agent ]] || ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
}

# ipo_lab_is_partly_up: 0 if anything of the lab exists.
ipo_lab_is_partly_up() {
  local ns
  for ns in "${IPO_LAB_NAMESPACES[@]}"; do ipo_lab_ns_exists "$ns" && return 0; done
  [[ -e $IPO_LAB_RUN || -e $IPO_LAB_VAR ]]
}

# ipo_lab_up [--no-agent]: build the agent (unless IPO_LAB_BUILD=0), then bring the lab up
#   and wait until the agent has converged. Already up: says so and succeeds.
ipo_lab_up() {
  local agent=1
  [[ ${1:-} == --no-agent ]] && agent=0
  if ipo_lab_is_up; then
    ipo_info "lab is already up"
    return 0
  fi
  if ipo_lab_is_partly_up; then
    ipo_warn "lab is partly up; removing the leftovers first"
    ipo_lab_down
  fi
  if ((agent)); then
    [[ -f $IPO_LAB_POLICY ]] || ipo_die "policy not found: $IPO_LAB_POLICY"
    if [[ ${IPO_LAB_BUILD:-1} != 0 ]] || ! ipo_lab_agent_bin ipo-netd >/dev/null || ! ipo_lab_agent_bin ipo-netctl >/dev/null ||
      ! ipo_lab_agent_bin ipo-netd-proxy >/dev/null; then
      ipo_lab_agent_build || ipo_die "building the agent failed"
    fi
    ipo_lab_agent_bin ipo-netd >/dev/null || ipo_die "ipo-netd not found under ${IPO_BUILD:-$IPO_LAB_SRC/build} after the build"
    ipo_lab_agent_bin ipo-netctl >/dev/null || ipo_die "ipo-netctl not found under ${IPO_BUILD:-$IPO_LAB_SRC/build} after the build"
  fi
  local t0=$SECONDS
  mkdir -p "$IPO_LAB_RUN" "$IPO_LAB_VAR"
  nft list ruleset >"$IPO_LAB_RUN/root-ruleset.before"
  ((agent)) || touch "$IPO_LAB_RUN/no-agent"
  # dockerd makes /run/docker (plugins) whatever its exec root; remember whether we did.
  [[ -e /run/docker ]] || touch "$IPO_LAB_RUN/made-run-docker"
  ipo_info "[1/5] namespaces ${IPO_LAB_NAMESPACES[*]}, links and addresses"
  ipo_lab_net_up
  ipo_info "[2/5] host service on ipo-host:22"
  ipo_lab_hostsvc_start
  ipo_info "[3/5] dockerd in ipo-host (API $IPO_LAB_DOCKER_SOCK)"
  ipo_lab_dockerd_start
  ipo_info "[4/5] containers docker_a (8080), docker_b (3316), docker_c (80) on the default bridge"
  ipo_lab_containers_start
  if ((agent)); then
    ipo_info "[5/5] ipo-netd (log $IPO_LAB_NETD_LOG); waiting until it has converged"
    ipo_lab_agent_start
    ipo_lab_wait_converged 60 ||
      ipo_die "ipo-netd did not converge (log: $IPO_LAB_NETD_LOG); the lab stays up for inspection, 'scripts/lab down' removes it"
  else
    ipo_info "[5/5] ipo-netd not started (--no-agent)"
  fi
  ipo_info "lab up in $((SECONDS - t0)) s"
}

# ipo_lab_down: stop the agent, the host service and dockerd (with its containerd and shims),
#   delete the namespaces (their links go with them), unmount and delete /run/ipo-lab and
#   /var/lib/ipo-lab, remove the cgroups dockerd made. Succeeds when already down. Warns if
#   the root namespace's ruleset differs from the one recorded at `up`.
ipo_lab_down() {
  ipo_lab_agent_stop
  ipo_dbus_stop "$IPO_LAB_DBUS_DIR"
  ipo_lab_kill_pidfile "$IPO_LAB_HOSTSVC_PID" 0
  # Killing the containers first makes dockerd's shutdown quick.
  if ipo_lab_pid_alive "$IPO_LAB_DOCKER_DIR/dockerd.pid"; then
    local ids
    mapfile -t ids < <(DOCKER_CONFIG="$IPO_LAB_DOCKER_DIR/cli" timeout 20 /usr/bin/docker -H "unix://$IPO_LAB_DOCKER_SOCK" ps -aq 2>/dev/null)
    ((${#ids[@]} == 0)) || DOCKER_CONFIG="$IPO_LAB_DOCKER_DIR/cli" timeout 30 /usr/bin/docker -H "unix://$IPO_LAB_DOCKER_SOCK" rm -f "${ids[@]}" >/dev/null 2>&1 || true
  fi
  ipo_lab_dockerd_stop
  local ns
  for ns in "${IPO_LAB_NAMESPACES[@]}"; do
    ipo_lab_kill_ns_pids "$ns"
    ipo_lab_ns_exists "$ns" && ip netns del "$ns"
  done
  # Empty cgroups of the containers (docker --cgroup-parent ipo-lab).
  local cg
  for cg in /sys/fs/cgroup/*/ipo-lab /sys/fs/cgroup/ipo-lab; do
    [[ -d $cg ]] || continue
    find "$cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
    rmdir "$cg" 2>/dev/null || true
  done
  if [[ -f $IPO_LAB_RUN/root-ruleset.before ]] && ! nft list ruleset | cmp -s - "$IPO_LAB_RUN/root-ruleset.before"; then
    ipo_warn "the root namespace's nftables ruleset differs from the one before 'lab up'"
  fi
  if [[ -f $IPO_LAB_RUN/made-run-docker ]]; then
    rmdir /run/docker/plugins /run/docker 2>/dev/null || true
  fi
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v a="$IPO_LAB_RUN/" -v b="$IPO_LAB_VAR/" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts | sort -r)
  rm -rf "$IPO_LAB_RUN" "$IPO_LAB_VAR"
}

# ipo_lab_root_ruleset: the root namespace's nftables ruleset as text (for before/after checks).
ipo_lab_root_ruleset() {
  nft list ruleset
}

# ipo_lab_evidence: the server's ruleset, the agent's status and log tail, for failure reports.
ipo_lab_evidence() {
  echo "--- ip netns exec ipo-host nft list ruleset"
  ip netns exec ipo-host nft list ruleset 2>&1 || true
  echo "--- ipo-netctl status --json"
  ipo_lab_netctl status --json 2>&1 || true
  echo "--- tail $IPO_LAB_NETD_LOG"
  tail -n 60 "$IPO_LAB_NETD_LOG" 2>&1 || true
}
