#!/usr/bin/env bash
# Usage: tests/nginx/nginx_gixy.sh
#
# gixy-ng (maintained fork of gixy, from PyPI, in $IPO_TOOLS/venv) over the rendered
# configuration for both targets, each inside the smallest nginx.conf around it: no issue of
# any severity. One check is skipped, with its reason in docs/nginx.md: missing_resolver
# (bot.ipo.com is resolved when nginx starts or reloads; the upstream `resolve` parameter
# it asks for exists only from nginx 1.27.3). Also `nginx -t` of that minimal config.
# Needs root (lab namespace, for bot.ipo.com in nginx -t).
set -Eeuo pipefail

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=tests/nginx/lab.sh
source "$IPO_SRC/tests/nginx/lab.sh"

main() {
  local gixy=${IPO_TOOLS:-/opt/ipo-host}/venv/bin/gixy
  [[ -x $gixy ]] || fail "missing $gixy: run scripts/bootstrap nginx"
  ngx_lab_up
  local target out
  for target in debian12 rocky8; do
    "$(ngx_netctl)" render nginx --spec "$NGX_DIR/conf/spec.json" --target "$target" \
      --out "$NGX_DIR/conf/ipo.com.$target.conf"
    ngx_lab_minimal_conf "$NGX_DIR/conf/ipo.com.$target.conf" "$NGX_DIR/conf/minimal.$target.conf"
    out=$(ngx_in nginx -t -c "$NGX_DIR/conf/minimal.$target.conf" 2>&1) || fail "nginx -t ($target): $out"
    if grep -E '\[(warn|emerg|alert|crit|error)\]' <<<"$out"; then fail "nginx -t ($target) not clean"; fi
    ngx_pass "nginx -t clean ($target rendering on nginx $(nginx -v 2>&1 | sed 's|.*/||'))"
    out=$("$gixy" --skips missing_resolver -f json "$NGX_DIR/conf/minimal.$target.conf" 2>&1) ||
      fail "gixy ($target) found issues: $out"
    jq -e 'length == 0' <<<"$out" >/dev/null || fail "gixy ($target) found issues: $out"
    ngx_pass "gixy: no issue ($target)"
  done
  # The check must be able to fail: the same analyser on a config with a known issue.
  sed 's|ssl_protocols TLSv1.2 TLSv1.3;|ssl_protocols TLSv1 TLSv1.2 TLSv1.3;|' \
    "$NGX_DIR/conf/ipo.com.debian12.conf" >"$NGX_DIR/conf/weak.conf"
  ngx_lab_minimal_conf "$NGX_DIR/conf/weak.conf" "$NGX_DIR/conf/minimal.weak.conf"
  if "$gixy" --skips missing_resolver -f json "$NGX_DIR/conf/minimal.weak.conf" >/dev/null 2>&1; then
    fail "gixy did not flag TLS 1.0: the check is not effective"
  fi
  ngx_pass "gixy flags a deliberately weakened copy (TLS 1.0)"
  echo "PASS: nginx gixy"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
