#!/usr/bin/env bash
# Test: the suite's scripts are shellcheck clean, have --help built from their usage
# comment, and reject bad commands with a message and non-zero exit (no lab needed).
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$IPO_SRC"
shellcheck -S warning -x scripts/mysql-lab scripts/lib/ipo_mysql_*.sh scripts/bootstrap.d/50-mysql.sh tests/mysql/*.sh
python3 -m py_compile scripts/gone-away-diagnose 2>&1 || fail "gone-away-diagnose does not compile"
help=$("$LAB" --help)
grep -q '^Usage: scripts/mysql-lab' <<<"$help" || fail "mysql-lab --help"
grep -q '^Commands:' <<<"$help" || fail "mysql-lab --help lacks the commands"
grep -qE '^reload +bad' <<<"$("$LAB" list)" || fail "mysql-lab list"
rc=0
"$LAB" frobnicate 2>"${TMPDIR:-/tmp}/mysql-cli.$$" || rc=$?
((rc == 1)) && grep -q 'unknown command: frobnicate' "${TMPDIR:-/tmp}/mysql-cli.$$" || fail "bad command: exit $rc"
rc=0
IPO_MYSQL_LAB_DIR=/nonexistent-lab "$LAB" run client-timeout 2>"${TMPDIR:-/tmp}/mysql-cli.$$" || rc=$?
((rc == 1)) && grep -q 'lab is not up' "${TMPDIR:-/tmp}/mysql-cli.$$" || fail "run without lab: exit $rc"
rm -f "${TMPDIR:-/tmp}/mysql-cli.$$"
# Sourcing defines functions without running main.
# shellcheck source=scripts/mysql-lab
(source "$LAB" || true; declare -F cmd_up >/dev/null) || fail "mysql-lab is not sourceable"
echo "PASS: cli"
