#!/usr/bin/env bash
# Test: every benchmark plot (bench/*/run --plot) is drawn from a recorded report by the
# benchmark's own function: a PNG of the common size (scripts/lib/ipo_plot.sh), not blank
# (more than a few KB), for each of
#   bench/agent/run        plot_cdf      latency samples
#   bench/nft/run          plot_bars     a real bench_nft report (tests/testdata/bench)
#   bench/nft/packet-path  plot_curve    results of both kinds at five sizes
#   bench/nginx/run        plot_limiter  the limiter test's schedule of 200 answers
# and a report without rows is refused rather than drawn empty. gnuplot comes from
# scripts/bootstrap observability.
set -Eeuo pipefail
# shellcheck source=tests/lib/assert.sh
source "${IPO_SRC:?}/tests/lib/assert.sh"

WORK=""
cleanup() { [[ -z $WORK ]] || rm -rf "$WORK"; }

# png_ok FILE: 0 when FILE is an 860x480 PNG of more than 4 KB.
png_ok() {
  local file=$1 header
  [[ -s $file ]] || return 1
  header=$(head -c 24 "$file" | od -An -tx1 | tr -d ' \n')
  # signature, IHDR length and type, width 860 (0x35c), height 480 (0x1e0)
  [[ $header == 89504e470d0a1a0a0000000d494844520000035c000001e0 ]] || return 1
  (($(stat -c %s "$file") > 4096))
}

# in_bench SCRIPT CMD...: CMD in a subshell that sourced the benchmark SCRIPT (its main is
#   not run) and the plot library.
in_bench() {
  local script=$1
  shift
  (
    # shellcheck disable=SC1090
    source "$IPO_SRC/$script" || true
    # shellcheck source=scripts/lib/ipo_plot.sh
    source "$IPO_SRC/scripts/lib/ipo_plot.sh"
    "$@"
  )
}

main() {
  command -v gnuplot >/dev/null || fail "gnuplot missing: run scripts/bootstrap observability"
  trap cleanup EXIT
  WORK=$(mktemp -d)

  awk 'BEGIN {srand(7); for (i = 0; i < 150; i++) print 3 + 10 * rand() * rand()}' >"$WORK/samples"
  in_bench bench/agent/run plot_cdf "$WORK/samples" "$WORK/agent.png" >/dev/null 2>&1
  check "bench/agent/run: latency distribution plot" png_ok "$WORK/agent.png"

  in_bench bench/nft/run plot_bars "$IPO_SRC/tests/testdata/bench/bench_nft.txt" "$WORK/nft.png" >/dev/null 2>&1
  check "bench/nft/run: netlink vs nft vs iptables bars" png_ok "$WORK/nft.png"
  echo "no rows here" >"$WORK/empty.txt"
  if in_bench bench/nft/run plot_bars "$WORK/empty.txt" "$WORK/none.png" >/dev/null 2>&1; then
    fail "bench/nft/run: a report without rows was drawn"
  fi

  {
    echo "baseline 0 38000"
    local n
    for n in 1 10 100 1000 10000; do echo "set $n 33000"; echo "linear $n $((35000 - n * 3))"; done
  } >"$WORK/results"
  in_bench bench/nft/packet-path plot_curve "$WORK/results" "$WORK/pp.png" 38000 5 >/dev/null 2>&1
  check "bench/nft/packet-path: requests/s by allowlist size" png_ok "$WORK/pp.png"

  awk 'BEGIN {for (i = 0; i < 200; i++) print i * 100, (i % 7 == 0 ? 200 : 429)}' >"$WORK/schedule"
  in_bench bench/nginx/run plot_limiter "$WORK/schedule" "$WORK/ngx.png" >/dev/null 2>&1
  check "bench/nginx/run: limiter over time" png_ok "$WORK/ngx.png"
  echo "PASS: 4 benchmark plots drawn from recorded reports; an empty report refused"
}

main "$@"
