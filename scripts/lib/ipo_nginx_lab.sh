# shellcheck shell=bash
# The nginx lab (question 二): real nginx + php-fpm from Debian serving the configuration
# rendered by `ipo-netctl render nginx`. scripts/nginx-lab drives it; tests/nginx and
# bench/nginx source it through tests/nginx/lab.sh. Needs root.
#   ipo_nginx_lab_up      network namespace "ipo-ngx" (loopback only, own /etc/hosts via
#                         /etc/netns/ipo-ngx/hosts: ipo.com and bot.ipo.com are 127.0.0.1),
#                         a self-signed certificate for ipo.com, a test web tree, the default
#                         spec with its paths moved into the lab dir, rendered into Debian's
#                         stock nginx.conf, then php-fpm 8.2 (unix socket), an echo backend
#                         for bot.ipo.com:8081 and nginx, all inside the namespace.
#   ipo_nginx_lab_down    stops those processes (by pid, then every process left in the
#                         namespace) and removes the namespace, its /etc/netns entry and the
#                         lab dir.
#   ipo_nginx_lab_status  prints the namespace, its processes and whether nginx answers;
#                         1 when the lab is down.
# Nothing leaves the namespace: it has only `lo`, so even testssl.sh cannot reach out. The
# processes write to files in $NGX_DIR/log only (never to the caller's stdout or stderr).
#
# The lab dir is $IPO_NGINX_LAB_DIR when set (scripts/nginx-lab: ${TMPDIR:-/tmp}/ipo-nginx-lab,
# so that `down` in another process finds it), else a new /tmp/ipo-ngx.XXXXXX.
# After ipo_nginx_lab_up: NGX_DIR (lab dir), NGX_NS, NGX_WWW (= api.root), NGX_SITE
# (= site.root and static.root), NGX_LOG (logs), ngx_in CMD... (run in the namespace).
# REQUIRES: scripts/lib/ipo_common.sh sourced; nginx php-fpm8.2 openssl jq curl ip python3
# (scripts/bootstrap nginx); a built ipo-netctl ($IPO_NETCTL, else $IPO_BUILD or
# $IPO_SRC/build).

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
NGX_NS=ipo-ngx
NGX_DIR=
NGX_PIDS=()

# ngx_netctl: path of the ipo-netctl under test.
ngx_netctl() {
  printf '%s\n' "${IPO_NETCTL:-${IPO_BUILD:-$IPO_SRC/build}/agent/cli/ipo-netctl}"
}

# ngx_in CMD...: run CMD inside the lab namespace.
ngx_in() { ip netns exec "$NGX_NS" "$@"; }

# ipo_nginx_lab_ns_exists: 0 when the lab namespace exists.
ipo_nginx_lab_ns_exists() { ip netns list | grep -qw "$NGX_NS"; }

