# shellcheck shell=bash
# Start and stop a private dockerd (Debian docker.io) inside a network namespace, and build
# the busybox image from busybox-static (no registry is reachable).
# REQUIRES: ipo_common.sh sourced; root.

IPO_DOCKER_IMAGE=${IPO_DOCKER_IMAGE:-ipo-busybox:lab}

# ipo_dockerd_bin: print the daemon binary: $IPO_DOCKERD if set, else Debian's docker.io
#   /usr/sbin/dockerd, docker-ce's (Rocky 8) /usr/bin/dockerd, or dockerd on PATH. Resolved at
#   each call, never when this file is sourced: on a fresh machine the library is sourced
#   before the bootstrap installs docker.io. Returns 1 (and prints the Debian path) when none.
ipo_dockerd_bin() {
  local b
  if [[ -n ${IPO_DOCKERD:-} ]]; then
    printf '%s\n' "$IPO_DOCKERD"
    return 0
  fi
  for b in /usr/sbin/dockerd /usr/bin/dockerd "$(command -v dockerd 2>/dev/null || true)"; do
    [[ -n $b && -x $b ]] && { printf '%s\n' "$b"; return 0; }
  done
  printf '/usr/sbin/dockerd\n'
  return 1
}

# ipo_dockerd_start NETNS DIR [EXTRA_DOCKERD_ARGS...]
#   Starts dockerd in netns NETNS (must exist) with everything under DIR:
#   DIR/docker.sock, DIR/data, DIR/exec, DIR/dockerd.pid, DIR/dockerd.log, DIR/daemon.json.
#   $IPO_DOCKERD_DATA_ROOT, if set, replaces DIR/data (e.g. a disk directory while DIR is on
#   /run). The daemon reads its own DIR/daemon.json, never /etc/docker/daemon.json,
#   whose keys would conflict with the flags below; it puts the trust key in DIR/key.json
#   (not /etc/docker/key.json).
#   dockerd is started with nsenter --net (ip netns exec remounts /sys, and dockerd then dies
#   with "Devices cgroup isn't mounted"). Waits until the API answers.
ipo_dockerd_start() {
  local netns=$1 dir=$2
  shift 2
  local data=${IPO_DOCKERD_DATA_ROOT:-$dir/data}
  mkdir -p "$data" "$dir/exec"
  [[ -f $dir/daemon.json ]] || printf '{"deprecated-key-path": "%s/key.json"}\n' "$dir" >"$dir/daemon.json"
  # The daemon.json the installer sets on real hosts: the agent owns container networking.
  # Long paths break unix sockets: containerd's socket goes under the short exec root.
  local dockerd
  dockerd=$(ipo_dockerd_bin) || ipo_die "required command not found: dockerd (tried $dockerd, /usr/bin/dockerd, PATH)"
  nsenter --net="/run/netns/$netns" -- "$dockerd" \
    --config-file "$dir/daemon.json" \
    --iptables=false --ip6tables=false --ip-masq=false \
    --data-root "$data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" "$@" </dev/null >>"$dir/dockerd.log" 2>&1 &
  ipo_dockerd_wait_up $! "$dir" "dockerd in $netns"
}

# ipo_dockerd_wait_up PID DIR WHAT: wait (<= 60 s) until the dockerd PID answers on
#   DIR/docker.sock; if it exits or the time is up, show the end of DIR/dockerd.log and die
#   saying WHAT did not come up.
ipo_dockerd_wait_up() {
  local pid=$1 dir=$2 what=$3 deadline=$((SECONDS + 60))
  until curl -sf --unix-socket "$dir/docker.sock" http://docker/_ping >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -20 "$dir/dockerd.log" >&2
      ipo_die "$what did not come up (see $dir/dockerd.log)"
    fi
    sleep 0.1
  done
}

# ipo_dockerd_shim_pids DIR: pids of the containerd shims serving the dockerd of DIR (their
#   command line names DIR's containerd socket), one per line.
ipo_dockerd_shim_pids() {
  local dir=$1 f pid cmd
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    [[ $cmd == *containerd-shim* && $cmd == *" -address $dir/exec/"* ]] && printf '%s\n' "$pid"
  done
  return 0
}

# ipo_dockerd_stop DIR: stop the dockerd started with DIR (and its containerd), wait for exit,
#   then end shims it left behind (by pid) and unmount what remains under DIR and the data root.
ipo_dockerd_stop() {
  local dir=$1 pid
  if [[ -f $dir/dockerd.pid ]]; then
    pid=$(<"$dir/dockerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      ipo_stop_pid "$pid" 150 || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/dockerd.pid"
  fi
  # containerd-shim processes (and their containers' init processes) that dockerd left behind
  local shim child
  for shim in $(ipo_dockerd_shim_pids "$dir"); do
    for child in $(ps -o pid= --ppid "$shim"); do kill -9 "$child" 2>/dev/null || true; done
    kill -9 "$shim" 2>/dev/null || true
  done
  # overlay and netns mounts under the exec root and the data root
  local m data=${IPO_DOCKERD_DATA_ROOT:-$dir/data}
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$dir/" -v r="$data/" 'index($2, d) == 1 || index($2, r) == 1 {print $2}' /proc/mounts | sort -r)
}

# ipo_docker DIR ARGS...: the Debian docker CLI against the dockerd of DIR.
ipo_docker() {
  local dir=$1
  shift
  DOCKER_CONFIG="$dir/cli" /usr/bin/docker -H "unix://$dir/docker.sock" "$@"
}

# ipo_docker_image DIR: import $IPO_DOCKER_IMAGE from busybox-static unless present.
ipo_docker_image() {
  local dir=$1 root
  ipo_docker "$dir" image inspect "$IPO_DOCKER_IMAGE" >/dev/null 2>&1 && return 0
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/www" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in sh httpd wget nc sleep echo cat ip ifconfig ping hostname ls; do
    ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | ipo_docker "$dir" import -c 'CMD ["/bin/sh"]' - "$IPO_DOCKER_IMAGE" >/dev/null
  rm -rf "$root"
}
