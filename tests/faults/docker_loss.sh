#!/usr/bin/env bash
# Fault test: Docker disappears abruptly (lab_dockerd_restart covers the graceful stop).
# With the prober on every forbidden path and an allowed prober on the clients:
#  1. dockerd SIGKILL (its containerd and the containers keep running, as after a dockerd
#     crash): the agent reports degraded and keeps running; the kernel ruleset stays
#     identical (nft -s) and the containers stay reachable on their allowed paths; dockerd
#     restarts, the agent reconnects and converges.
#  2. Docker socket loss: the agent's API socket is renamed away while dockerd keeps
#     running, and docker_c is restarted through dockerd's other socket (the agent gets the
#     event on its open stream but cannot inspect): rules stay protective (0 forbidden);
#     once the socket is back the agent reconnects and converges to docker_c's new state.
#  3. dockerd restarted gracefully without live-restore: the containers stop (docker_b, which
#     is published with -p 3316:3316 and restart policy always, comes back by itself, so
#     docker-proxy re-binds host port 3316 as soon as dockerd is up, possibly before the
#     agent has reconnected): WAN -> host:3316 must stay closed all along.
# docker_b runs with -p 3316:3316 --restart always for the whole test (docker-proxy on the
# host, the INPUT path).
set -Eeuo pipefail
# shellcheck source=tests/faults/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

# agent_health: the agent's health word (or "unknown").
agent_health() {
  # (status exits 3 while unhealthy: take its output whatever the exit code)
  { ipo_lab_netctl status --json 2>/dev/null || true; } | jq -r '.health // "unknown"' 2>/dev/null
}

# agent_degraded: 0 if the agent reports degraded.
agent_degraded() {
  [[ $(agent_health) == degraded ]]
}

main() {
  fault_begin
  local before after t0 pid
  lab_test_mark
  ipo_lab_docker rm -f docker_b >/dev/null
  ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 --restart always
  lab_test_converge "docker_b recreated with -p 3316:3316 --restart always" 60
  # The window while a -p container is created is faults_publish_race's subject.
  sleep 1
  FAULT_SINCE_MS=$(date +%s%3N)
  before=$(fault_ruleset)

  # 1. dockerd SIGKILL
  pid=$(<"$IPO_LAB_DOCKER_DIR/dockerd.pid")
  t0=$SECONDS
  kill -9 "$pid"
  ipo_info "dockerd (pid $pid) SIGKILLed"
  lab_test_check "dockerd gone" ipo_wait_for 10 bash -c '! kill -0 "$0" 2>/dev/null' "$pid"
  lab_test_check "agent reports degraded without dockerd" ipo_wait_for 30 agent_degraded
  lab_test_check "agent still running" ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
  after=$(fault_ruleset)
  lab_test_check "kernel ruleset identical while dockerd is dead" test "$after" == "$before"
  if ipo_wait_for 15 ipo_lab_allowed_check ipo-wan ipo-lan-ok ipo-lan-deny; then
    ipo_info "ok: allowed client paths still answer while dockerd is dead"
  else
    ipo_lab_allowed_check ipo-wan ipo-lan-ok ipo-lan-deny >&2 || true
    lab_test_fail "allowed client paths still answer while dockerd is dead"
  fi
  sleep 3
  # Bring dockerd back (it was killed, so clean up as a real restart would: its pid file and
  # socket are stale).
  rm -f "$IPO_LAB_DOCKER_DIR/dockerd.pid" "$IPO_LAB_DOCKER_SOCK"
  lab_test_mark
  ipo_lab_dockerd_start
  ipo_lab_containers_ensure_running
  lab_test_converge "dockerd SIGKILL and restart" 90
  ipo_info "dockerd SIGKILL: converged $((SECONDS - t0)) s after the kill"
  lab_test_matrix "after dockerd SIGKILL and restart"

  # 2. socket loss
  before=$(fault_ruleset)
  mv "$IPO_LAB_DOCKER_SOCK" "$IPO_LAB_DOCKER_SOCK.hidden"
  ipo_info "agent's Docker socket $IPO_LAB_DOCKER_SOCK renamed away"
  lab_test_mark
  t0=$SECONDS
  ipo_lab_docker restart -t 1 docker_c >/dev/null
  sleep 5
  lab_test_check "agent still running without its socket" ipo_lab_pid_alive "$IPO_LAB_NETD_PID"
  ipo_info "agent health without its socket: $(agent_health)"
  mv "$IPO_LAB_DOCKER_SOCK.hidden" "$IPO_LAB_DOCKER_SOCK"
  ipo_info "socket back"
  lab_test_converge "socket loss during docker restart docker_c" 60
  ipo_info "socket loss: converged $((SECONDS - t0)) s after docker_c's restart"
  lab_test_matrix "after socket loss"

  # 3. graceful dockerd restart without live-restore (containers stop and restart)
  local t_ms ok3
  t_ms=$(date +%s%3N)
  lab_test_mark
  ipo_lab_dockerd_stop
  ipo_lab_dockerd_start
  ipo_lab_containers_ensure_running
  lab_test_converge "graceful dockerd restart (containers restarted, docker-proxy re-bound)" 90
  sleep 2
  ok3=$(ipo_lab_prober_since "$FAULT_FORBIDDEN" "$t_ms")
  ipo_info "forbidden successes during the graceful dockerd restart: $ok3"
  if ((ok3 > 0)); then
    awk -v t="$(date -u -d "@${t_ms:0:-3}" +%H:%M:%S)" '$1 >= t' "$FAULT_FORBIDDEN/successes.log" | head -n 20
  fi
  lab_test_check "0 forbidden successes while docker-proxy re-bound its ports (got $ok3)" test "$ok3" -eq 0
  lab_test_matrix "after graceful dockerd restart"
  fault_end
}

main "$@"
