#!/usr/bin/env bash
# Test: the live migration of scripts/install-agent (--migrate-only) from Docker's own
# iptables handling and userland proxy (docker-proxy) to the agent, in the lab. dockerd runs
# in ipo-host WITH iptables on and docker-proxy (its daemon.json has neither key), the
# containers are published with -p (docker_a 8080:8080, docker_b 3316:3316 and 9999:3316, a
# port the policy does not publish, docker_c 80:80, restart policy always), so Docker's own
# DOCKER/DOCKER-USER/DOCKER-ISOLATION chains, its nat rules and docker-proxy listeners are in
# the ipo-host namespace. The prober also aims at host port 9999 from the WAN and lan-deny. The prober hammers every forbidden path from the start; the migration marks its
# steps (--mark-dir). Successes before the restore are Docker's own holes (the baseline,
# printed). Between the restore and the agent's takeover (containers moved off docker0, their
# ports and docker-proxy's in the ruleset) Docker's holes may persist, but no path that was
# closed in the baseline may open (no new window); from the takeover on (Docker restart,
# leftover removal, to the end) 0 forbidden connections may succeed. Afterwards
# Docker's chains and rules are gone, daemon.json says iptables=false and names
# ipo-netd-proxy as the userland proxy, no docker-proxy is left and nothing listens on the -p
# ports (Docker 20.10 with live-restore starts no userland proxy for restored containers; a
# container started afterwards with -p 9998:3316 gets its port reserved by ipo-netd-proxy,
# which never listens), a Docker restart does not bring any of it back, and the matrix holds (plus the -p host ports closed to WAN and lan-deny; 9999 open from
# lan-ok, published by the agent).
# Internal hook modes (used by the migration's --agent-start/--docker-restart):
#   migrate.sh --hook-agent-start | --hook-docker-reload | --hook-docker-restart
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
PROBE_DIR=

# docker_chains: Docker's chains in ipo-host (iptables and ip6tables, filter and nat).
docker_chains() {
  local tool table
  for tool in iptables ip6tables; do
    for table in filter nat; do
      ip netns exec ipo-host "$tool" -t "$table" -S 2>/dev/null | awk -v t="$tool/$table" '$1 == "-N" && $2 ~ /^DOCKER/ {print t ":" $2}'
    done
  done
}

# docker_rules: every iptables rule in ipo-host that mentions DOCKER or docker0.
docker_rules() {
  local tool table
  for tool in iptables ip6tables; do
    for table in filter nat; do
      ip netns exec ipo-host "$tool" -t "$table" -S 2>/dev/null | grep -E 'DOCKER|docker0|br-' | sed "s|^|$tool/$table: |" || true
    done
  done
}

# docker_proxies: Docker's own docker-proxy processes serving the lab's dockerd, one a line.
docker_proxies() {
  pgrep -a -f -- '(^|/)docker-proxy -proto' || true
}

# listeners_on PORT...: TCP listeners in ipo-host on any of the ports, one a line.
listeners_on() {
  local port
  for port in "$@"; do ip netns exec ipo-host ss -Hltn "sport = :$port" 2>/dev/null || true; done
}

# aim_9999: add forbidden prober paths to host port 9999 from the WAN and lan-deny.
aim_9999() {
  local row key
  for row in "ipo-wan|v4 host-wan 9999|$IPO_LAB_HOST_WAN4|9999|closed" \
    "ipo-wan|v6 host-wan 9999|$IPO_LAB_HOST_WAN6|9999|closed" \
    "ipo-lan-deny|v4 host-lan 9999|$IPO_LAB_HOST_LAN4|9999|closed" \
    "ipo-lan-deny|v6 host-lan 9999|$IPO_LAB_HOST_LAN6|9999|closed"; do
    key=extra_${row%%|*}_$(cut -d'|' -f2 <<<"$row" | tr ' ' _)
    printf '%s\n' "$row" >"$PROBE_DIR/rows/$key"
  done
}

