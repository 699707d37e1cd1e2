# shellcheck shell=bash
# The VM suite's prober: one background loop per path, from the client namespaces
# (ipovm-wan, ipovm-lanok, ipovm-landeny) to the guest, each attempt one run of ipo-probe
# (tools/ipo_probe.cc, the lab prober's binary: a TCP connect counts as a success),
# logged as "EPOCH_MS ok|no CODE" to DIR/log/KEY. Targets are DIR/rows/KEY
# ("FROM|LABEL|HOST|PORT|EXPECTED"), re-read at every attempt, so container addresses can be
# re-aimed after each boot (vm_prober_aim). Same counting as scripts/lib/ipo_lab_prober.sh.
#
#   vm_prober_rows ADDRS         every path: "FROM|LABEL|HOST|PORT|EXPECTED" (closed = forbidden)
#   vm_prober_start DIR ROW...   start one loop per row (DIR created)
#   vm_prober_aim DIR ADDRS      rewrite the container rows from an addrs file of the guest
#   vm_prober_stop DIR           stop the loops (by pid)
#   vm_prober_counts DIR MODE [SINCE_MS [UNTIL_MS]]   per-path table and TOTAL line
#   vm_prober_total DIR MODE ok|all [SINCE_MS [UNTIL_MS]]   one number
#   vm_prober_first_ok DIR KEY SINCE_MS   ms of the first success at or after SINCE_MS (or "")
# REQUIRES: vm_lib.sh sourced (addresses); root; $VM_PROBE the ipo-probe binary.

VM_PROBER_CONNECT_TIMEOUT=${VM_PROBER_CONNECT_TIMEOUT:-0.25}
VM_PROBER_MAX_TIME=${VM_PROBER_MAX_TIME:-0.5}
VM_PROBER_PAUSE=${VM_PROBER_PAUSE:-0.1}
# After a success the loop waits longer: every connection a guest service accepts costs the
# emulated guest a fork (busybox httpd), and 9 allowed paths at 10/s took a third of the
# guest's CPU (boots 57 s -> 79 s). A path that is down is still tried every VM_PROBER_PAUSE,
# so the first success after a boot is timed as before.
VM_PROBER_PAUSE_OK=${VM_PROBER_PAUSE_OK:-1}

# vm_prober_rows ADDRS: the paths. ADDRS: lines "NAME IPV4..." (the guest's docker_a/b/c/x).
vm_prober_rows() {
  local addrs=$1 a=none b=none c=none x=none name ip
  if [[ -f $addrs ]]; then
    while read -r name ip _; do
      case $name in
        docker_a) a=${ip:-none} ;;
        docker_b) b=${ip:-none} ;;
        docker_c) c=${ip:-none} ;;
        docker_x) x=${ip:-none} ;;
      esac
    done <"$addrs"
  fi
  local w=$VM_GUEST_WAN l=$VM_GUEST_LAN
  cat <<EOF
ipovm-wan|host-wan|$w|8080|docker_a
ipovm-wan|host-wan|$w|80|docker_c
ipovm-wan|host-wan|$w|22|ipo-host
ipovm-lanok|host-lan|$l|8080|docker_a
ipovm-lanok|host-lan|$l|80|docker_c
ipovm-lanok|host-lan|$l|3316|docker_b
ipovm-lanok|host-lan|$l|9000|docker_x
ipovm-lanok|host-lan|$l|22|ipo-host
ipovm-landeny|host-lan|$l|22|ipo-host
ipovm-wan|host-wan|$w|3316|closed
ipovm-wan|host-wan|$w|9000|closed
ipovm-wan|A-direct|$a|8080|closed
ipovm-wan|B-direct|$b|3316|closed
ipovm-wan|C-direct|$c|80|closed
ipovm-wan|X-direct|$x|9000|closed
ipovm-landeny|host-lan|$l|8080|closed
ipovm-landeny|host-lan|$l|80|closed
ipovm-landeny|host-lan|$l|3316|closed
ipovm-landeny|host-lan|$l|9000|closed
ipovm-landeny|A-direct|$a|8080|closed
ipovm-landeny|B-direct|$b|3316|closed
ipovm-landeny|C-direct|$c|80|closed
EOF
}

# _vm_prober_key FROM LABEL PORT: a file-name-safe key.
_vm_prober_key() {
  local k="${1#ipovm-}_$2_$3"
  echo "${k//[^A-Za-z0-9_.-]/_}"
}

# _vm_prober_loop DIR KEY: attempt DIR/rows/KEY until DIR/run disappears.
_vm_prober_loop() {
  local dir=$1 key=$2 row from label host port expected result now fd
  exec {fd}<>"$dir/pause.fifo"
  while [[ -e $dir/run ]]; do
    IFS= read -r row <"$dir/rows/$key" || true
    IFS='|' read -r from label host port expected <<<"$row"
    now=${EPOCHREALTIME/./}
    now=${now:0:-3}
    if [[ $host == none ]]; then
      read -r -t 0.5 -u "$fd" _ || true
      continue
    fi
    result=$("$VM_PROBE" "/run/netns/$from" "$host" "$port" "$VM_PROBER_CONNECT_TIMEOUT" "$VM_PROBER_MAX_TIME" 2>/dev/null) ||
      result="no 000"
    printf '%s %s\n' "$now" "$result" >>"$dir/log/$key"
    if [[ $result == ok* ]]; then
      read -r -t "$VM_PROBER_PAUSE_OK" -u "$fd" _ || true
    else
      read -r -t "$VM_PROBER_PAUSE" -u "$fd" _ || true
    fi
  done
}

