# shellcheck shell=bash
# The nginx lab shared by the tests in this folder (source it; needs root):
#   ngx_lab_up    network namespace "ipo-ngx" (loopback only, own /etc/hosts via
#                 /etc/netns/ipo-ngx/hosts: ipo.com and bot.ipo.com are 127.0.0.1), a
#                 self-signed certificate for ipo.com, a test web tree, the default spec
#                 with its paths moved into the lab dir, rendered by `ipo-netctl render nginx`
#                 into Debian's stock nginx.conf, then php-fpm 8.2 (unix socket), an echo
#                 backend for bot.ipo.com:8081 and nginx, all inside the namespace.
#   ngx_lab_down  stops those processes (by pid) and removes the namespace, its /etc/netns
#                 entry and the lab dir. ngx_lab_up installs it as the EXIT trap.
# Nothing leaves the namespace: it has only `lo`, so even testssl.sh cannot reach out.
#
# After ngx_lab_up: NGX_DIR (lab dir), NGX_NS, NGX_WWW (= api.root), NGX_SITE (= site.root
# and static.root), NGX_LOG (logs), ngx_in CMD... (run in the namespace), ngx_curl ARGS...

# shellcheck source=tests/lib/assert.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/assert.sh"

NGX_NS=ipo-ngx
NGX_DIR=
NGX_PIDS=()

# ngx_netctl: path of the ipo-netctl under test.
ngx_netctl() {
  printf '%s\n' "${IPO_NETCTL:-${IPO_BUILD:-$IPO_SRC/build}/agent/cli/ipo-netctl}"
}

# ngx_in CMD...: run CMD inside the lab namespace.
ngx_in() { ip netns exec "$NGX_NS" "$@"; }

# ngx_curl ARGS...: curl inside the namespace, trusting the lab certificate.
ngx_curl() { ngx_in curl -sS --max-time 10 --cacert "$NGX_DIR/tls/ipo.com.crt" "$@"; }

# ngx_pass MESSAGE...: one line per passed check.
ngx_pass() { printf 'ok: %s\n' "$*"; }

