# shellcheck shell=bash
# The nginx lab for the tests in this folder and bench/nginx (source it; needs root). The
# lab itself is scripts/lib/ipo_nginx_lab.sh (namespace ipo-ngx, see its header); this file
# adds the test side:
#   ngx_lab_up    ipo_nginx_lab_up in a new /tmp/ipo-ngx.XXXXXX, with ngx_lab_down as the
#                 EXIT trap
#   ngx_lab_down  ipo_nginx_lab_down
# and ngx_curl ARGS..., ngx_pass MESSAGE..., ngx_lab_minimal_conf RENDERED OUT.
# After ngx_lab_up: NGX_DIR (lab dir), NGX_NS, NGX_WWW (= api.root), NGX_SITE (= site.root
# and static.root), NGX_LOG (logs), ngx_in CMD... (run in the namespace).

# shellcheck source=tests/lib/assert.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"
# shellcheck source=scripts/lib/ipo_common.sh
source "$IPO_SRC/scripts/lib/ipo_common.sh"
# shellcheck source=scripts/lib/ipo_nginx_lab.sh
source "$IPO_SRC/scripts/lib/ipo_nginx_lab.sh"

# ngx_curl ARGS...: curl inside the namespace, trusting the lab certificate.
ngx_curl() { ngx_in curl -sS --max-time 10 --cacert "$NGX_DIR/tls/ipo.com.crt" "$@"; }

# ngx_pass MESSAGE...: one line per passed check.
ngx_pass() { printf 'ok: %s\n' "$*"; }

ngx_lab_down() { ipo_nginx_lab_down; }

ngx_lab_up() {
  ipo_nginx_lab_check
  trap ngx_lab_down EXIT
  IPO_NGINX_LAB_DIR='' ipo_nginx_lab_up
}

# ngx_lab_minimal_conf RENDERED OUT: the smallest nginx.conf around the rendered file, for
# the static analysis of our own configuration (Debian's stock nginx.conf keeps TLS 1.0/1.1
# in its http{} block, which our servers override; docs/nginx.md says to delete it).
ngx_lab_minimal_conf() {
  local rendered=$1 out=$2
  cat >"$out" <<EOF_CONF
user www-data;
worker_processes auto;
worker_rlimit_nofile 8192;
pid $NGX_DIR/run/nginx-minimal.pid;
error_log $NGX_DIR/log/error-minimal.log;
events {
    worker_connections 1024;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    include $rendered;
}
EOF_CONF
}
