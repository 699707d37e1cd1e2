#!/usr/bin/env bash
# Test (fixture cleanup): `down` leaves nothing: no directory, no process naming it, no
# listener on the lab's ports, no network namespace; a second `down` is a no-op.
set -Eeuo pipefail
# shellcheck source=tests/mysql/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$LAB" down
[[ ! -e $IPO_MYSQL_LAB_DIR ]] || fail "$IPO_MYSQL_LAB_DIR still exists"
for p in /proc/[0-9]*; do
  mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
  [[ " ${args[*]} " != *"$IPO_MYSQL_LAB_DIR/"* ]] || fail "process ${p#/proc/} still runs from the lab: ${args[*]}"
done
for ((port = IPO_MYSQL_LAB_PORT; port <= IPO_MYSQL_LAB_PORT + 4; port++)); do
  [[ -z $(ss -Hltn "sport = :$port") ]] || fail "lab port $port is still listening"
done
if [[ $(id -u) -eq 0 ]] && ip netns list | grep -q "^ipomysql-nat-$IPO_MYSQL_LAB_PORT\b"; then
  fail "network namespace ipomysql-nat-$IPO_MYSQL_LAB_PORT still exists"
fi
"$LAB" down
echo "PASS: lab removed completely"
