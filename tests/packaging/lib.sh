# shellcheck shell=bash
# Shared by the packaging tests: the expected file list, a scratch directory removed on
# exit, failing and skipping (tests/lib/assert.sh), and building the packages with CPack from $IPO_BUILD.
# REQUIRES: IPO_SRC, IPO_BUILD (a configured and built tree); set -Eeuo pipefail.
# shellcheck source=scripts/lib/ipo_common.sh
source "${IPO_SRC:?}/scripts/lib/ipo_common.sh"
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"

PKG_EXPECTED="$IPO_SRC/tests/packaging/expected-files.txt"
PKG_WORK=$(mktemp -d /tmp/ipo-pkg-test.XXXXXX)
trap 'rm -rf "$PKG_WORK"' EXIT

# pkg_require_built: fail unless $IPO_BUILD has both binaries and a CPack configuration.
pkg_require_built() {
  local f
  for f in agent/daemon/ipo-netd agent/cli/ipo-netctl CPackConfig.cmake; do
    [[ -e $IPO_BUILD/$f ]] || fail "$IPO_BUILD/$f missing: configure and build first"
  done
}

# pkg_same_list WHAT ACTUAL_FILE: fail unless ACTUAL_FILE (sorted paths) equals the expected
#   file list, printing the difference.
pkg_same_list() {
  local what=$1 actual=$2
  if ! diff -u <(sort "$PKG_EXPECTED") <(sort "$actual") >"$PKG_WORK/diff"; then
    cat "$PKG_WORK/diff" >&2
    fail "$what: file list differs from tests/packaging/expected-files.txt (- expected, + actual)"
  fi
  echo "ok: $what has exactly the $(wc -l <"$actual") expected files"
}

# pkg_cpack GENERATOR: build the package with the build tree's CPackConfig.cmake into
#   $PKG_WORK/out; prints the package's path.
pkg_cpack() {
  local gen=$1 ext pkg
  case $gen in DEB) ext=deb ;; RPM) ext=rpm ;; *) fail "unknown generator $gen" ;; esac
  if ! cpack --config "$IPO_BUILD/CPackConfig.cmake" -G "$gen" -B "$PKG_WORK/out" >"$PKG_WORK/cpack-$ext.log" 2>&1; then
    cat "$PKG_WORK/cpack-$ext.log" >&2
    fail "cpack -G $gen failed"
  fi
  pkg=$(compgen -G "$PKG_WORK/out/ipo-netd*.$ext" | head -n1) || { cat "$PKG_WORK/cpack-$ext.log" >&2; fail "cpack made no .$ext"; }
  printf '%s\n' "$pkg"
}

# pkg_build GENERATOR TOOL...: fail unless every TOOL is on PATH and $IPO_BUILD is built, then
#   build the package (pkg_cpack) into PKG_FILE and say so.
pkg_build() {
  local gen=$1 t
  shift
  for t in "$@"; do
    command -v "$t" >/dev/null || fail "$t not found (scripts/bootstrap packaging)"
  done
  pkg_require_built
  PKG_FILE=$(pkg_cpack "$gen")
  echo "built ${PKG_FILE##*/}"
}