main() {
  lab_test_begin --no-agent
  trap lab_test_finish_prober EXIT
  # dockerd as a host looks before the agent: Docker's own iptables on.
  ipo_lab_docker rm -f docker_a docker_b docker_c >/dev/null
  ipo_lab_dockerd_stop
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$IPO_LAB_DOCKER_DIR" >"$IPO_LAB_DOCKER_DIR/daemon.json"
  ipo_lab_dockerd_start_native
  ipo_lab_container_run docker_a 8080 docker_a -p 8080:8080 --restart always
  ipo_lab_container_run docker_b 3316 docker_b -p 3316:3316 -p 9999:3316 --restart always
  ipo_lab_container_run docker_c 80 docker_c -p 80:80 --restart always
  echo "=== Docker's own rules in ipo-host before the migration:"
  ip netns exec ipo-host iptables -S
  ip netns exec ipo-host iptables -t nat -S
  ip netns exec ipo-host nft list tables
  lab_test_check "Docker made its chains (iptables on)" test -n "$(docker_chains)"
  ipo_info "FORWARD policy under Docker: $(ip netns exec ipo-host iptables -S FORWARD | head -n 1) (Docker sets DROP only when it enabled ip_forward itself; the lab had it on)"

  lab_test_check "prober counts a success on an allowed path" ipo_lab_prober_selftest
  PROBE_DIR=$(mktemp -d /tmp/ipo-migrate-prober.XXXXXX)
  local n
  n=$(ipo_lab_prober_start "$PROBE_DIR" forbidden ipo-wan ipo-lan-deny docker_a docker_b docker_c)
  aim_9999
  ipo_info "prober: $n forbidden paths, and 4 to host port 9999"
  lab_test_check "Docker's docker-proxy serves the -p ports before the migration" test -n "$(docker_proxies)"
  sleep 4

  local netctl t0 rc=0 marks
  netctl=$(ipo_lab_agent_bin ipo-netctl)
  marks=$PROBE_DIR/marks
  mkdir -p "$marks"
  t0=$SECONDS
  "$IPO_SRC/scripts/install-agent" --migrate-only --netns ipo-host \
    --docker-host "unix://$IPO_LAB_DOCKER_SOCK" --daemon-json "$IPO_LAB_DOCKER_DIR/daemon.json" \
    --policy "$IPO_LAB_POLICY" --state-dir "$IPO_LAB_NETD_STATE" --run-dir "$IPO_LAB_NETD_RUN" \
    --netctl "$netctl" --wait 90 --mark-dir "$marks" --proxy-path "$(ipo_lab_agent_bin ipo-netd-proxy)" \
    --agent-start "bash '$SELF' --hook-agent-start" \
    --docker-reload "bash '$SELF' --hook-docker-reload" \
    --docker-restart "bash '$SELF' --hook-docker-restart" || rc=$?
  ipo_info "migration took $((SECONDS - t0)) s (exit $rc)"
  lab_test_check "install-agent --migrate-only succeeded" test "$rc" -eq 0
  rm -f "$IPO_LAB_RUN/no-agent"
  sleep 3

  echo "=== forbidden paths during the whole test (attempts, successes):"
  ipo_lab_prober_stop "$PROBE_DIR"
  local restored_ms took_ms total early late before step
  for step in restored took-over docker-restarted cleaned; do
    if [[ -f $marks/$step ]]; then
      ipo_info "migration step '$step' done at $(date -u -r "$marks/$step" +%H:%M:%S.%3N)"
    else
      lab_test_fail "the migration did not mark step '$step'"
    fi
  done
  restored_ms=$(date -r "$marks/restored" +%s%3N 2>/dev/null || echo 0)
  took_ms=$(date -r "$marks/took-over" +%s%3N 2>/dev/null || echo 0)
  total=$(ipo_lab_prober_successes "$PROBE_DIR")
  late=$(ipo_lab_prober_since "$PROBE_DIR" "$took_ms")
  early=$(($(ipo_lab_prober_since "$PROBE_DIR" "$restored_ms") - late))
  before=$((total - early - late))
  ipo_info "forbidden successes: $before before the restore (Docker's own holes), $early between restore and takeover, $late from the takeover to the end"
  # Paths that opened between restore and takeover although they were closed before.
  local f key new_paths=''
  for f in "$PROBE_DIR"/log/*; do
    key=${f##*/}
    if awk -v a="$restored_ms" -v b="$took_ms" '$2 == "ok" && $1 >= a && $1 < b {n++} END {exit !(n > 0)}' "$f" &&
      ! awk -v a="$restored_ms" '$2 == "ok" && $1 < a {n++} END {exit !(n > 0)}' "$f"; then
      new_paths+=" $key"
    fi
  done
  if [[ -n $new_paths ]]; then
    grep -F "" "$PROBE_DIR/successes.log" | tail -n 40
  fi
  lab_test_check "no forbidden path closed under Docker opened during the migration (new:${new_paths:- none})" test -z "$new_paths"
  if ((late > 0)); then
    tail -n 40 "$PROBE_DIR/successes.log"
  fi
  lab_test_check "0 forbidden successes from the agent's takeover on (got $late)" test "$late" -eq 0
  lab_test_check "the prober made attempts after the takeover" \
    test "$(cat "$PROBE_DIR"/log/* | awk -v t="$took_ms" '$1 >= t' | wc -l)" -gt 50
  rm -rf "$PROBE_DIR"
  PROBE_DIR=

  echo "=== iptables in ipo-host after the migration:"
  ip netns exec ipo-host iptables -S 2>&1 || true
  ip netns exec ipo-host iptables -t nat -S 2>&1 || true
  ip netns exec ipo-host nft list tables
  lab_test_check "no Docker chain left" test -z "$(docker_chains)"
  lab_test_check "no Docker rule left" test -z "$(docker_rules)"
  lab_test_check "daemon.json: iptables false, other keys kept" \
    jq -e '.iptables == false and .ip6tables == false and has("deprecated-key-path")' "$IPO_LAB_DOCKER_DIR/daemon.json"
  lab_test_check "daemon.json: userland-proxy-path is ipo-netd-proxy" \
    jq -e --arg p "$(ipo_lab_agent_bin ipo-netd-proxy)" '."userland-proxy-path" == $p' "$IPO_LAB_DOCKER_DIR/daemon.json"
  lab_test_check "no docker-proxy left after the migration (got: $(docker_proxies | head -n 3))" test -z "$(docker_proxies)"
  # Docker 20.10 with live-restore starts no userland proxy for the restored containers
  # (docker-proxy died with the old dockerd): the ports are free until a container restarts.
  lab_test_check "nothing listens on the -p ports (got: $(listeners_on 8080 3316 9999 80 | head -n 3))" \
    test -z "$(listeners_on 8080 3316 9999 80)"
  # live-restore: the containers keep running, so no container event follows the restart.
  ipo_lab_dockerd_restart_native
  ipo_lab_containers_ensure_running
  lab_test_check "agent converged after Docker restarted once more" ipo_lab_wait_converged 60
  lab_test_check "Docker's chains did not come back after another restart" test -z "$(docker_chains)"
  lab_test_check "no docker-proxy after another restart" test -z "$(docker_proxies)"
  # A container started after the migration: its -p port is reserved by ipo-netd-proxy (which
  # never listens) and published by the agent for the LAN allowlist only (matrix rows below).
  lab_test_mark
  ipo_lab_container_run extra 3316 docker_b -p 9998:3316
  lab_test_converge "docker run -p 9998:3316 after the migration" 60
  lab_test_check "the new container's -p port is reserved by ipo-netd-proxy (9998)" \
    bash -c 'pgrep -f -- "ipo-netd-proxy -proto tcp .*-host-port 9998 " >/dev/null'
  lab_test_check "nothing listens on it (got: $(listeners_on 9998 | head -n 3))" test -z "$(listeners_on 9998)"
  local extra=() fam hw hl new_ok
  for fam in 4 6; do
    if [[ $fam == 4 ]]; then hw=$IPO_LAB_HOST_WAN4 hl=$IPO_LAB_HOST_LAN4; else hw=$IPO_LAB_HOST_WAN6 hl=$IPO_LAB_HOST_LAN6; fi
    # "extra" is not in the policy and stays on docker0, which has no IPv6 address: its [::]
    # binding has no IPv6 target, and a DNAT cannot turn IPv6 into IPv4 (docker-proxy could).
    new_ok=docker_b
    [[ $fam == 6 ]] && new_ok=closed
    extra+=("ipo-wan|v$fam host-wan proxy|$hw|3316|closed"
      "ipo-wan|v$fam host-wan -p new|$hw|9998|closed"
      "ipo-lan-deny|v$fam host-lan -p new|$hl|9998|closed"
      "ipo-lan-ok|v$fam host-lan -p new|$hl|9998|$new_ok"
      "ipo-wan|v$fam host-wan -p|$hw|9999|closed"
      "ipo-lan-deny|v$fam host-lan -p|$hl|9999|closed"
      "ipo-lan-ok|v$fam host-lan -p|$hl|9999|docker_b")
  done
  lab_test_matrix "after the migration" "${extra[@]}"
}

case ${1:-} in
  --hook-agent-start) ipo_lab_agent_start ;;
  --hook-docker-restart) ipo_lab_dockerd_restart_native ;;
  --hook-docker-reload) kill -HUP "$(cat "$IPO_LAB_DOCKER_DIR/dockerd.pid")" ;;
  *) main "$@" ;;
esac
