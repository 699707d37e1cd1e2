# shellcheck shell=bash
# Common helpers for every ipo-host script: logging, dying, requiring root and commands.
# Source it; it defines only ipo_-prefixed functions and sets nothing else.

# ipo_log LEVEL MESSAGE...: one timestamped line on stderr.
ipo_log() {
  local level=$1
  shift
  printf '%s %-5s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "${IPO_PROG:-${0##*/}}" "$*" >&2
}
ipo_info() { ipo_log INFO "$@"; }
ipo_warn() { ipo_log WARN "$@"; }

# ipo_die MESSAGE...: log an error and exit 1 (or $IPO_DIE_CODE).
ipo_die() {
  ipo_log ERROR "$@"
  exit "${IPO_DIE_CODE:-1}"
}

# ipo_require_root: die unless running as root.
ipo_require_root() {
  [[ $(id -u) -eq 0 ]] || ipo_die "must run as root"
}

# ipo_require_cmd CMD...: die naming the first command that is not on PATH.
ipo_require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || ipo_die "required command not found: $c (run scripts/bootstrap)"
  done
}

# ipo_usage FILE: print the '# Usage:' comment block at the top of FILE (for --help).
ipo_usage() {
  local file=$1
  sed -n '/^# Usage:/,/^[^#]/{/^#/!d;s/^# \{0,1\}//;p}' "$file"
}

# ipo_lab_dir FIXED MARKER TEMPLATE: make a lab directory and print its path: FIXED when
# set (an old one is removed first, but only when it holds the file MARKER that marks it as
# that lab's; MARKER is created), else a new `mktemp -d TEMPLATE`.
ipo_lab_dir() {
  local fixed=$1 marker=$2 template=$3
  if [[ -z $fixed ]]; then
    mktemp -d "$template"
    return 0
  fi
  if [[ -e $fixed ]]; then
    [[ -f $fixed/$marker ]] || ipo_die "$fixed exists but has no $marker (not a lab directory); not removing it"
    rm -rf "$fixed"
  fi
  mkdir -p "$fixed"
  touch "$fixed/$marker"
  printf '%s\n' "$fixed"
}

# ipo_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
ipo_wait_for() {
  local timeout=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# ipo_stop_pid PID TENTHS: SIGTERM PID and wait up to TENTHS tenths of a second for it to
#   exit; 1 if it still runs then.
ipo_stop_pid() {
  local pid=$1 tenths=$2 i
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < tenths; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null
}
