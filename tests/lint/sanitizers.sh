#!/usr/bin/env bash
# Builds the "asan" preset (ASan + UBSan, Debug; clang 14 as a unity build, which
# bench/sanitizer_build measured against gcc file by file) and runs its unit tests: any leak,
# overflow or undefined behaviour fails the build's tests. A unity build compiles each target's
# files together, so two files of one target defining the same name in anonymous namespaces fail
# here first: share the helper (agent/testing/) or give the file SKIP_UNITY_BUILD_INCLUSION.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
# shellcheck source=scripts/lib/ipo_unit_targets.sh
source scripts/lib/ipo_unit_targets.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan >/dev/null
# Only the programs the unit tests run, not the daemon, the CLI, the tools and the benchmarks.
mapfile -t targets < <(ipo_unit_test_targets "${IPO_BUILD:?}" build-asan)
((${#targets[@]} > 0)) || { echo "sanitizers: no unit test targets found" >&2; exit 1; }
echo "sanitizers: building ${#targets[@]} unit test targets with ASan + UBSan"
t0=$SECONDS
cmake --build --preset asan --target "${targets[@]}" -- -j2 >/dev/null
echo "sanitizers: built in $((SECONDS - t0)) s"
ctest --preset asan --timeout 300