# ngx_lab_kill_leftovers: a previous run that was killed may have left the namespace.
ngx_lab_kill_leftovers() {
  local pid
  if ip netns list | grep -qw "$NGX_NS"; then
    for pid in $(ip netns pids "$NGX_NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in $(ip netns pids "$NGX_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NGX_NS"
  fi
  rm -rf "/etc/netns/$NGX_NS"
}

ngx_lab_down() {
  local pid
  for pid in "${NGX_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${NGX_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  NGX_PIDS=()
  ngx_lab_kill_leftovers
  [[ -n $NGX_DIR && -d $NGX_DIR ]] && rm -rf "$NGX_DIR"
  NGX_DIR=
}

# ngx_lab_spec OUT: the default spec with every path moved into the lab dir, the bot
# upstream on port 8081 (nginx itself owns 80 and 443 in the namespace) and file changes
# visible after 1 s instead of 60 s (open_file_cache.valid_seconds), so the fallback test
# can add and remove files quickly (NGX_FILE_CACHE_VALID overrides it: the benchmark keeps
# the spec's own value).
ngx_lab_spec() {
  local out=$1
  jq --arg d "$NGX_DIR" --arg valid "${NGX_FILE_CACHE_VALID:-1}" '
    .tls.certificate = "\($d)/tls/ipo.com.crt" | .tls.certificate_key = "\($d)/tls/ipo.com.key"
    | .bot.port = 8081 | .open_file_cache.valid_seconds = ($valid | tonumber)
    | .api.root = "\($d)/www" | .api.php_fpm_socket = "\($d)/run/php-fpm.sock"
    | .static.root = "\($d)/www/ipo" | .site.root = "\($d)/www/ipo"
    | .logs.access_log = "\($d)/log/ipo.com.access.log" | .logs.error_log = "\($d)/log/ipo.com.error.log"
  ' "$IPO_SRC/rules/nginx/ipo.com.json" >"$out"
}

# ngx_lab_tree: the web tree the tests work on.
ngx_lab_tree() {
  local www=$NGX_DIR/www
  mkdir -p "$www/api" "$www/ipo/public" "$www/ipo/static/css"
  cat >"$www/api/ping.php" <<'PHP'
<?php
header('Content-Type: text/plain');
header(sprintf('X-Ipo-Time: %.6f', microtime(true)));
echo "pong script=", $_SERVER['SCRIPT_FILENAME'], " uri=", $_SERVER['REQUEST_URI'], "\n";
PHP
  cat >"$www/api/request.php" <<'PHP'
<?php
header('Content-Type: text/plain');
echo "api-request uri=", $_SERVER['REQUEST_URI'], "\n";
PHP
  echo '<?php echo "must never run";' >"$www/api/secret.php"
  echo '<?php echo "must never run";' >"$www/ipo/static/x.php"
  echo '<h1>site index</h1>' >"$www/ipo/index.html"
  echo '<h1>public index</h1>' >"$www/ipo/public/index.html"
  local i
  for i in $(seq 1 200); do echo "body { margin: ${i}px; color: #123456; }"; done >"$www/ipo/static/css/app.css"
  cp "$www/ipo/static/css/app.css" "$www/ipo/static/css/app.0123abcd.css"
  for i in $(seq 1 100); do echo "precompressed line $i"; done >"$www/ipo/static/pre.txt"
  # The .gz differs from gzip(pre.txt): if it comes back, gzip_static served it.
  echo "this came from pre.txt.gz" | gzip -9 >"$www/ipo/static/pre.txt.gz"
  chmod -R a+rX "$NGX_DIR"
}

# ngx_lab_nginx_conf RENDERED OUT: Debian's stock nginx.conf, with the pid, logs and temp
# paths moved into the lab and the site include pointing at the rendered file.
ngx_lab_nginx_conf() {
  local rendered=$1 out=$2 t=$NGX_DIR/tmp
  mkdir -p "$t"
  # Relative includes (fastcgi_params) resolve against the directory of nginx.conf.
  ln -sf /etc/nginx/fastcgi_params "$(dirname "$out")/fastcgi_params"
  sed -e "s|^pid .*|pid $NGX_DIR/run/nginx.pid;|" \
    -e "s|/var/log/nginx/|$NGX_DIR/log/|g" \
    -e "s|include /etc/nginx/sites-enabled/\*;|include $rendered;|" \
    -e "s|include /etc/nginx/conf.d/\*.conf;|client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fastcgi; uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;|" \
    /etc/nginx/nginx.conf >"$out"
  grep -q "include $rendered;" "$out" || fail "could not adapt /etc/nginx/nginx.conf"
}

ngx_lab_php_conf() {
  cat >"$NGX_DIR/conf/php-fpm.conf" <<EOF_PHP
[global]
pid = $NGX_DIR/run/php-fpm.pid
error_log = $NGX_DIR/log/php-fpm.log
daemonize = no

[www]
user = www-data
group = www-data
listen = $NGX_DIR/run/php-fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 4
access.log = $NGX_DIR/log/php-fpm.access.log
access.format = "%m %r %s %f"
EOF_PHP
}

# ngx_lab_start_nginx: (re)start nginx with the lab config; waits until it answers.
ngx_lab_start_nginx() {
  ngx_in nginx -c "$NGX_DIR/conf/nginx.conf" -g 'daemon off;' 2>>"$NGX_DIR/log/nginx.stderr" &
  NGX_PIDS+=($!)
  ipo_wait_for 10 ngx_in curl -s -o /dev/null --max-time 1 http://ipo.com/ ||
    fail "nginx did not start: $(cat "$NGX_DIR/log/nginx.stderr" "$NGX_DIR/log/error.log" 2>/dev/null)"
}

ngx_lab_up() {
  # shellcheck source=scripts/lib/ipo_common.sh
  source "$IPO_SRC/scripts/lib/ipo_common.sh"
  [[ $(id -u) -eq 0 ]] || fail "the nginx lab needs root (network namespace)"
  local c
  for c in nginx php-fpm8.2 openssl jq curl ip python3; do
    command -v "$c" >/dev/null || fail "missing $c: run scripts/bootstrap nginx"
  done
  [[ -x $(ngx_netctl) ]] || fail "ipo-netctl not built: $(ngx_netctl)"
  trap ngx_lab_down EXIT
  ngx_lab_kill_leftovers
  NGX_DIR=$(mktemp -d /tmp/ipo-ngx.XXXXXX)
  chmod 755 "$NGX_DIR"
  mkdir -p "$NGX_DIR"/{tls,conf,run,log}
  # shellcheck disable=SC2034 # used by the tests that source this file
  NGX_WWW=$NGX_DIR/www
  # shellcheck disable=SC2034
  NGX_SITE=$NGX_DIR/www/ipo
  NGX_LOG=$NGX_DIR/log

  ip netns add "$NGX_NS"
  ip -n "$NGX_NS" link set lo up
  mkdir -p "/etc/netns/$NGX_NS"
  printf '127.0.0.1 localhost ipo.com www.ipo.com bot.ipo.com other.example\n::1 localhost\n' \
    >"/etc/netns/$NGX_NS/hosts"
  printf 'nameserver 127.0.0.1\n' >"/etc/netns/$NGX_NS/resolv.conf"

  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ipo.com" \
    -addext "subjectAltName=DNS:ipo.com" -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$NGX_DIR/tls/ipo.com.key" -out "$NGX_DIR/tls/ipo.com.crt" 2>/dev/null
  ngx_lab_tree
  ngx_lab_spec "$NGX_DIR/conf/spec.json"
  "$(ngx_netctl)" render nginx --spec "$NGX_DIR/conf/spec.json" --target debian12 \
    --out "$NGX_DIR/conf/ipo.com.conf" || fail "ipo-netctl render nginx failed"
  ngx_lab_nginx_conf "$NGX_DIR/conf/ipo.com.conf" "$NGX_DIR/conf/nginx.conf"
  ngx_lab_php_conf

  ngx_in php-fpm8.2 -F -y "$NGX_DIR/conf/php-fpm.conf" 2>>"$NGX_LOG/php-fpm.stderr" &
  NGX_PIDS+=($!)
  ngx_in python3 "$IPO_SRC/tests/nginx/echo_backend.py" 127.0.0.1 8081 &
  NGX_PIDS+=($!)
  ipo_wait_for 10 test -S "$NGX_DIR/run/php-fpm.sock" ||
    fail "php-fpm did not start: $(cat "$NGX_LOG/php-fpm.log" "$NGX_LOG/php-fpm.stderr" 2>/dev/null)"
  ipo_wait_for 10 ngx_in curl -s -o /dev/null --max-time 1 http://127.0.0.1:8081/ ||
    fail "echo backend did not start"
  ngx_lab_start_nginx
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
