# shellcheck shell=bash
# The ipo-host lab (scripts/lib/ipo_lab.sh, which sources this file): the lab's dockerd (with the agent's userland proxy, or native iptables) and its containers
# docker_a, docker_b, docker_c.

# ipo_lab_docker ARGS...: the docker CLI against the lab's dockerd.
ipo_lab_docker() {
  ipo_docker "$IPO_LAB_DOCKER_DIR" "$@"
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
