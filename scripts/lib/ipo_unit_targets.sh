# shellcheck shell=bash
# The build targets of the unit tests: the programs CTest's "unit" label runs in the default
# build (their commands, some behind `unshare`), as targets of another build tree (the asan
# preset's, or a benchmark's), not the daemon, the CLI, the tools and the benchmarks.
#
#   ipo_unit_test_targets DEFAULT_BUILD OTHER_BUILD   one target name per line
#
# Needs ctest, jq and ninja; OTHER_BUILD must be configured (Ninja generator).

ipo_unit_test_targets() {
  local default_build=$1 other_build=$2
  comm -12 \
    <(ctest --test-dir "$default_build" -L unit --show-only=json-v1 | jq -r '.tests[].command[]?' | grep '/' |
      xargs -n1 basename | sort -u) \
    <(ninja -C "$other_build" -t targets all | sed -n 's/^\([A-Za-z0-9_.-]*\): phony$/\1/p' | sort -u)
}
