#!/usr/bin/env bash
# Test: gone-away-diagnose names the right cause, with evidence lines and confidence, on
# logs recorded from the lab's "bad" runs (tests/mysql/fixtures/SCENARIO/), on the HAProxy
# log alone, and on a syslog-formatted (rsyslog / Rocky 8 /var/log/haproxy.log) copy.
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# expect CAUSE CONFIDENCE ARGS...: exit 0, the cause, the confidence, an evidence line.
expect() {
  local cause=$1 conf=$2 rc=0
  shift 2
  "$DIAG" "$@" >"$out" || rc=$?
  ((rc == 0)) || { cat "$out" >&2; fail "exit $rc for: $*"; }
  assert_contains "$out" "most likely cause: $cause"
  assert_contains "$out" "confidence: $conf"
  grep -qE '^  haproxy\.log:[0-9]+: |^  [a-z-]+\.(log|txt|cfg):[0-9]+: ' "$out" || fail "no evidence line for: $*"
  echo "ok: $cause ($conf) <- $*"
}

declare -A cause=([client-timeout]=haproxy-timeout-client [server-timeout]=haproxy-timeout-server
  [wait-timeout]=mysql-wait-timeout [marked-down]=haproxy-marked-down [reload]=haproxy-reload
  [max-packet]=max-allowed-packet [slave-restart]=slave-restart)
for sc in "${!cause[@]}"; do
  expect "${cause[$sc]}" high --run-dir "$FIXTURES/$sc"
done

# The HAProxy log alone: termination states decide; less certain where they are ambiguous.
expect haproxy-timeout-client medium "$FIXTURES/client-timeout/haproxy.log"
expect haproxy-timeout-server medium "$FIXTURES/server-timeout/haproxy.log"
expect haproxy-marked-down medium "$FIXTURES/marked-down/haproxy.log"
expect haproxy-reload high "$FIXTURES/reload/haproxy.log"
expect slave-restart medium "$FIXTURES/slave-restart/haproxy.log"
expect mysql-wait-timeout low "$FIXTURES/wait-timeout/haproxy.log"
# SD alone does not prove max_allowed_packet: the MySQL error log does.
expect mysql-wait-timeout low "$FIXTURES/max-packet/haproxy.log"
expect max-allowed-packet high "$FIXTURES/max-packet/haproxy.log" --mysql-log "$FIXTURES/max-packet/mysql-error.log"
# wait_timeout from SHOW GLOBAL VARIABLES matched against the session's Tt.
expect mysql-wait-timeout medium "$FIXTURES/wait-timeout/haproxy.log" --mysql-vars "$FIXTURES/wait-timeout/mysql-vars.txt"
# Production syslog lines and the config: Tt matches `timeout client 2s`.
expect haproxy-timeout-client high "$FIXTURES/syslog-client-timeout.log" --cfg "$FIXTURES/client-timeout/haproxy.cfg"
echo "PASS: every recorded scenario diagnosed"