# ipo_nginx_lab_kill_leftovers: every process in the namespace, the namespace and /etc/netns entry
# (what a killed run, or an `up` in another process, left behind).
ipo_nginx_lab_kill_leftovers() {
  local pid
  if ipo_nginx_lab_ns_exists; then
    for pid in $(ip netns pids "$NGX_NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in $(ip netns pids "$NGX_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$NGX_NS"
  fi
  rm -rf "/etc/netns/$NGX_NS"
}

ipo_nginx_lab_down() {
  local pid
  for pid in "${NGX_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${NGX_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  NGX_PIDS=()
  ipo_nginx_lab_kill_leftovers
  if [[ -z $NGX_DIR && -n ${IPO_NGINX_LAB_DIR:-} && -f $IPO_NGINX_LAB_DIR/.ipo-nginx-lab ]]; then
    NGX_DIR=$IPO_NGINX_LAB_DIR
  fi
  [[ -n $NGX_DIR && -d $NGX_DIR ]] && rm -rf "$NGX_DIR"
  NGX_DIR=
}

ipo_nginx_lab_status() {
  local dir=${NGX_DIR:-${IPO_NGINX_LAB_DIR:-}}
  if ! ipo_nginx_lab_ns_exists; then
    echo "down"
    return 1
  fi
  echo "namespace: $NGX_NS"
  [[ -z $dir ]] || echo "lab dir: $dir"
  # One "name xCOUNT" per command running in the namespace.
  echo "processes: $(ip netns pids "$NGX_NS" 2>/dev/null | xargs -r ps -o comm= -p | sort | uniq -c |
    awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')"
  if ngx_in curl -s -o /dev/null --max-time 1 http://ipo.com/; then
    echo "nginx: answers on http://ipo.com/ (in the namespace)"
  else
    echo "nginx: DOWN"
    return 1
  fi
}

# ipo_nginx_lab_spec OUT: the default spec with every path moved into the lab dir, the bot
# upstream on port 8081 (nginx itself owns 80 and 443 in the namespace) and file changes
# visible after 1 s instead of 60 s (open_file_cache.valid_seconds), so the fallback test
# can add and remove files quickly (NGX_FILE_CACHE_VALID overrides it: the benchmark keeps
# the spec's own value).
ipo_nginx_lab_spec() {
  local out=$1
  jq --arg d "$NGX_DIR" --arg valid "${NGX_FILE_CACHE_VALID:-1}" '
    .tls.certificate = "\($d)/tls/ipo.com.crt" | .tls.certificate_key = "\($d)/tls/ipo.com.key"
    | .bot.port = 8081 | .open_file_cache.valid_seconds = ($valid | tonumber)
    | .api.root = "\($d)/www" | .api.php_fpm_socket = "\($d)/run/php-fpm.sock"
    | .static.root = "\($d)/www/ipo" | .site.root = "\($d)/www/ipo"
    | .logs.access_log = "\($d)/log/ipo.com.access.log" | .logs.error_log = "\($d)/log/ipo.com.error.log"
  ' "$IPO_SRC/rules/nginx/ipo.com.json" >"$out"
}

# ipo_nginx_lab_tree: the web tree the tests work on.
ipo_nginx_lab_tree() {
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

# ipo_nginx_lab_nginx_conf RENDERED OUT: Debian's stock nginx.conf, with the pid, logs and
# temp paths moved into the lab and the site include pointing at the rendered file.
ipo_nginx_lab_nginx_conf() {
  local rendered=$1 out=$2 t=$NGX_DIR/tmp
  mkdir -p "$t"
  # Relative includes (fastcgi_params) resolve against the directory of nginx.conf.
  ln -sf /etc/nginx/fastcgi_params "$(dirname "$out")/fastcgi_params"
  sed -e "s|^pid .*|pid $NGX_DIR/run/nginx.pid;|" \
    -e "s|/var/log/nginx/|$NGX_DIR/log/|g" \
    -e "s|include /etc/nginx/sites-enabled/\*;|include $rendered;|" \
    -e "s|include /etc/nginx/conf.d/\*.conf;|client_body_temp_path $t/body; proxy_temp_path $t/proxy; fastcgi_temp_path $t/fastcgi; uwsgi_temp_path $t/uwsgi; scgi_temp_path $t/scgi;|" \
    /etc/nginx/nginx.conf >"$out"
  grep -q "include $rendered;" "$out" || ipo_die "could not adapt /etc/nginx/nginx.conf"
}

ipo_nginx_lab_php_conf() {
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

# ipo_nginx_lab_start_nginx: (re)start nginx with the lab config; waits until it answers.
ipo_nginx_lab_start_nginx() {
  ngx_in nginx -c "$NGX_DIR/conf/nginx.conf" -g 'daemon off;' </dev/null >>"$NGX_DIR/log/nginx.stderr" 2>&1 &
  NGX_PIDS+=($!)
  ipo_wait_for 10 ngx_in curl -s -o /dev/null --max-time 1 http://ipo.com/ ||
    ipo_die "nginx did not start: $(cat "$NGX_DIR/log/nginx.stderr" "$NGX_DIR/log/error.log" 2>/dev/null)"
}

# ipo_nginx_lab_check: die unless root, the tools and a built ipo-netctl are there.
ipo_nginx_lab_check() {
  [[ $(id -u) -eq 0 ]] || ipo_die "the nginx lab needs root (network namespace)"
  local c
  for c in nginx php-fpm8.2 openssl jq curl ip python3; do
    command -v "$c" >/dev/null || ipo_die "missing $c: run scripts/bootstrap nginx"
  done
  [[ -x $(ngx_netctl) ]] || ipo_die "ipo-netctl not built: $(ngx_netctl)"
}

ipo_nginx_lab_up() {
  ipo_nginx_lab_check
  ipo_nginx_lab_kill_leftovers
  NGX_DIR=$(ipo_lab_dir "${IPO_NGINX_LAB_DIR:-}" .ipo-nginx-lab /tmp/ipo-ngx.XXXXXX)
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
  ipo_nginx_lab_tree
  ipo_nginx_lab_spec "$NGX_DIR/conf/spec.json"
  "$(ngx_netctl)" render nginx --spec "$NGX_DIR/conf/spec.json" --target debian12 \
    --out "$NGX_DIR/conf/ipo.com.conf" || ipo_die "ipo-netctl render nginx failed"
  ipo_nginx_lab_nginx_conf "$NGX_DIR/conf/ipo.com.conf" "$NGX_DIR/conf/nginx.conf"
  ipo_nginx_lab_php_conf

  ngx_in php-fpm8.2 -F -y "$NGX_DIR/conf/php-fpm.conf" </dev/null >>"$NGX_LOG/php-fpm.stderr" 2>&1 &
  NGX_PIDS+=($!)
  ngx_in python3 "$IPO_SRC/scripts/lib/ipo_nginx_echo_backend.py" 127.0.0.1 8081 \
    </dev/null >>"$NGX_LOG/echo_backend.log" 2>&1 &
  NGX_PIDS+=($!)
  ipo_wait_for 10 test -S "$NGX_DIR/run/php-fpm.sock" ||
    ipo_die "php-fpm did not start: $(cat "$NGX_LOG/php-fpm.log" "$NGX_LOG/php-fpm.stderr" 2>/dev/null)"
  ipo_wait_for 10 ngx_in curl -s -o /dev/null --max-time 1 http://127.0.0.1:8081/ ||
    ipo_die "echo backend did not start: $(cat "$NGX_LOG/echo_backend.log" 2>/dev/null)"
  ipo_nginx_lab_start_nginx
}
