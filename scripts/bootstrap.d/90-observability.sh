# shellcheck shell=bash
# Group "observability": promtool, which checks the agent's metrics file and the example
# alert rules (tests/lab/metrics.sh, rules/prometheus/), and gnuplot-nox, which draws the
# benchmarks' plots (bench/*/run --plot, scripts/lib/ipo_plot.sh). promtool comes from
# Debian's prometheus package, downloaded and unpacked, not installed: no Prometheus server,
# no unit enabled for the next boot. promtool is one static Go binary; it lands in
# $IPO_TOOLS/bin.
ipo_bootstrap_observability() {
  local bin=$IPO_TOOLS/bin/promtool work
  ipo_apt_install gnuplot-nox
  [[ -x $bin ]] && return 0
  ipo_info "promtool: unpacking Debian's prometheus package into $IPO_TOOLS/bin"
  work=$(mktemp -d)
  chmod 755 "$work"  # apt downloads as _apt
  # Runs in a subshell so the directory change and the trap stay local.
  (
    trap 'rm -rf "$work"' EXIT
    cd "$work" || exit 1
    apt-get download -qq prometheus || { apt-get update -qq && apt-get download -qq prometheus; }
    dpkg-deb -x prometheus_*.deb root
    mkdir -p "$IPO_TOOLS/bin"
    install -m 0755 root/usr/bin/promtool "$bin"
  )
  "$bin" --version >/dev/null
}
