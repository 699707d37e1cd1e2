#!/usr/bin/env bash
# Usage: tests/nginx/render_committed.sh
#
# The committed renderings rules/nginx/ipo.com.<target>.conf are what `ipo-netctl render
# nginx` makes from rules/nginx/ipo.com.json today (fails when they are stale: render again
# with the command printed), and docs/nginx.md quotes the current one. Also the command's error contract: a bad spec names the key,
# exits 1 and writes nothing (an existing --out file stays as it was). No root needed.
set -Eeuo pipefail

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=tests/nginx/lab.sh
source "$IPO_SRC/tests/nginx/lab.sh"

main() {
  local netctl target
  netctl=$(ngx_netctl)
  [[ -x $netctl ]] || fail "ipo-netctl not built: $netctl"
  RENDER_TMP=$(mktemp -d)
  local tmp=$RENDER_TMP
  trap 'rm -rf "$RENDER_TMP"' EXIT
  for target in debian12 rocky8; do
    "$netctl" render nginx --spec "$IPO_SRC/rules/nginx/ipo.com.json" --target "$target" >"$tmp/$target.conf"
    diff -u "$IPO_SRC/rules/nginx/ipo.com.$target.conf" "$tmp/$target.conf" ||
      fail "rules/nginx/ipo.com.$target.conf is stale; run: ipo-netctl render nginx --spec rules/nginx/ipo.com.json --target $target --out rules/nginx/ipo.com.$target.conf"
    ngx_pass "rules/nginx/ipo.com.$target.conf is up to date"
  done
  # docs/nginx.md quotes the debian12 rendering verbatim.
  sed -n '/^<!-- BEGIN rules\/nginx\/ipo.com.debian12.conf -->$/,/^<!-- END/p' "$IPO_SRC/docs/nginx.md" |
    sed '1,2d;$d' | sed '$d' >"$tmp/doc.conf"
  diff -u "$tmp/debian12.conf" "$tmp/doc.conf" ||
    fail "docs/nginx.md quotes an old rendering: replace the block between its BEGIN/END markers"
  ngx_pass "docs/nginx.md quotes the current rendering"

  # --out writes the same bytes as stdout.
  "$netctl" render nginx --spec "$IPO_SRC/rules/nginx/ipo.com.json" --out "$tmp/out.conf"
  cmp "$tmp/out.conf" "$tmp/debian12.conf" || fail "--out differs from stdout"
  ngx_pass "--out writes what stdout shows (default target debian12)"

  # A bad spec: message names the key, exit 1, the old --out file untouched, no temp left.
  jq '.api.burst = "5"' "$IPO_SRC/rules/nginx/ipo.com.json" >"$tmp/bad.json"
  echo "old contents" >"$tmp/keep.conf"
  local rc=0 err
  err=$("$netctl" render nginx --spec "$tmp/bad.json" --out "$tmp/keep.conf" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq 1 ]] || fail "bad spec: exit $rc, want 1"
  [[ $err == *'key "api.burst" must be an integer, got string'* ]] || fail "bad spec message: $err"
  [[ $(<"$tmp/keep.conf") == "old contents" ]] || fail "bad spec: --out file was changed"
  [[ -z $(find "$tmp" -name '.keep.conf.tmp.*') ]] || fail "bad spec: temp file left behind"
  ngx_pass "bad spec: '$err', exit 1, nothing written"
  rc=0
  err=$("$netctl" render nginx --spec "$tmp/missing.json" --out "$tmp/new.conf" 2>&1) || rc=$?
  [[ $rc -ne 0 && ! -e $tmp/new.conf && $err == *missing.json* ]] || fail "missing spec: rc $rc, $err"
  ngx_pass "missing spec: '$err', nothing written"
  rc=0
  "$netctl" render nginx --spec "$IPO_SRC/rules/nginx/ipo.com.json" --target centos7 >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || fail "unknown target accepted"
  ngx_pass "unknown target refused"
  echo "PASS: nginx render committed"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
