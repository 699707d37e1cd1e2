# shellcheck shell=bash
# The ipo-host lab: four network namespaces (the server `ipo-host` and its clients `ipo-wan`,
# `ipo-lan-ok`, `ipo-lan-deny`), a private dockerd with docker_a/b/c inside ipo-host, a host
# service on port 22, and the agent (ipo-netd); the matrix that proves the policy is in
# ipo_lab_matrix.sh, sourced from here.
# Everything it makes lives in those namespaces, /run/ipo-lab and /var/lib/ipo-lab; nothing is
# added to the root namespace (no links, no rules), and ipo_lab_down removes all of it.
# Defines only ipo_lab_* functions and IPO_LAB_* variables; sourceable by tests.
# Not thread safe: callers serialise with ipo_lab_lock (scripts/lab does; CTest uses LOCK lab).
# REQUIRES: ipo_common.sh and ipo_dockerd.sh sourced; root; iproute2, nsenter, curl, jq, nft,
#   busybox, /usr/sbin/dockerd, /usr/bin/docker.

IPO_LAB_LIB=${BASH_SOURCE[0]}
IPO_LAB_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IPO_LAB_RUN=/run/ipo-lab
IPO_LAB_VAR=/var/lib/ipo-lab
IPO_LAB_DOCKER_DIR=$IPO_LAB_RUN/docker
IPO_LAB_DOCKER_DATA=$IPO_LAB_VAR/docker
IPO_LAB_DOCKER_SOCK=$IPO_LAB_RUN/docker.sock
IPO_LAB_NETD_RUN=$IPO_LAB_RUN/netd
IPO_LAB_NETD_STATE=$IPO_LAB_VAR/netd
IPO_LAB_NETD_LOG=$IPO_LAB_VAR/netd.log
IPO_LAB_NETD_PID=$IPO_LAB_RUN/netd.pid
IPO_LAB_HOSTSVC_DIR=$IPO_LAB_RUN/hostsvc
IPO_LAB_HOSTSVC_PID=$IPO_LAB_RUN/hostsvc.pid
IPO_LAB_POLICY=${IPO_LAB_POLICY:-$IPO_LAB_SRC/rules/policy.json}
# The lab's own system bus (these machines have none): the agent takes org.ipo.NetD1 there
# and ipo-netctl talks to it over the bus, as on a production host.
IPO_LAB_DBUS_DIR=$IPO_LAB_RUN/dbus
IPO_LAB_NAMESPACES=(ipo-host ipo-wan ipo-lan-ok ipo-lan-deny)
# Short probe timeouts (seconds): a dropped packet costs at most this much.
IPO_LAB_CONNECT_TIMEOUT=${IPO_LAB_CONNECT_TIMEOUT:-1}
IPO_LAB_PROBE_TIMEOUT=${IPO_LAB_PROBE_TIMEOUT:-2}

# Addresses: the server's WAN and LAN sides and the three clients.
IPO_LAB_HOST_WAN4=203.0.113.1
IPO_LAB_HOST_WAN6=2001:db8:1::1
IPO_LAB_WAN4=203.0.113.10
IPO_LAB_WAN6=2001:db8:1::10
IPO_LAB_HOST_LAN4=192.168.1.100
IPO_LAB_HOST_LAN6=fd00:192:168:1::100
IPO_LAB_LANOK4=192.168.1.10
IPO_LAB_LANOK6=fd00:192:168:1::10
IPO_LAB_LANDENY4=192.168.1.50
IPO_LAB_LANDENY6=fd00:192:168:1::50

# The three containers of the lab: name -> port its httpd listens on (body: its name).
declare -A IPO_LAB_PORTS=([docker_a]=8080 [docker_b]=3316 [docker_c]=80)

# The connectivity matrix (ipo_lab_probe, ipo_lab_matrix, ...) lives beside this file.
# shellcheck source=scripts/lib/ipo_lab_matrix.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_matrix.sh"
# The prober (ipo_lab_prober_*: forbidden/allowed paths hammered in the background).
# shellcheck source=scripts/lib/ipo_lab_prober.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_lab_prober.sh"
# shellcheck source=scripts/lib/ipo_dbus.sh
source "$(dirname "${BASH_SOURCE[0]}")/ipo_dbus.sh"

# ipo_lab_lock: take the lab's lock (flock on this library file; creates no file), wait up
#   to 300 s. Held until the calling process exits.
ipo_lab_lock() {
  exec {IPO_LAB_LOCK_FD}<"$IPO_LAB_LIB"
  flock -w 300 "$IPO_LAB_LOCK_FD" || ipo_die "another lab command holds the lock on $IPO_LAB_LIB"
}

