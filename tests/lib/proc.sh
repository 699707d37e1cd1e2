# shellcheck shell=bash
# A test's background processes, by pid.

# stop_and_reap VAR: if the variable named VAR holds a pid (a child of this shell), SIGTERM
# that process, wait for it and empty VAR.
stop_and_reap() {
  local -n _stop_pid=$1
  [[ -n ${_stop_pid:-} ]] || return 0
  kill "$_stop_pid" 2>/dev/null || true
  wait "$_stop_pid" 2>/dev/null || true
  _stop_pid=
}
