# shellcheck shell=bash
# Group "mysql": the "MySQL server has gone away" lab (scripts/mysql-lab) and its tests:
# HAProxy in TCP mode, MariaDB server + client, PHP CLI with PDO MySQL, tcpdump for the
# runbook's captures.
#
# The lab runs its own unprivileged mariadbd instances on loopback ports with their own
# datadirs and sockets, so the system service is not needed. Debian's mariadb-server
# postinst starts the service through invoke-rc.d; on a machine without systemd that
# would leave a system mysqld on 3306 and /run/mysqld running. ipo_apt_install forbids
# service starts during the install, and we stop the
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
  ipo_apt_install haproxy mariadb-server mariadb-client php-cli php-mysql tcpdump socat iproute2
  # Only services whose package we just installed: never stop a server someone runs.
  local svcs=()
  [[ " ${IPO_APT_FRESH[*]} " != *" mariadb-server "* ]] || svcs+=(mariadb)
  [[ " ${IPO_APT_FRESH[*]} " != *" haproxy "* ]] || svcs+=(haproxy)
  ((${#svcs[@]} == 0)) || ipo_mysql_stop_system_services "${svcs[@]}"
}
