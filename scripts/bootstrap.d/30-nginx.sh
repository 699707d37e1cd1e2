# shellcheck shell=bash
# Group "nginx": what the nginx suite (tests/nginx), its benchmark (bench/nginx/run) and
# `ipo-netctl render nginx` need: nginx and php-fpm from Debian 12 (the tests run their
# own instances on loopback, with their own configs), openssl for the test certificate,
# testssl.sh + bsdextrautils (hexdump) for the TLS audit, wrk for the benchmark, and
# gixy-ng (maintained fork of gixy) from PyPI for the static analysis.
#
# Debian's nginx and php8.2-fpm postinst scripts start their system services through
# invoke-rc.d; on a machine without systemd that would leave a system nginx on port 80.
# We forbid service starts during our install with a temporary policy-rc.d (only if none
# exists) and stop/disable whatever was started anyway, so only the tests' own instances run.

# ipo_nginx_stop_system_services: stop nginx/php-fpm started by package scripts.
ipo_nginx_stop_system_services() {
  local svc
  for svc in nginx php8.2-fpm; do
    [[ -x /etc/init.d/$svc ]] || continue
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    else
      "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
}

ipo_bootstrap_nginx() {
  local pkgs=(nginx php8.2-fpm openssl testssl.sh bsdextrautils wrk curl procps iproute2 python3-venv)
  local policy=/usr/sbin/policy-rc.d made_policy=0 p need=0
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need=1
  done
  if ((need)); then
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\n# ipo-host bootstrap: no service starts during package install\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      made_policy=1
    fi
    local rc=0
    ipo_apt_install "${pkgs[@]}" || rc=$?
    ((made_policy)) && rm -f "$policy"
    ((rc == 0)) || return "$rc"
    ipo_nginx_stop_system_services
  fi
  ipo_pip_install gixy-ng==0.2.59
}
