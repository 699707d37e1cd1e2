#!/usr/bin/env bash
# Usage: tests/fuzz/fuzz.sh [--build-only | --no-build] [TARGET...]
#
# Builds the "fuzz" preset (clang 14, libFuzzer + ASan + UBSan; build-fuzz/) and runs each
# fuzz target for a bounded time over a copy of its seed corpus, tests/fuzz/corpus/<target>/.
# --build-only stops after the build, --no-build runs what is built: CTest does the build as
# fuzz_build in the CPU lane (beside the labs, niced) and the runs as fuzz_targets in the host
# lane, where each input's 1 s limit is not stretched by a niced scheduler.
# A crash, a leak, undefined behaviour, an input that runs longer than 1 s (-timeout=1), or
# memory beyond -rss_limit_mb fails the test; the input that did it is kept in
# $IPO_BUILD/fuzz/<target>-crash-* (or -timeout-, -leak-, -oom-) with the run's log beside it.
# Prints, per target, the time, executions, coverage (cov/ft) and corpus growth. Targets run
# one per core at a time.
#
# Environment: IPO_SRC, IPO_BUILD (set by CTest); IPO_FUZZ_SECONDS, the time per target
# (default 25); IPO_FUZZ_TIMEOUT, the seconds one input may take (default 1; a long run on
# a machine shared with other builds may need more, as the limit is wall-clock time).
set -Eeuo pipefail
cd "${IPO_SRC:?}"
out=${IPO_BUILD:?}/fuzz
seconds=${IPO_FUZZ_SECONDS:-25}
timeout=${IPO_FUZZ_TIMEOUT:-1}

# Target, path in build-fuzz/, -max_len: sized for what each reads. A policy file is a few
# KB, but the known attacks on it are 100 KB names and 150,000 nested brackets (300 KB).
# A Docker inspect body or event, and the nginx spec, are a few KB: 64 KB leaves room for
# 32,000 nesting levels, which the ASan build parses in about 0.2 s (6 decoders each).
targets=(
  "policy_fuzz agent/policy/policy_fuzz 327680"
  "event_decoder_fuzz agent/docker/event_decoder_fuzz 65536"
  "object_codec_fuzz agent/docker/object_codec_fuzz 65536"
  "nginx_spec_fuzz agent/render/nginx_spec_fuzz 65536"
  "sock_diag_fuzz agent/hostsock/sock_diag_fuzz 65536"
  "destination_fuzz agent/explain/destination_fuzz 1024"
  "nflog_fuzz agent/nft/nflog_fuzz 4096"
)

# stat LOG KEY: the value of libFuzzer's final "stat::KEY:" line ("-" when there is none).
stat() {
  local log=$1 key=$2 v
  v=$(sed -n "s/^stat::$key: *//p" "$log" | tail -n 1)
  echo "${v:--}"
}

# last_field LOG NAME: NAME's value ("cov:", "ft:") on the last status line ("-" if none).
last_field() {
  local log=$1 name=$2 v
  v=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n "s/.* $name \([^ ]*\).*/\1/p")
  echo "${v:--}"
}

# run_target NAME BINARY MAX_LEN: fuzzes one target; returns 1 on any finding.
run_target() {
  local name=$1 bin=$2 max_len=$3 corpus log seeds rc=0 start elapsed
  corpus=$out/corpus/$name
  log=$out/$name.log
  rm -rf "$corpus" "$log" "$out/$name"-*
  mkdir -p "$corpus"
  cp "tests/fuzz/corpus/$name"/* "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  start=$SECONDS
  # -error_exitcode/-timeout_exitcode: libFuzzer's default 77 would read as "skipped" to CTest.
  "$bin" -max_len="$max_len" -timeout="$timeout" -rss_limit_mb=2048 -max_total_time="$seconds" \
    -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  printf 'fuzz: %-19s %3d s, %9s execs (%s/s), cov %s ft %s, corpus %d -> %s, peak rss %s MB: ' \
    "$name" "$elapsed" "$(stat "$log" number_of_executed_units)" \
    "$(stat "$log" average_exec_per_sec)" "$(last_field "$log" cov:)" "$(last_field "$log" ft:)" \
    "$seeds" "$(find "$corpus" -type f | wc -l)" "$(stat "$log" peak_rss_mb)"
  if ((rc == 0)); then
    echo ok
    return 0
  fi
  echo "FAILED (exit $rc), log $log"
  grep -E 'ERROR|runtime error|SUMMARY|Test unit written|ALARM|out-of-memory|#[0-9]+ +DONE' "$log" | head -n 20 >&2 || true
  return 1
}

# build: configure and build the fuzz preset (log $out/build.log); 1 on failure.
build() {
  local build_log=$out/build.log t0=$SECONDS
  command -v clang++-14 >/dev/null ||
    { echo "fuzz.sh: clang++-14 not found: scripts/bootstrap installs clang-14 and libclang-rt-14-dev" >&2; return 1; }
  mkdir -p "$out"
  if ! { cmake --preset fuzz && cmake --build --preset fuzz -- -j2; } >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    echo "fuzz.sh: the fuzz preset did not build (log $build_log)" >&2
    return 1
  fi
  echo "fuzz: the fuzz preset built in $((SECONDS - t0)) s"
}

main() {
  local mode=all
  case ${1:-} in
    --build-only) mode=build; shift ;;
    --no-build) mode=run; shift ;;
  esac
  local want=("$@") t name path max_len failed=0
  [[ $mode == run ]] || build || return 1
  [[ $mode != build ]] || return 0
  mkdir -p "$out"
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # One target per core at a time (each gets the same CPU time as alone; CI has two cores).
  local jobs running=0
  jobs=$(nproc)
  for t in "${targets[@]}"; do
    read -r name path max_len <<<"$t"
    if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then
      continue
    fi
    [[ -x build-fuzz/$path ]] || { echo "fuzz: build-fuzz/$path is not built (tests/fuzz/fuzz.sh --build-only)" >&2; return 1; }
    if ((running >= jobs)); then
      wait -n || failed=$((failed + 1))
      running=$((running - 1))
    fi
    run_target "$name" "build-fuzz/$path" "$max_len" &
    running=$((running + 1))
  done
  while ((running > 0)); do
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  done
  if ((failed)); then
    echo "fuzz: $failed target(s) found a crash, leak, stall or memory blow-up" >&2
    return 1
  fi
  echo "fuzz: every target ran clean"
}

main "$@"