# ipo_lab_unlocked CMD...: run CMD (a command or function, typically one that starts a
#   background process) without the lab lock's descriptor, so that long-lived processes do
#   not keep the lock after the lab command that started them has exited.
ipo_lab_unlocked() {
  if [[ -n ${IPO_LAB_LOCK_FD:-} ]]; then
    "$@" {IPO_LAB_LOCK_FD}<&-
  else
    "$@"
  fi
}

# ipo_lab_spawn PIDFILE LOG CMD...: start CMD in the background (stdin /dev/null, output
#   appended to LOG, without the lab lock's descriptor) and write its pid to PIDFILE.
ipo_lab_spawn() {
  local pidfile=$1 log=$2
  shift 2
  (
    if [[ -n ${IPO_LAB_LOCK_FD:-} ]]; then exec {IPO_LAB_LOCK_FD}<&-; fi
    exec "$@" </dev/null >>"$log" 2>&1
  ) &
  echo $! >"$pidfile"
}

# ipo_lab_host CMD...: run CMD in ipo-host's network namespace (nsenter: mounts unchanged).
ipo_lab_host() {
  nsenter --net=/run/netns/ipo-host -- "$@"
}

# ipo_lab_docker ARGS...: the docker CLI against the lab's dockerd.
ipo_lab_docker() {
  ipo_docker "$IPO_LAB_DOCKER_DIR" "$@"
}

# ipo_lab_ns_exists NS: 0 if network namespace NS exists.
ipo_lab_ns_exists() {
  [[ -e /run/netns/$1 ]]
}

