# shellcheck shell=bash
# The lab's prober: background loops that hammer paths of the connectivity matrix
# (ipo_lab_matrix_rows) continuously, several attempts per second per path with short
# connect timeouts, and count attempts and successes per path into files. Used by the
# reboot loop, the fault tests and the migration test to prove that a FORBIDDEN path
# (expected "closed") never let one connection through while something was being broken,
# and that ALLOWED paths come back afterwards.
#
#   ipo_lab_prober_start DIR forbidden|allowed [SOURCE...]
#       Start one loop per matching row (SOURCE: ipo-wan, ipo-lan-deny, ipo-lan-ok, docker_c,
#       ...; default: every client namespace and container source). The rows are the
#       matrix's (ipo_lab_matrix_rows) plus, when IPO_LAB_PROBER_EXTRA_ROWS names a shell
#       function, what it prints (same format; a test's own containers). Targets (container
#       addresses) are re-resolved every ~2 s by a resolver loop while Docker answers, so
#       the prober keeps aiming at the containers' current addresses across restarts.
#   ipo_lab_prober_stop DIR     Stop the loops (by pid) and print the counts table.
#   ipo_lab_prober_counts DIR   Print "PATH ATTEMPTS SUCCESSES" per path and a TOTAL line.
#   ipo_lab_prober_successes DIR   Total successes (one number).
#   ipo_lab_prober_attempts DIR    Total attempts (one number).
#   ipo_lab_prober_selftest     Prove the prober registers a success: run the loop for a
#       couple of seconds against allowed rows (WAN -> host:8080 v4/v6) and require
#       successes > 0, so a forbidden count of 0 can be trusted.
#
# A "success" is any TCP connection that was established (ipo-probe, tools/ipo_probe.cc,
# prints "ok CODE"); a dropped SYN, a reset or a timeout is an attempt without success.
# Sources that are namespaces are entered by path, /run/netns/NS (survives the
# namespace's links being re-plumbed); container sources via /proc/PID/ns/net (the pid is
# re-resolved when the container restarts).
# Files under DIR: run (exists while running), pids, rows/KEY (current target host|port),
#   log/KEY (one line per attempt: "EPOCH_MS ok|no CODE", the time the attempt started),
#   successes.log (evidence lines).
# Not thread safe per DIR; several DIRs can run at once.
# REQUIRES: ipo_lab.sh sourced (ipo_lab_matrix_rows, ipo_lab_docker); root; the ipo-probe
#   binary built under $IPO_BUILD (or its path in $IPO_LAB_PROBE).

IPO_LAB_PROBER_CONNECT_TIMEOUT=${IPO_LAB_PROBER_CONNECT_TIMEOUT:-0.25}
IPO_LAB_PROBER_MAX_TIME=${IPO_LAB_PROBER_MAX_TIME:-0.5}
# Pause between two attempts of one path (seconds).
IPO_LAB_PROBER_PAUSE=${IPO_LAB_PROBER_PAUSE:-0.05}

