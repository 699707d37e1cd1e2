#!/usr/bin/env bash
# Usage: tests/nginx/nginx_testssl.sh
#
# testssl.sh (Debian) against the rendered config on a real nginx in the lab namespace
# (loopback only, --ip given so no DNS lookup either): protocols, cipher categories and
# forward secrecy. Passes when SSLv2/SSLv3/TLS 1.0/TLS 1.1 and the NULL, aNULL, EXPORT,
# LOW, 3DES/IDEA and AVERAGE cipher groups are not offered, TLS 1.2 and 1.3 are, h2 is
# offered via ALPN, and no finding of these checks is LOW/MEDIUM/HIGH/CRITICAL. Needs root.
set -Eeuo pipefail

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=tests/nginx/lab.sh
source "$IPO_SRC/tests/nginx/lab.sh"

# finding ID: "<severity> <finding>" of one testssl result.
finding() { jq -r --arg id "$1" '.[] | select(.id == $id) | "\(.severity) \(.finding)"' "$NGX_DIR/testssl.json"; }

expect_finding() {
  local id=$1 want=$2 got
  got=$(finding "$id")
  [[ $got == "$want"* ]] || fail "testssl $id: got '$got', want '$want'"
  ngx_pass "testssl $id: $got"
}

main() {
  command -v testssl >/dev/null || fail "missing testssl: run scripts/bootstrap nginx"
  ngx_lab_up
  ngx_in testssl --quiet --color 0 --warnings off --ip 127.0.0.1 --protocols --std --fs \
    --jsonfile "$NGX_DIR/testssl.json" ipo.com:443 >"$NGX_DIR/testssl.txt" 2>&1 || true
  [[ -s $NGX_DIR/testssl.json ]] || fail "testssl wrote no report: $(tail -20 "$NGX_DIR/testssl.txt")"
  local id
  for id in SSLv2 SSLv3; do expect_finding "$id" "OK not offered"; done
  for id in TLS1 TLS1_1; do expect_finding "$id" "INFO not offered"; done
  expect_finding TLS1_2 "OK offered"
  expect_finding TLS1_3 "OK offered"
  expect_finding ALPN_HTTP2 "OK h2"
  for id in cipherlist_NULL cipherlist_aNULL cipherlist_EXPORT cipherlist_LOW; do
    expect_finding "$id" "OK not offered"
  done
  for id in cipherlist_3DES_IDEA cipherlist_AVERAGE; do expect_finding "$id" "INFO not offered"; done
  expect_finding PFS "OK offered"
  local bad
  bad=$(jq -r '.[] | select(.severity == "LOW" or .severity == "MEDIUM" or .severity == "HIGH" or .severity == "CRITICAL") | "\(.id) \(.severity) \(.finding)"' "$NGX_DIR/testssl.json")
  [[ -z $bad ]] || fail "testssl reports weaknesses: $bad"
  ngx_pass "no LOW/MEDIUM/HIGH/CRITICAL finding"
  echo "PASS: nginx testssl"
}

[[ ${BASH_SOURCE[0]} == "$0" ]] && main "$@"