# ipo_lab_pid_alive PIDFILE: 0 if PIDFILE names a live process.
ipo_lab_pid_alive() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# ipo_lab_kill_pidfile PIDFILE [GRACE_SECONDS]: TERM the process, KILL it after the grace
#   period (default 10 s), remove PIDFILE. Succeeds if there was nothing to stop.
ipo_lab_kill_pidfile() {
  local file=$1 grace=${2:-10} pid i
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# ipo_lab_net_up: create the namespaces, links, addresses, routes and sysctls.
ipo_lab_net_up() {
  local ns
  for ns in "${IPO_LAB_NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ipo_lab_net_plumb
}

# ipo_lab_net_plumb: the links, addresses, routes and sysctls between existing namespaces
#   (ipo_lab_net_up's second half; also used to re-plumb a recreated ipo-host to the clients
#   that survived it: the clients' eth0 ends vanish with the server's namespace).
ipo_lab_net_plumb() {
  local ns
  # WAN: one veth ipo-host/wan0 <-> ipo-wan/eth0, created directly inside the namespaces.
  ip -n ipo-host link add wan0 type veth peer name eth0 netns ipo-wan
  ip -n ipo-host addr add "$IPO_LAB_HOST_WAN4/24" dev wan0
  ip -n ipo-host addr add "$IPO_LAB_HOST_WAN6/64" dev wan0 nodad
  ip -n ipo-host link set wan0 up
  ip -n ipo-wan addr add "$IPO_LAB_WAN4/24" dev eth0
  ip -n ipo-wan addr add "$IPO_LAB_WAN6/64" dev eth0 nodad
  ip -n ipo-wan link set eth0 up
  ip -n ipo-wan route add default via "$IPO_LAB_HOST_WAN4"
  ip -n ipo-wan -6 route add default via "$IPO_LAB_HOST_WAN6"
  # LAN: bridge lan0 in ipo-host with one veth port per LAN client.
  ip -n ipo-host link add lan0 type bridge
  ip -n ipo-host addr add "$IPO_LAB_HOST_LAN4/24" dev lan0
  ip -n ipo-host addr add "$IPO_LAB_HOST_LAN6/64" dev lan0 nodad
  ip -n ipo-host link set lan0 up
  local client port addr4 addr6
  for client in lan-ok lan-deny; do
    ns=ipo-$client
    if [[ $client == lan-ok ]]; then
      addr4=$IPO_LAB_LANOK4 addr6=$IPO_LAB_LANOK6
    else
      addr4=$IPO_LAB_LANDENY4 addr6=$IPO_LAB_LANDENY6
    fi
    port=$client
    ip -n ipo-host link add "$port" type veth peer name eth0 netns "$ns"
    ip -n ipo-host link set "$port" master lan0 up
    ip -n "$ns" addr add "$addr4/24" dev eth0
    ip -n "$ns" addr add "$addr6/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$IPO_LAB_HOST_LAN4"
    ip -n "$ns" -6 route add default via "$IPO_LAB_HOST_LAN6"
  done
  # The server routes (clients reach container subnets through it); bridged traffic is not
  # handed to iptables/nft inet hooks, so isolation cannot depend on br_netfilter.
  ip netns exec ipo-host sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
  ip netns exec ipo-host sh -c '
    for k in bridge-nf-call-iptables bridge-nf-call-ip6tables; do
      [ -e /proc/sys/net/bridge/$k ] && echo 0 >/proc/sys/net/bridge/$k
    done; true'
}

# ipo_lab_hostsvc_start: the operator's own service on the server (stand-in for sshd): busybox
#   httpd on port 22, all addresses, answering "ipo-host".
ipo_lab_hostsvc_start() {
  mkdir -p "$IPO_LAB_HOSTSVC_DIR"
  echo ipo-host >"$IPO_LAB_HOSTSVC_DIR/index.html"
  ipo_lab_spawn "$IPO_LAB_HOSTSVC_PID" /dev/null \
    nsenter --net=/run/netns/ipo-host -- busybox httpd -f -p '[::]:22' -h "$IPO_LAB_HOSTSVC_DIR"
  ipo_wait_for 10 ipo_lab_host curl -sf --noproxy '*' -m 1 http://127.0.0.1:22/ ||
    ipo_die "host service on ipo-host:22 did not answer"
}

# ipo_lab_dockerd_start: start the lab's dockerd in ipo-host (API also at $IPO_LAB_DOCKER_SOCK,
#   data under $IPO_LAB_DOCKER_DATA, its own cgroup parent "ipo-lab"), with the build tree's
#   ipo-netd-proxy as its userland proxy (as docker-daemon.json sets on a host): `-p` only
#   reserves the host port; the agent publishes it.
ipo_lab_dockerd_start() {
  local proxy
  proxy=$(ipo_lab_agent_bin ipo-netd-proxy) || ipo_die "ipo-netd-proxy is not built under ${IPO_BUILD:-$IPO_LAB_SRC/build}"
  mkdir -p "$IPO_LAB_DOCKER_DIR"
  IPO_DOCKERD_DATA_ROOT=$IPO_LAB_DOCKER_DATA ipo_lab_unlocked ipo_dockerd_start ipo-host "$IPO_LAB_DOCKER_DIR" \
    -H "unix://$IPO_LAB_DOCKER_SOCK" --cgroup-parent ipo-lab --userland-proxy-path "$proxy"
}

# ipo_lab_dockerd_stop: stop the lab's dockerd (its containers stop with it).
ipo_lab_dockerd_stop() {
  IPO_DOCKERD_DATA_ROOT=$IPO_LAB_DOCKER_DATA ipo_dockerd_stop "$IPO_LAB_DOCKER_DIR"
  rm -f "$IPO_LAB_DOCKER_SOCK"
}

# ipo_lab_container_run NAME PORT BODY [DOCKER_RUN_FLAGS...]: start a container from the lab
#   image, as plainly as a default install would (default bridge unless flags say otherwise),
#   serving BODY on PORT with busybox httpd. Its shell ends on SIGTERM so `docker stop` is quick.
ipo_lab_container_run() {
  local name=$1 port=$2 body=$3
  shift 3
  ipo_lab_docker run -d --name "$name" "$@" "$IPO_DOCKER_IMAGE" sh -c \
    "echo $body >/www/index.html; trap 'exit 0' TERM INT; httpd -f -p $port -h /www & wait" >/dev/null
}

# ipo_lab_containers_start: import the image and start docker_a, docker_b and docker_c.
ipo_lab_containers_start() {
  ipo_docker_image "$IPO_LAB_DOCKER_DIR"
  local name
  for name in docker_a docker_b docker_c; do
    ipo_lab_container_run "$name" "${IPO_LAB_PORTS[$name]}" "$name"
  done
}

# ipo_lab_containers_ensure_running: start any of docker_a/b/c that exists but is stopped.
ipo_lab_containers_ensure_running() {
  local name
  for name in docker_a docker_b docker_c; do
    if [[ $(ipo_lab_docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null) == false ]]; then
      ipo_lab_docker start "$name" >/dev/null
    fi
  done
}

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

# ipo_lab_agent_start: start ipo-netd inside ipo-host in the background (log $IPO_LAB_NETD_LOG),
#   on the lab's system bus.
ipo_lab_agent_start() {
  local bin
  bin=$(ipo_lab_agent_bin ipo-netd) || ipo_die "ipo-netd is not built under ${IPO_BUILD:-$IPO_LAB_SRC/build}"
  mkdir -p "$IPO_LAB_NETD_RUN" "$IPO_LAB_NETD_STATE"
  ipo_lab_bus_start
  ipo_lab_spawn "$IPO_LAB_NETD_PID" "$IPO_LAB_NETD_LOG" \
    env DBUS_SYSTEM_BUS_ADDRESS="$(ipo_lab_bus_address)" nsenter --net=/run/netns/ipo-host -- "$bin" --policy "$IPO_LAB_POLICY" \
    --docker-host "unix://$IPO_LAB_DOCKER_SOCK" --state-dir "$IPO_LAB_NETD_STATE" --run-dir "$IPO_LAB_NETD_RUN" \
    --docker-root "$IPO_LAB_DOCKER_DATA"
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

# ipo_lab_docker_view: JSON array of `docker inspect` for the policy's containers that exist.
ipo_lab_docker_view() {
  local names
  mapfile -t names < <(jq -r '.containers[].name' "$IPO_LAB_POLICY")
  ipo_lab_docker inspect "${names[@]}" 2>/dev/null || true
}

# ipo_lab_converged: 0 if the agent reports health ok, no drift, and for every policy container
#   agrees with Docker: a running container is on exactly its policy network (Docker's view)
#   and the agent shows it running there with Docker's current IPv4; a stopped or absent one
#   is not shown running. Prints nothing.
ipo_lab_converged() {
  local status docker
  status=$(ipo_lab_netctl status --json 2>/dev/null) || return 1
  docker=$(ipo_lab_docker_view)
  [[ -n $docker ]] || docker='[]'
  jq -e --slurpfile policy "$IPO_LAB_POLICY" --argjson docker "$docker" '
    ($docker | map({key: (.Name | ltrimstr("/")), value: .}) | from_entries) as $d
    | .health == "ok" and .drift == false and
      ([ $policy[0].containers[] as $c
         | ([ (.containers // [])[] | select(.name == $c.name) ] | first) as $s
         | $d[$c.name] as $dc
         | if ($dc != null and $dc.State.Running) then
             $s != null and $s.running == true
             and ((($s.networks // []) | index($c.network)) != null)
             and (($dc.NetworkSettings.Networks | keys) == [$c.network])
             and $s.ipv4 == $dc.NetworkSettings.Networks[$c.network].IPAddress
           else ($s == null or $s.running != true) end
       ] | all)' <<<"$status" >/dev/null
}

# ipo_lab_wait_converged [SECONDS]: wait (default 60 s) for ipo_lab_converged; on timeout print
#   the agent's status and log tail and return 1.
ipo_lab_wait_converged() {
  local timeout=${1:-60}
  if ! ipo_wait_for "$timeout" ipo_lab_converged; then
    ipo_warn "agent did not converge within ${timeout}s; status and log tail follow"
    ipo_lab_netctl status --json >&2 || true
    tail -n 40 "$IPO_LAB_NETD_LOG" >&2 2>/dev/null || true
    return 1
  fi
}

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

# ipo_lab_kill_ns_pids NS: end, by pid, every process still inside namespace NS (all of them
#   were started by the lab).
ipo_lab_kill_ns_pids() {
  local pid
  ipo_lab_ns_exists "$1" || return 0
  for pid in $(ip netns pids "$1" 2>/dev/null); do
    kill -9 "$pid" 2>/dev/null || true
  done
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

# ipo_lab_dockerd_start_native: start the lab's dockerd in ipo-host like
#   ipo_lab_dockerd_start, but WITHOUT the --iptables=false/--ip6tables=false/--ip-masq=false
#   flags: Docker's own iptables handling is whatever $IPO_LAB_DOCKER_DIR/daemon.json says
#   (default on), as on a host before the agent is installed. Waits until the API answers.
ipo_lab_dockerd_start_native() {
  local dir=$IPO_LAB_DOCKER_DIR
  mkdir -p "$IPO_LAB_DOCKER_DATA" "$dir/exec"
  [[ -f $dir/daemon.json ]] || printf '{"deprecated-key-path": "%s/key.json"}\n' "$dir" >"$dir/daemon.json"
  local dockerd
  dockerd=$(ipo_dockerd_bin) || ipo_die "required command not found: dockerd (tried $dockerd, /usr/bin/dockerd, PATH)"
  ipo_lab_unlocked nsenter --net=/run/netns/ipo-host -- "$dockerd" \
    --config-file "$dir/daemon.json" \
    --data-root "$IPO_LAB_DOCKER_DATA" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" -H "unix://$IPO_LAB_DOCKER_SOCK" --cgroup-parent ipo-lab \
    </dev/null >>"$dir/dockerd.log" 2>&1 &
  ipo_dockerd_wait_up $! "$dir" "dockerd (native iptables) in ipo-host"
}

# ipo_lab_dockerd_restart_native: what `systemctl restart docker` does to the lab's dockerd:
#   SIGTERM, wait (<= 20 s) for it to exit (with live-restore the containers keep running;
#   their shims are left alone), then ipo_lab_dockerd_start_native.
ipo_lab_dockerd_restart_native() {
  local pid
  if [[ -f $IPO_LAB_DOCKER_DIR/dockerd.pid ]]; then
    pid=$(<"$IPO_LAB_DOCKER_DIR/dockerd.pid")
    ipo_stop_pid "$pid" 200 || ipo_die "dockerd $pid did not stop within 20 s"
  fi
  ipo_lab_dockerd_start_native
}
