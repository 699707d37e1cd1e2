# shellcheck shell=bash
# Plots of the benchmarks (bench/*/run --plot FILE.png): gnuplot from Debian's gnuplot-nox
# (bootstrap group "observability"), PNG through the pngcairo terminal, one look for all of
# them. Defines only ipo_plot_* functions. Uses ipo_info/ipo_die (scripts/lib/ipo_common.sh).

# ipo_plot_png PNG TITLE: runs gnuplot on the script read from stdin after the common header
#   (terminal and size, output file, title, grid, key outside the data), then logs the file.
#   Dies when gnuplot fails or writes nothing.
ipo_plot_png() {
  local png=$1 title=$2
  command -v gnuplot >/dev/null 2>&1 || ipo_die "gnuplot not found (run scripts/bootstrap observability)"
  {
    printf 'set terminal pngcairo size 860,480 font ",10"\n'
    printf 'set output "%s"\n' "$png"
    printf 'set title "%s"\n' "${title//\"/\\\"}"
    printf 'set grid\n'
    cat
  } | gnuplot || ipo_die "gnuplot failed on $png"
  [[ -s $png ]] || ipo_die "gnuplot wrote nothing to $png"
  ipo_info "plot written to $png"
}
