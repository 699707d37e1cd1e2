# shellcheck shell=bash
# The verdict of a test script: fail (with the logs that explain the failure), check, skip.
# Every suite sources this file; a suite that has logs worth showing on failure defines
# on_fail (called by fail after the message, before exit 1).

# fail MESSAGE...: print "FAIL: MESSAGE" to stderr, run the suite's on_fail if it has one,
# exit 1 (the suite's EXIT trap cleans up).
fail() {
  echo "FAIL: $*" >&2
  if declare -F on_fail >/dev/null; then
    on_fail >&2 || true
  fi
  exit 1
}

# check WHAT CMD...: run CMD; fail with WHAT unless it succeeds.
check() {
  local what=$1
  shift
  "$@" || fail "$what"
}

# skip MESSAGE...: print "SKIP: MESSAGE" and exit 77 (CTest's SKIP_RETURN_CODE): only when
# the machine cannot run the test.
skip() {
  echo "SKIP: $*"
  exit 77
}

# show_log TITLE FILE: print "--- TITLE" and FILE (for on_fail); a missing FILE is no error.
show_log() {
  echo "--- $1"
  cat "$2" 2>/dev/null || true
}
