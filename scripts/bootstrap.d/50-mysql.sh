# shellcheck shell=bash
# Group "mysql": the "MySQL server has gone away" lab (scripts/mysql-lab) and its tests:
# HAProxy in TCP mode, MariaDB server + client, PHP CLI with PDO MySQL, tcpdump for the
# runbook's captures.
#
# The lab runs its own unprivileged mariadbd instances on loopback ports with their own
# datadirs and sockets, so the system service is not needed. Debian's mariadb-server
# postinst starts the service through invoke-rc.d; on a machine without systemd that
# would leave a system mysqld on 3306 and /run/mysqld running. We forbid service starts
# during our install with a temporary policy-rc.d (only if none exists) and stop the
# system server if it was started anyway; haproxy's postinst is treated the same. The
# services stay enabled (not our business); the lab uses its own ports and sockets.

# ipo_mysql_stop_system_services SERVICE...: stop these init services if their package
# scripts started them anyway (e.g. a policy-rc.d of ours could not be installed).
ipo_mysql_stop_system_services() {
  local svc
  for svc in "$@"; do
    [[ -x /etc/init.d/$svc ]] || continue
    if [[ -d /run/systemd/system ]]; then
      systemctl stop "$svc" >/dev/null 2>&1 || true
    else
      "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
  done
}

ipo_bootstrap_mysql() {
  local pkgs=(haproxy mariadb-server mariadb-client php-cli php-mysql tcpdump socat iproute2)
  local policy=/usr/sbin/policy-rc.d made_policy=0 p fresh=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || fresh+=("$p")
  done
  ((${#fresh[@]})) || return 0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# ipo-host bootstrap: no service starts during package install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  ipo_apt_install "${pkgs[@]}" || rc=$?
  if ((made_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || return "$rc"
  # Only services whose package we just installed: never stop a server someone runs.
  local svcs=()
  [[ " ${fresh[*]} " != *" mariadb-server "* ]] || svcs+=(mariadb)
  [[ " ${fresh[*]} " != *" haproxy "* ]] || svcs+=(haproxy)
  ((${#svcs[@]} == 0)) || ipo_mysql_stop_system_services "${svcs[@]}"
}
