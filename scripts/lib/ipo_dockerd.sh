# shellcheck shell=bash
# Start and stop a private dockerd (Debian docker.io) inside a network namespace, and build
# the busybox image from busybox-static (no registry is reachable).
# REQUIRES: ipo_common.sh sourced; root.

IPO_DOCKER_IMAGE=${IPO_DOCKER_IMAGE:-ipo-busybox:lab}

# ipo_dockerd_start NETNS DIR [EXTRA_DOCKERD_ARGS...]
#   Starts dockerd in netns NETNS (must exist) with everything under DIR:
#   DIR/docker.sock, DIR/data, DIR/exec, DIR/dockerd.pid, DIR/dockerd.log.
#   dockerd is started with nsenter --net (ip netns exec remounts /sys, and dockerd then dies
#   with "Devices cgroup isn't mounted"). Waits until the API answers.
ipo_dockerd_start() {
  local netns=$1 dir=$2
  shift 2
  mkdir -p "$dir/data" "$dir/exec"
  # The daemon.json the installer sets on real hosts: the agent owns container networking.
  # Long paths break unix sockets: containerd's socket goes under the short exec root.
  nsenter --net="/run/netns/$netns" -- /usr/sbin/dockerd \
    --iptables=false --ip6tables=false --ip-masq=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" "$@" >>"$dir/dockerd.log" 2>&1 &
  ipo_wait_for 60 curl -sf --unix-socket "$dir/docker.sock" http://docker/_ping ||
    { tail -20 "$dir/dockerd.log" >&2; ipo_die "dockerd in $netns did not come up (see $dir/dockerd.log)"; }
}

# ipo_dockerd_stop DIR: stop the dockerd started with DIR (and its containerd), wait for exit.
ipo_dockerd_stop() {
  local dir=$1 pid
  [[ -f $dir/dockerd.pid ]] || return 0
  pid=$(<"$dir/dockerd.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/dockerd.pid"
  # containerd-shim processes of containers that dockerd left behind
  pkill -f -- "-namespace moby.*$dir" 2>/dev/null || true
  # overlay mounts under the data root
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$dir" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
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
