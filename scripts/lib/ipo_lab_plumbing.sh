# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): namespaces, links, addresses and the lab's own processes: the lock, running a command in
# ipo-host, background processes by pid file, the host service on port 22.

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
  local file=$1 grace=${2:-10} pid
  [[ -f $file ]] || return 0
  pid=$(<"$file")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    ipo_stop_pid "$pid" $((grace * 10)) || kill -9 "$pid" 2>/dev/null || true
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

# ipo_lab_kill_ns_pids NS: end, by pid, every process still inside namespace NS (all of them
#   were started by the lab).
ipo_lab_kill_ns_pids() {
  local pid
  ipo_lab_ns_exists "$1" || return 0
  for pid in $(ip netns pids "$1" 2>/dev/null); do
    kill -9 "$pid" 2>/dev/null || true
  done
}
