#!/usr/bin/env bash
# Test: gone-away-diagnose does not guess. Input that is not an HAProxy log, or an HAProxy
# log of healthy traffic, gives "insufficient evidence" and exit 2; an unreadable file or
# bad usage gives exit 1 naming the problem; --help exits 0.
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect_rc CODE TEXT ARGS...: exit CODE and TEXT in stdout+stderr.
expect_rc() {
  local want=$1 text=$2 rc=0
  shift 2
  "$DIAG" "$@" >"$tmp/out" 2>&1 || rc=$?
  ((rc == want)) || { cat "$tmp/out" >&2; fail "exit $rc (want $want) for: $*"; }
  assert_contains "$tmp/out" "$text"
  assert_not_contains "$tmp/out" "most likely cause"
  echo "ok: exit $rc '$text' <- $*"
}

head -c 4096 /dev/urandom >"$tmp/random.bin"
: >"$tmp/empty.log"
printf 'root:x:0:0:root:/root:/bin/bash\nGET / HTTP/1.1 200\n' >"$tmp/text.log"
# An nginx access log line: a log, but not HAProxy's.
echo '127.0.0.1 - - [25/Nov/2026:00:00:01 +0000] "GET /api/x HTTP/2.0" 200 12 "-" "curl"' >"$tmp/nginx.log"
# A PHP error log alone is not an HAProxy log, even though it holds the error.
cp "$FIXTURES/client-timeout/php-error.log" "$tmp/php.log"

expect_rc 2 "insufficient evidence" "$tmp/random.bin"
expect_rc 2 "insufficient evidence" "$tmp/empty.log"
expect_rc 2 "insufficient evidence" "$tmp/text.log"
expect_rc 2 "insufficient evidence" "$tmp/nginx.log"
expect_rc 2 "insufficient evidence" "$tmp/php.log" --php-log "$tmp/php.log"
expect_rc 2 "insufficient evidence" "$FIXTURES/healthy.log"
expect_rc 2 "insufficient evidence" "$FIXTURES/healthy.log" --cfg "$FIXTURES/client-timeout/haproxy.cfg" \
  --php-log "$FIXTURES/client-timeout/php-error.log"
expect_rc 1 "/nonexistent/haproxy.log" /nonexistent/haproxy.log
expect_rc 1 "cannot read HAProxy config /nonexistent.cfg" "$FIXTURES/healthy.log" --cfg /nonexistent.cfg
expect_rc 1 "unknown argument: --bogus" "$FIXTURES/healthy.log" --bogus
expect_rc 1 "missing HAPROXY_LOG"
help=$("$DIAG" --help)
grep -q '^Usage: scripts/gone-away-diagnose' <<<"$help" || fail "--help"
grep -q '^Exit status' <<<"$help" || fail "--help lacks exit codes"
echo "PASS: no guessing on garbage"