# _ipo_lab_prober_key VAR FROM LABEL PORT: set VAR to a file-name-safe key for one path
#   (no subshell: the resolver computes it for every row every 2 s).
_ipo_lab_prober_key() {
  local -n _ipo_key_out=$1
  local _ipo_key_raw="$2_$3_$4"
  _ipo_key_raw=${_ipo_key_raw// /_}
  _ipo_key_out=${_ipo_key_raw//[^A-Za-z0-9_.-]/_}
}

# _ipo_lab_prober_select MODE ROW...: print the rows (FROM|LABEL|HOST|PORT|EXPECTED) of MODE
#   (forbidden: EXPECTED closed; allowed: anything else) whose FROM is one of $SOURCES
#   (space-separated, empty = all).
_ipo_lab_prober_select() {
  local mode=$1 sources=$2 row from label host port expected
  shift 2
  for row in "$@"; do
    IFS='|' read -r from label host port expected <<<"$row"
    if [[ $mode == forbidden ]]; then [[ $expected == closed ]] || continue; else [[ $expected != closed ]] || continue; fi
    [[ -z $sources || " $sources " == *" $from "* ]] || continue
    printf '%s\n' "$row"
  done
}

# _ipo_lab_prober_resolve DIR: rewrite DIR/rows/KEY for every selected path from the current
#   matrix rows (only when Docker answered and the address is known; old targets stay
#   otherwise, so a path is never left without a target it had).
_ipo_lab_prober_resolve() {
  local dir=$1 mode sources rows=() row from label host port expected key old
  IFS= read -r mode <"$dir/mode"
  IFS= read -r sources <"$dir/sources" || true
  curl -sf --max-time 5 --unix-socket "$IPO_LAB_DOCKER_SOCK" http://docker/_ping >/dev/null 2>&1 || return 0
  mapfile -t rows < <(
    ipo_lab_matrix_rows 2>/dev/null
    if [[ -n ${IPO_LAB_PROBER_EXTRA_ROWS:-} ]]; then "$IPO_LAB_PROBER_EXTRA_ROWS" 2>/dev/null || true; fi
  )
  while IFS= read -r row; do
    IFS='|' read -r from label host port expected <<<"$row"
    [[ -n $host && $host != none ]] || continue
    _ipo_lab_prober_key key "$from" "$label" "$port"
    old=''
    [[ -f $dir/rows/$key ]] && { IFS= read -r old <"$dir/rows/$key" || true; }
    [[ $old == "$row" ]] && continue
    printf '%s\n' "$row" >"$dir/rows/$key.tmp" && mv -f "$dir/rows/$key.tmp" "$dir/rows/$key"
  done < <(_ipo_lab_prober_select "$mode" "$sources" "${rows[@]}")
}

# _ipo_lab_prober_resolver DIR: loop re-resolving targets every ~2 s while DIR/run exists;
#   a path that only now has an address (e.g. IPv6 once a container joined a policy network)
#   gets its own loop then.
_ipo_lab_prober_resolver() {
  local dir=$1 f key
  while [[ -e $dir/run ]]; do
    _ipo_lab_prober_resolve "$dir" || true
    for f in "$dir"/rows/*; do
      key=${f##*/}
      [[ -f $f && $key != *.tmp && ! -e $dir/log/$key ]] || continue
      : >>"$dir/log/$key"
      _ipo_lab_prober_loop "$dir" "$key" </dev/null >/dev/null 2>&1 &
      echo $! >>"$dir/pids"
    done
    sleep 2
  done
}

# _ipo_lab_prober_netns FROM: the network namespace path to probe FROM (a namespace or a
#   container name); empty if the container is not running.
_ipo_lab_prober_netns() {
  local from=$1 pid
  if [[ $from == ipo-* ]]; then
    printf '/run/netns/%s\n' "$from"
    return 0
  fi
  pid=$(timeout 3 /usr/bin/docker -H "unix://$IPO_LAB_DOCKER_SOCK" inspect -f '{{.State.Pid}}' "$from" 2>/dev/null) || pid=0
  [[ -n $pid && $pid != 0 ]] || return 0
  printf '/proc/%s/ns/net\n' "$pid"
}

# _ipo_lab_prober_loop DIR KEY: attempt the path of DIR/rows/KEY until DIR/run disappears,
#   appending one line per attempt to DIR/log/KEY. Each attempt is one fork+exec of ipo-probe
#   ($IPO_LAB_PROBE); everything else is a bash builtin (the pause is a `read -t` on a FIFO
#   nobody writes), so a loop costs ~2-3 ms of CPU per attempt instead of the ~16 ms of
#   `nsenter curl` plus external sleep: at 34 paths and a 50 ms pause that was 1.3 of 2 cores.
_ipo_lab_prober_loop() {
  local dir=$1 key=$2 row from label host port expected netns='' result now pause_fd
  local log=$dir/log/$key stamp
  export TZ=UTC # for the builtin printf %(...)T below (this loop is its own process)
  exec {pause_fd}<>"$dir/pause.fifo"
  while [[ -e $dir/run ]]; do
    IFS= read -r row <"$dir/rows/$key" || true
    IFS='|' read -r from label host port expected <<<"$row"
    if [[ -z $netns || ! -e $netns ]]; then
      netns=$(_ipo_lab_prober_netns "$from")
      if [[ -z $netns || ! -e $netns ]]; then
        netns=
        read -r -t 0.5 -u "$pause_fd" _ || true
        continue
      fi
    fi
    now=${EPOCHREALTIME/./}
    now=${now:0:-3}
    result=$("$IPO_LAB_PROBE" "$netns" "$host" "$port" "$IPO_LAB_PROBER_CONNECT_TIMEOUT" "$IPO_LAB_PROBER_MAX_TIME" 2>/dev/null) ||
      result="no 000"
    printf '%s %s\n' "$now" "$result" >>"$log"
    if [[ $result == ok* ]]; then
      if [[ $host == *:* ]]; then host="[$host]"; fi
      printf -v stamp '%(%H:%M:%S)T.%s' "${now:0:-3}" "${now: -3}"
      printf '%s %s %s -> http://%s:%s/ (%s)\n' "$stamp" "$result" "$from" "$host" "$port" "$label" >>"$dir/successes.log"
    fi
    read -r -t "$IPO_LAB_PROBER_PAUSE" -u "$pause_fd" _ || true
  done
  exec {pause_fd}>&-
}

# ipo_lab_prober_start DIR MODE [SOURCE...]: see the header. DIR is created (must not be
#   running already). Prints the number of paths started.
ipo_lab_prober_start() {
  local dir=$1 mode=$2
  shift 2
  [[ $mode == forbidden || $mode == allowed ]] || ipo_die "prober: MODE must be forbidden or allowed"
  [[ ! -e $dir/run ]] || ipo_die "prober: already running in $dir"
  mkdir -p "$dir/rows" "$dir/log"
  if [[ -z ${IPO_LAB_PROBE:-} ]]; then
    IPO_LAB_PROBE=$(ipo_lab_agent_bin ipo-probe) || ipo_die "prober: ipo-probe is not built under ${IPO_BUILD:-$IPO_LAB_SRC/build} (cmake --build ... --target ipo-probe)"
  fi
  export IPO_LAB_PROBE
  [[ -p $dir/pause.fifo ]] || mkfifo "$dir/pause.fifo"
  printf '%s\n' "$mode" >"$dir/mode"
  printf '%s\n' "$*" >"$dir/sources"
  : >"$dir/pids"
  : >>"$dir/successes.log"
  _ipo_lab_prober_resolve "$dir"
  local key n=0
  touch "$dir/run"
  for key in "$dir"/rows/*; do
    [[ -f $key && $key != *.tmp ]] || continue
    key=${key##*/}
    : >>"$dir/log/$key"
    ipo_lab_unlocked _ipo_lab_prober_loop "$dir" "$key" </dev/null >/dev/null 2>&1 &
    echo $! >>"$dir/pids"
    n=$((n + 1))
  done
  ((n > 0)) || ipo_die "prober: no $mode paths found (is the lab up?)"
  ipo_lab_unlocked _ipo_lab_prober_resolver "$dir" </dev/null >/dev/null 2>&1 &
  echo $! >>"$dir/pids"
  echo "$n"
}

