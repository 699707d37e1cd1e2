# shellcheck shell=bash
# Shared setup for the mysql suite's tests: paths, the test lab's own directory and ports
# (so a developer's lab in /tmp/ipo-mysql-lab on 23306 is never touched), assertions.
# REQUIRES: IPO_SRC (set by CTest; defaults to the repository root).

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export IPO_MYSQL_LAB_DIR=${IPO_MYSQL_TEST_LAB_DIR:-${TMPDIR:-/tmp}/ipo-mysql-lab-ctest}
export IPO_MYSQL_LAB_PORT=${IPO_MYSQL_TEST_LAB_PORT:-23406}
export IPO_MYSQL_LAB_SLAVES=4
# shellcheck disable=SC2034 # used by the tests that source this file
LAB=$IPO_SRC/scripts/mysql-lab
# shellcheck disable=SC2034
DIAG=$IPO_SRC/scripts/gone-away-diagnose
# shellcheck disable=SC2034
FIXTURES=$IPO_SRC/tests/mysql/fixtures

# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"

# assert_contains FILE TEXT: FILE contains TEXT (case-insensitive), else fail showing FILE.
assert_contains() {
  grep -qiF -- "$2" "$1" || { cat "$1" >&2; fail "$1 does not contain '$2'"; }
}

# assert_not_contains FILE TEXT: FILE lacks TEXT (case-insensitive).
assert_not_contains() {
  ! grep -qiF -- "$2" "$1" || { cat "$1" >&2; fail "$1 contains '$2'"; }
}

# need_tools: the suite must not skip in CI; missing tools are a bootstrap defect.
need_tools() {
  local c
  for c in haproxy mariadbd mariadb-install-db mariadb php socat python3; do
    command -v "$c" >/dev/null || fail "$c not installed (run: scripts/bootstrap mysql)"
  done
}
