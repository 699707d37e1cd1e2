#!/usr/bin/env bash
# Test: a container cannot lock the operator out of a host service. The lab's host service
# (stand-in for sshd) listens on port 22 of ipo-host and is reachable from the WAN, lan-ok and
# lan-deny. Then `docker create -p 22:22` (never started) and `docker run -p 22:22` (which
# must fail to start: the host holds 22) are done. Port 22 must stay reachable from
# everywhere it was, every attempt of an "allowed" prober on 22 must succeed, the forbidden
# paths stay closed (prober), and the agent's status names the conflict (container, port).
# Before this, the agent put 22 into its guarded `proxy-ports` set as soon as the container
# existed: new connections from outside the allowlist were dropped (+120 s grace after rm).
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

PROBE_DIR=
HOST22_DIR=

# lockout_finish: EXIT trap: stop the port-22 prober (by pid), then the forbidden one and the lab.
lockout_finish() {
  local rc=$?
  [[ -n $HOST22_DIR ]] && ipo_lab_prober_kill "$HOST22_DIR"
  (exit "$rc")
  lab_test_finish_prober
}

# lockout_host22_start: an "allowed" prober on port 22 only, from the WAN, lan-ok and lan-deny,
#   v4 and v6 (rows of the matrix whose port is 22), in HOST22_DIR.
lockout_host22_start() {
  local row from label host port expected key
  HOST22_DIR=$(mktemp -d /tmp/ipo-lockout-host22.XXXXXX)
  mkdir -p "$HOST22_DIR/rows" "$HOST22_DIR/log"
  [[ -p $HOST22_DIR/pause.fifo ]] || mkfifo "$HOST22_DIR/pause.fifo"
  echo allowed >"$HOST22_DIR/mode"
  : >"$HOST22_DIR/pids"
  : >"$HOST22_DIR/successes.log"
  touch "$HOST22_DIR/run"
  while IFS= read -r row; do
    IFS='|' read -r from label host port expected <<<"$row"
    [[ $port == 22 ]] || continue
    _ipo_lab_prober_key key "$from" "$label" "$port"
    printf '%s\n' "$row" >"$HOST22_DIR/rows/$key"
    : >>"$HOST22_DIR/log/$key"
    ipo_lab_unlocked _ipo_lab_prober_loop "$HOST22_DIR" "$key" </dev/null >/dev/null 2>&1 &
    echo $! >>"$HOST22_DIR/pids"
  done < <(ipo_lab_matrix_rows)
}

# lockout_host22_failures SINCE_MS: failed attempts on port 22 that started at or after SINCE_MS.
lockout_host22_failures() {
  cat "$HOST22_DIR"/log/* | awk -v t="$1" '$1 >= t && $2 != "ok" {n++} END {print n + 0}'
}

# lockout_reach22: check port 22 from every source, v4 and v6.
lockout_reach22() {
  local stage=$1 from addr
  for from in ipo-wan ipo-lan-ok ipo-lan-deny; do
    for addr in "$IPO_LAB_HOST_WAN4" "$IPO_LAB_HOST_WAN6" "$IPO_LAB_HOST_LAN4" "$IPO_LAB_HOST_LAN6"; do
      if [[ $from == ipo-wan ]]; then [[ $addr == "$IPO_LAB_HOST_WAN4" || $addr == "$IPO_LAB_HOST_WAN6" ]] || continue
      else [[ $addr == "$IPO_LAB_HOST_LAN4" || $addr == "$IPO_LAB_HOST_LAN6" ]] || continue; fi
      lab_test_check "$stage: $from reaches the host service at $addr port 22" \
        test "$(ipo_lab_probe "$from" "$addr" 22)" == ipo-host
    done
  done
}

# lockout_proxy_ports: the elements of the guarded proxy-ports set in the kernel, one a line
#   ("tcp . 22").
lockout_proxy_ports() {
  ipo_lab_netctl status --json | jq -r '.ruleset.tables[] | select(.family == "inet") | .sets["proxy-ports"][]?'
}

main() {
  lab_test_begin
  trap lockout_finish EXIT
  IPO_LAB_PROBE=$(ipo_lab_agent_bin ipo-probe)
  export IPO_LAB_PROBE
  lab_test_prober_begin lockout
  lockout_host22_start
  sleep 3
  lockout_reach22 "before"
  local t0
  t0=$(date +%s%3N)

  lab_test_mark
  ipo_lab_docker create --name sneaky -p 22:22 "$IPO_DOCKER_IMAGE" sleep 1000 >/dev/null
  lab_test_converge "docker create -p 22:22"
  sleep 2
  lab_test_check "22 is not in the guarded proxy-ports set (got: $(lockout_proxy_ports | tr '\n' ' '))" \
    bash -c "! grep -qx 'tcp . 22' <<<\"\$1\"" _ "$(lockout_proxy_ports)"
  lab_test_check "status names the conflict: container sneaky, port 22" \
    bash -c 'jq -e ".agent.publish_conflicts | any(test(\"sneaky.*22\"))" <<<"$1" >/dev/null' _ "$(ipo_lab_netctl status --json)"
  ipo_info "publish conflicts: $(ipo_lab_netctl status --json | jq -c '.agent.publish_conflicts')"
  lockout_reach22 "after docker create -p 22:22"

  local out rc=0
  out=$(ipo_lab_docker run -d --name sneaky2 -p 22:22 "$IPO_DOCKER_IMAGE" sleep 1000 2>&1) || rc=$?
  ipo_info "docker run -p 22:22: exit $rc: $(tail -n 1 <<<"$out" | cut -c1-300)"
  lab_test_check "docker run -p 22:22 failed to start (the host holds 22)" test "$rc" -ne 0
  lab_test_check "sneaky2 is not running" \
    test "$(ipo_lab_docker inspect -f '{{.State.Running}}' sneaky2 2>/dev/null || echo false)" == false
  rc=0
  ipo_lab_docker start sneaky >/dev/null 2>&1 || rc=$?
  lab_test_check "docker start of the -p 22:22 container fails too" test "$rc" -ne 0
  sleep 5
  lockout_reach22 "after docker run -p 22:22 failed"

  local fails attempts
  ipo_lab_prober_stop "$HOST22_DIR" >/dev/null
  fails=$(lockout_host22_failures "$t0")
  attempts=$(cat "$HOST22_DIR"/log/* | awk -v t="$t0" '$1 >= t' | wc -l)
  echo "port 22 from WAN, lan-ok, lan-deny after the docker create: failed $fails / $attempts"
  lab_test_check "every attempt on port 22 succeeded after the docker create ($fails of $attempts failed)" test "$fails" -eq 0
  lab_test_check "the port-22 prober made attempts ($attempts)" test "$attempts" -gt 50
  rm -rf "$HOST22_DIR"
  HOST22_DIR=
  lab_test_prober_verdict "while containers asked for host port 22" 100
  ipo_lab_docker rm -f sneaky sneaky2 >/dev/null 2>&1 || true
  lab_test_matrix "after docker create/run -p 22:22"
}

main "$@"