# ipo_lab_prober_counts DIR: "PATH ATTEMPTS SUCCESSES" per path, then "TOTAL ATTEMPTS SUCCESSES".
ipo_lab_prober_counts() {
  local dir=$1 f key attempts ok ta=0 ts=0 row
  for f in "$dir"/log/*; do
    [[ -f $f ]] || continue
    key=${f##*/}
    attempts=$(wc -l <"$f")
    ok=$(grep -c ' ok ' "$f" || true)
    row=$(<"$dir/rows/$key")
    IFS='|' read -r from label host port _ <<<"$row"
    printf '%-13s %-14s %-5s %8d attempts %6d successes\n' "${from}" "$label" "$port" "$attempts" "$ok"
    ta=$((ta + attempts)) ts=$((ts + ok))
  done
  printf 'TOTAL %s paths: %d attempts, %d successes\n' "$(<"$dir/mode")" "$ta" "$ts"
}

# ipo_lab_prober_successes DIR / ipo_lab_prober_attempts DIR: the totals.
ipo_lab_prober_successes() {
  cat "$1"/log/* 2>/dev/null | grep -c ' ok ' || true
}
ipo_lab_prober_attempts() {
  cat "$1"/log/* 2>/dev/null | wc -l
}

# ipo_lab_prober_since DIR EPOCH_MS: successes recorded at or after EPOCH_MS.
ipo_lab_prober_since() {
  cat "$1"/log/* 2>/dev/null | awk -v t="$2" '$1 >= t && $2 == "ok" {n++} END {print n + 0}'
}

# ipo_lab_prober_stop DIR: stop the loops (by pid), wait for them, print the counts.
ipo_lab_prober_stop() {
  local dir=$1 pid
  [[ -d $dir ]] || return 0
  rm -f "$dir/run"
  if [[ -f $dir/pids ]]; then
    while read -r pid; do
      [[ -n $pid ]] || continue
      wait "$pid" 2>/dev/null || true
    done <"$dir/pids"
    : >"$dir/pids"
  fi
  # Loops started by the resolver are not our children: give them time to see run gone.
  sleep 0.8
  ipo_lab_prober_counts "$dir"
}

# ipo_lab_prober_kill DIR: stop without waiting (for EXIT traps): TERM the loops by pid.
ipo_lab_prober_kill() {
  local dir=$1 pid
  [[ -f $dir/pids ]] || return 0
  rm -f "$dir/run"
  while read -r pid; do
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
  done <"$dir/pids"
  : >"$dir/pids"
}

# ipo_lab_prober_selftest: run an "allowed" prober from ipo-wan (host:8080 and :80, v4/v6)
#   for ~2 s and require successes > 0; prints its counts. Proves a success registers.
ipo_lab_prober_selftest() {
  local dir ok
  dir=$(mktemp -d /tmp/ipo-prober-selftest.XXXXXX)
  ipo_lab_prober_start "$dir" allowed ipo-wan >/dev/null
  sleep 2
  ipo_lab_prober_stop "$dir" >&2
  ok=$(ipo_lab_prober_successes "$dir")
  rm -rf "$dir"
  if ((ok > 0)); then
    ipo_info "prober self-test: $ok successful connections counted on allowed WAN paths (a success registers)"
    return 0
  fi
  ipo_warn "prober self-test: no success counted on allowed WAN paths; the prober cannot be trusted"
  return 1
}

# ipo_lab_allowed_check [SOURCE...]: probe every ALLOWED row of the matrix once (in parallel;
#   SOURCE limits the rows' FROM, default all) and compare the answer with the expected body.
#   Prints the rows that failed; returns 0 when all answered as expected.
ipo_lab_allowed_check() {
  local tmp all=() rows=() i from label host port expected fails=0
  tmp=$(mktemp -d)
  # (without errexit: with Docker down the container addresses are just unknown)
  mapfile -t all < <(
    set +e
    ipo_lab_matrix_rows 2>/dev/null
  )
  mapfile -t rows < <(_ipo_lab_prober_select allowed "$*" "${all[@]}")
  ipo_lab_probe_rows "$tmp" "${rows[@]}"
  for i in "${!rows[@]}"; do
    IFS='|' read -r from label host port expected <<<"${rows[$i]}"
    if [[ $(<"$tmp/$i") != "$expected" ]]; then
      printf 'allowed path %s %s %s:%s expected %s got %s\n' "$from" "$label" "$host" "$port" "$expected" "$(<"$tmp/$i")"
      fails=$((fails + 1))
    fi
  done
  rm -rf "$tmp"
  ((${#rows[@]} > 0 && fails == 0))
}