# vm_prober_start DIR ROW...: one loop per row (children of the caller: do not call it in a
#   command substitution); the number of loops goes to DIR/count.
vm_prober_start() {
  local dir=$1 row from label host port expected key n=0
  shift
  mkdir -p "$dir/rows" "$dir/log"
  [[ -p $dir/pause.fifo ]] || mkfifo "$dir/pause.fifo"
  : >"$dir/pids"
  touch "$dir/run"
  for row in "$@"; do
    IFS='|' read -r from label host port expected <<<"$row"
    key=$(_vm_prober_key "$from" "$label" "$port")
    printf '%s\n' "$row" >"$dir/rows/$key"
    : >>"$dir/log/$key"
    _vm_prober_loop "$dir" "$key" </dev/null >/dev/null 2>&1 &
    echo $! >>"$dir/pids"
    n=$((n + 1))
  done
  echo "$n" >"$dir/count"
}

# vm_prober_aim DIR ADDRS: re-aim the container rows at the addresses in ADDRS.
vm_prober_aim() {
  local dir=$1 addrs=$2 row from label host port expected key
  while IFS= read -r row; do
    IFS='|' read -r from label host port expected <<<"$row"
    key=$(_vm_prober_key "$from" "$label" "$port")
    [[ -f $dir/rows/$key ]] || continue
    [[ $(<"$dir/rows/$key") == "$row" ]] && continue
    printf '%s\n' "$row" >"$dir/rows/$key.tmp" && mv -f "$dir/rows/$key.tmp" "$dir/rows/$key"
  done < <(vm_prober_rows "$addrs")
}

# vm_prober_stop DIR: stop the loops by pid and wait for them.
vm_prober_stop() {
  local dir=$1 pid
  [[ -f $dir/pids ]] || return 0
  rm -f "$dir/run"
  while read -r pid; do
    [[ -n $pid ]] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done <"$dir/pids"
  : >"$dir/pids"
}

# _vm_prober_keys DIR MODE: keys of MODE (forbidden: EXPECTED closed; allowed: the rest).
_vm_prober_keys() {
  local dir=$1 mode=$2 f expected
  for f in "$dir"/rows/*; do
    [[ -f $f && $f != *.tmp ]] || continue
    expected=$(cut -d'|' -f5 "$f")
    if [[ $mode == forbidden ]]; then [[ $expected == closed ]] || continue; else [[ $expected != closed ]] || continue; fi
    echo "${f##*/}"
  done
}

# vm_prober_counts DIR MODE [SINCE_MS [UNTIL_MS]]: "FROM LABEL PORT attempts successes" per
#   path of MODE, then "TOTAL MODE: A attempts, S successes".
vm_prober_counts() {
  local dir=$1 mode=$2 since=${3:-0} until=${4:-99999999999999} key a s ta=0 ts=0 from label host port
  while read -r key; do
    IFS='|' read -r from label host port _ <"$dir/rows/$key"
    read -r a s < <(awk -v t0="$since" -v t1="$until" '$1 >= t0 && $1 < t1 { n++; if ($2 == "ok") k++ } END { print n + 0, k + 0 }' "$dir/log/$key")
    printf '  %-14s %-9s %-15s %-5s %7d attempts %6d successes\n' "${from#ipovm-}" "$label" "$host" "$port" "$a" "$s"
    ta=$((ta + a)) ts=$((ts + s))
  done < <(_vm_prober_keys "$dir" "$mode")
  printf 'TOTAL %s paths: %d attempts, %d successes\n' "$mode" "$ta" "$ts"
}

# vm_prober_total DIR MODE ok|all [SINCE_MS [UNTIL_MS]]: successes or attempts of MODE.
vm_prober_total() {
  local dir=$1 mode=$2 what=$3 since=${4:-0} until=${5:-99999999999999} key files=()
  while read -r key; do files+=("$dir/log/$key"); done < <(_vm_prober_keys "$dir" "$mode")
  ((${#files[@]})) || { echo 0; return 0; }
  cat "${files[@]}" | awk -v w="$what" -v t0="$since" -v t1="$until" \
    '$1 >= t0 && $1 < t1 && (w == "all" || $2 == "ok") { n++ } END { print n + 0 }'
}

# vm_prober_first_ok DIR KEY SINCE_MS: the first success of KEY at or after SINCE_MS.
vm_prober_first_ok() {
  awk -v t0="$3" '$1 >= t0 && $2 == "ok" { print $1; exit }' "$1/log/$2"
}

# vm_prober_keys DIR MODE: the keys of MODE (see _vm_prober_keys).
vm_prober_keys() { _vm_prober_keys "$@"; }
