# shellcheck shell=bash
# Group "nginx": what the nginx suite (tests/nginx), its benchmark (bench/nginx/run) and
# `ipo-netctl render nginx` need: nginx and php-fpm from Debian 12 (the tests run their
# own instances on loopback, with their own configs), openssl for the test certificate,
# testssl.sh + bsdextrautils (hexdump) for the TLS audit, wrk for the benchmark, and
# gixy-ng (maintained fork of gixy) from PyPI for the static analysis.
#
# Debian's nginx and php8.2-fpm postinst scripts start their system services through
# invoke-rc.d; on a machine without systemd that would leave a system nginx on port 80.
# ipo_apt_install forbids service starts during the install; whatever was started anyway is
# stopped and disabled, so only the tests' own instances run.

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
  ipo_apt_install nginx php8.2-fpm openssl testssl.sh bsdextrautils wrk curl procps iproute2 python3-venv
  ((${#IPO_APT_FRESH[@]} == 0)) || ipo_nginx_stop_system_services
  ipo_pip_install gixy-ng==0.2.59
}
