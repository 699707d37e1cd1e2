#!/usr/bin/env bash
# Test: the first `docker run -p` of a never-seen host port opens no window. 200 containers
# (not named by the policy) are started in two parallel streams of 100, one after another in
# each, with `-p PORT:8000` on a port no container had before, under load (a CPU burner and a loop that starts and removes
# throw-away containers). From the moment each port is chosen, before `docker run`, the
# prober hammers it from the WAN (host's WAN address) and from lan-deny (host's LAN address),
# IPv4 and IPv6, next to every forbidden path of the matrix: 0 may succeed. lan-ok must reach
# each port once the agent has published it; the time from `docker run` returning to the
# first answer is the publication latency (printed: median, p95, max).
# Before ipo-netd-proxy, Docker's docker-proxy listened on the port at `docker run` and the
# agent's input guard came an event later: on main dc495d2 this test (one stream of 200)
# counted 808 forbidden successes in 18741 attempts, about one per new port and path.
set -Eeuo pipefail
# shellcheck source=tests/lab/lab_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab_test_lib.sh"

RACE_RUNS=${RACE_RUNS:-200}
RACE_BASE_PORT=${RACE_BASE_PORT:-20000}
RACE_STREAMS=${RACE_STREAMS:-2}
PROBE_DIR=
LOAD_PIDS=()

# race_finish: EXIT trap: stop the load (by pid), then the prober and the lab.
race_finish() {
  local rc=$? pid
  for pid in "${LOAD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  (exit "$rc")
  lab_test_finish_prober
}

# race_burn: a CPU burner until its parent test is gone.
race_burn() {
  while kill -0 "$$" 2>/dev/null; do
    local i
    for ((i = 0; i < 200000; i++)); do :; done
  done
}

# race_churn: start and remove throw-away containers (on docker0) until the test is gone.
race_churn() {
  local n=0
  while kill -0 "$$" 2>/dev/null; do
    n=$((n + 1))
    ipo_lab_docker run --rm --name "churn$n" "$IPO_DOCKER_IMAGE" sleep 0.2 >/dev/null 2>&1 || true
  done
}

# race_aim STREAM PORT: point the prober's race paths of STREAM at host port PORT (rows are
#   re-read by every attempt; new rows get their loops from the prober's resolver within 2 s).
race_aim() {
  local stream=$1 port=$2 row key
  for row in "ipo-wan|v4 host-wan race$stream|$IPO_LAB_HOST_WAN4|$port|closed" \
    "ipo-wan|v6 host-wan race$stream|$IPO_LAB_HOST_WAN6|$port|closed" \
    "ipo-lan-deny|v4 host-lan race$stream|$IPO_LAB_HOST_LAN4|$port|closed" \
    "ipo-lan-deny|v6 host-lan race$stream|$IPO_LAB_HOST_LAN6|$port|closed"; do
    key=race${stream}_${row%%|*}_$(cut -d'|' -f2 <<<"$row" | tr ' ' _)
    printf '%s\n' "$row" >"$PROBE_DIR/rows/$key.tmp"
    mv -f "$PROBE_DIR/rows/$key.tmp" "$PROBE_DIR/rows/$key"
  done
}

# race_stream STREAM RUNS: RUNS first publications, one after another, on ports
#   RACE_BASE_PORT + STREAM*1000 + 1..RUNS; appends each lan-ok latency (ms) to
#   $PROBE_DIR/latency and each failure to $PROBE_DIR/failures (it runs in a subshell).
race_stream() {
  local stream=$1 runs=$2 i port name t0 t1 t2
  for ((i = 1; i <= runs; i++)); do
    port=$((RACE_BASE_PORT + stream * 1000 + i))
    name=race${stream}_$i
    race_aim "$stream" "$port"
    t0=${EPOCHREALTIME/./}
    if ! ipo_lab_docker run -d --name "$name" -p "$port:8000" "$IPO_DOCKER_IMAGE" \
      sh -c "echo $name >/www/index.html; trap 'exit 0' TERM; httpd -f -p 8000 -h /www & wait" >/dev/null; then
      echo "docker run -p $port:8000 failed" >>"$PROBE_DIR/failures"
      continue
    fi
    t1=${EPOCHREALTIME/./}
    if ipo_wait_for 10 race_lan_ok_reaches "$port"; then
      t2=${EPOCHREALTIME/./}
      echo $(((t2 - t1) / 1000)) >>"$PROBE_DIR/latency"
    else
      echo "lan-ok did not reach host port $port within 10 s" >>"$PROBE_DIR/failures"
    fi
    # The previous container goes in the background: removal is load, not the subject.
    if ((i > 1)); then ipo_lab_docker rm -f "race${stream}_$((i - 1))" >/dev/null 2>&1 & fi
    ((i % 25 == 0)) && ipo_info "stream $stream: $i runs, $(((t1 - t0) / 1000)) ms for the last docker run, forbidden so far $(ipo_lab_prober_successes "$PROBE_DIR")"
  done
  wait
  ipo_lab_docker rm -f "race${stream}_$runs" >/dev/null 2>&1 || true
}

# race_lan_ok_reaches PORT: 0 once lan-ok gets an answer on the host's LAN address:PORT.
race_lan_ok_reaches() {
  local out
  out=$("$IPO_LAB_PROBE" /run/netns/ipo-lan-ok "$IPO_LAB_HOST_LAN4" "$1" 0.2 0.5 2>/dev/null) || return 1
  [[ $out == "ok 200" ]]
}

# race_percentile FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
race_percentile() {
  sort -n "$1" | awk -v p="$2" '{v[NR] = $1} END {i = int((p / 100) * NR + 0.999); if (i < 1) i = 1; print v[i]}'
}

main() {
  lab_test_begin
  trap race_finish EXIT
  IPO_LAB_PROBE=$(ipo_lab_agent_bin ipo-probe)
  export IPO_LAB_PROBE
  lab_test_prober_begin publish-race
  local stream
  for ((stream = 0; stream < RACE_STREAMS; stream++)); do race_aim "$stream" $((RACE_BASE_PORT + stream * 1000)); done
  race_burn &
  LOAD_PIDS+=($!)
  race_churn &
  LOAD_PIDS+=($!)
  sleep 3

  local lat="$PROBE_DIR/latency" failures="$PROBE_DIR/failures" started=$SECONDS streams=()
  : >"$lat"
  : >"$failures"
  for ((stream = 0; stream < RACE_STREAMS; stream++)); do
    race_stream "$stream" $((RACE_RUNS / RACE_STREAMS)) &
    streams+=($!)
  done
  wait "${streams[@]}"
  ipo_info "$RACE_RUNS runs in $RACE_STREAMS parallel streams took $((SECONDS - started)) s"
  local pid
  for pid in "${LOAD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  LOAD_PIDS=()
  if [[ -s $lat ]]; then
    echo "lan-ok publication latency (docker run returned -> first answer), ms: median $(race_percentile "$lat" 50)," \
      "p95 $(race_percentile "$lat" 95), max $(race_percentile "$lat" 100) over $(wc -l <"$lat") runs"
  fi
  local published
  published=$(wc -l <"$lat")
  [[ -s $failures ]] && head -n 20 "$failures" >&2
  lab_test_check "every docker run -p worked and lan-ok reached its port ($published of $RACE_RUNS; $(wc -l <"$failures") failures)" \
    test "$published" -eq "$RACE_RUNS"
  lab_test_prober_verdict "during $RACE_RUNS first publications under load" 500
  lab_test_matrix "after $RACE_RUNS first publications"
}

main "$@"
