#!/usr/bin/env bash
# Test (fixture setup): the lab comes up; processes are unprivileged and listen on loopback
# only; HAProxy sees every slave UP; a query through HAProxy works.
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_tools
"$LAB" down
"$LAB" up
status=$("$LAB" status)
echo "$status"
[[ $(grep -c 'haproxy s[0-9]*: UP' <<<"$status") -eq 4 ]] || fail "not every slave UP in HAProxy"
for n in 1 2 3 4; do
  pid=$(<"$IPO_MYSQL_LAB_DIR/s$n/mysqld.pid")
  user=$(ps -o user= -p "$pid")
  [[ $user != root ]] || fail "slave s$n (pid $pid) runs as root"
  [[ $(readlink "/proc/$pid/exe") == */mariadbd ]] || fail "slave s$n pid $pid is not mariadbd"
done
listen=$(ss -Hltn | awk '{print $4}' | grep -E ":(${IPO_MYSQL_LAB_PORT}|$((IPO_MYSQL_LAB_PORT + 1))|$((IPO_MYSQL_LAB_PORT + 4)))$" || true)
echo "$listen"
[[ $(wc -l <<<"$listen") -eq 3 ]] || fail "expected the frontend and slaves listening"
! grep -v '^127\.0\.0\.1:' <<<"$listen" || fail "lab listens beyond loopback"
port=$(php -r '$p = new PDO("mysql:host=127.0.0.1;port='"$IPO_MYSQL_LAB_PORT"';dbname=lab", "app", "app-secret"); echo $p->query("SELECT @@port")->fetchColumn();')
((port > IPO_MYSQL_LAB_PORT && port <= IPO_MYSQL_LAB_PORT + 4)) || fail "query through HAProxy gave port '$port'"
echo "PASS: lab up, query through HAProxy answered by slave port $port"
