#!/usr/bin/env bash
# Builds the "asan" preset (ASan + UBSan, Debug) and runs its unit tests: any leak,
# overflow or undefined behaviour fails the build's tests.
set -Eeuo pipefail
cd "${IPO_SRC:?}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan >/dev/null
cmake --build --preset asan -- -j2 >/dev/null
ctest --preset asan --timeout 300
