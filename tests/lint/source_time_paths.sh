#!/usr/bin/env bash
# Usage: source_time_paths.sh
#
# Tool paths are resolved after the install step, never when a library is sourced. On a fresh
# machine `scripts/lab up` sources scripts/lib/*.sh first and only then runs the bootstrap that
# installs docker.io; a library that picked a path at source time (ipo_dockerd.sh once set
# IPO_DOCKERD=/usr/bin/dockerd because /usr/sbin/dockerd did not exist yet) fails the first run
# and works the second. This check sources every Bash library (scripts/lib, scripts/bootstrap.d,
# tests/*/ *lib*.sh) in a clean shell under xtrace and fails when its top-level code (outside
# any function) ran `command -v`, `type -P`, `which` or tested an absolute path with -x/-f/-e.
# Case "behaviour": with PATH and the Debian location hidden (a mount namespace where
# /usr/sbin/dockerd is not there yet), ipo_dockerd.sh is sourced; the daemon is then "installed"
# (the real one bound back) and ipo_dockerd_bin must find it.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
TRACE=""

# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"

# libraries: every sourced Bash file of the repository.
libraries() {
  git ls-files 'scripts/lib/*.sh' 'scripts/bootstrap.d/*.sh' 'tests/*lib*.sh' 'tests/**/*lib*.sh' | sort -u
}

# source_time_lookups FILE: the commands that sourcing FILE (after ipo_common.sh) ran at its
# top level (not inside a function) to look a tool up: `command -v`, `type -P`, `which`, or a
# test of an absolute path (`-x /usr/sbin/dockerd`). Traced with xtrace (to fd 9, apart from
# the file's own output); FUNCNAME[0] is empty for the sourced file's top-level commands.
source_time_lookups() {
  local file=$1
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin IPO_SRC="$IPO_SRC" IPO_BUILD=/nonexistent \
    bash -c '
      set +eu
      source "$IPO_SRC/scripts/lib/ipo_common.sh" >/dev/null 2>&1
      PS4="+[\${FUNCNAME[0]:-}] "
      exec 9>"$2"
      BASH_XTRACEFD=9
      set -x
      source "$1" >/dev/null 2>&1 </dev/null
      set +x
      exit 0
    ' bash "$file" "$TRACE"
  grep -E '^\+\++\[\] ' "$TRACE" |
    grep -E '(command -v|type -P|\bwhich\b|\[\[ -[xfe] /|test -[xfe] /|\[ -[xfe] /)' || true
}

case_static() {
  local f found bad=0 n=0
  TRACE=$(mktemp)
  while read -r f; do
    n=$((n + 1))
    found=$(source_time_lookups "$f")
    if [[ -n $found ]]; then
      printf '%s: looks a tool up when sourced:\n%s\n' "$f" "$found" >&2
      bad=1
    fi
  done < <(libraries)
  rm -f "$TRACE"
  ((bad == 0)) || fail "resolve tool paths inside functions, after the install step"
  echo "PASS: $n libraries sourced; none looks a tool up at source time"
}

case_behaviour() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (mount namespace)"; exit 77; }
  local real
  real=$(command -v dockerd) || fail "dockerd is not installed (scripts/bootstrap core)"
  # In a private mount namespace: hide the daemon (a fresh machine before apt), source the
  # library, then "install" it (bind the real binary back) and resolve.
  unshare --mount --propagation private -- bash -c '
    set -Eeuo pipefail
    real=$1
    empty=$(mktemp)
    for d in /usr/sbin/dockerd /usr/bin/dockerd; do [[ -e $d ]] && mount --bind "$empty" "$d" && chmod -x "$empty"; done
    source "$IPO_SRC/scripts/lib/ipo_common.sh"
    source "$IPO_SRC/scripts/lib/ipo_dockerd.sh"
    if got=$(PATH=/nonexistent ipo_dockerd_bin); then echo "FAIL: found a daemon before the install: $got" >&2; exit 1; fi
    umount /usr/sbin/dockerd 2>/dev/null || true
    umount /usr/bin/dockerd 2>/dev/null || true
    got=$(ipo_dockerd_bin) || { echo "FAIL: the daemon installed after sourcing was not found" >&2; exit 1; }
    [[ $got -ef $real ]] || { echo "FAIL: resolved $got, want $real" >&2; exit 1; }
    rm -f "$empty"
    echo "PASS: sourced before the install, resolved after it: $got"
  ' bash "$real"
}

main() {
  [[ ${1:-} != --help ]] || { sed -n '2,/^set /p' "$0" | sed 's/^# \{0,1\}//;$d'; return 0; }
  case_static
  case_behaviour
}

main "$@"
