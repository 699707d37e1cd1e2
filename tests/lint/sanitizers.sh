#!/usr/bin/env bash
# Builds the "asan" preset (ASan + UBSan, Debug) and runs its unit tests: any leak,
# overflow or undefined behaviour fails the build's tests.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan >/dev/null
# Only the programs the unit tests run (their commands as the default build lists them, some
# behind `unshare`), not the daemon, the CLI, the tools and the benchmarks.
mapfile -t targets < <(
  comm -12 <(ctest --test-dir "${IPO_BUILD:?}" -L unit --show-only=json-v1 | jq -r '.tests[].command[]?' | grep '/' | xargs -n1 basename | sort -u) \
    <(ninja -C build-asan -t targets all | sed -n 's/^\([A-Za-z0-9_.-]*\): phony$/\1/p' | sort -u))
((${#targets[@]} > 0)) || { echo "sanitizers: no unit test targets found" >&2; exit 1; }
echo "sanitizers: building ${#targets[@]} unit test targets with ASan + UBSan"
cmake --build --preset asan --target "${targets[@]}" -- -j2 >/dev/null
ctest --preset asan --timeout 300
