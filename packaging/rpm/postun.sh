# shellcheck shell=sh
# %postun of the ipo-netd .rpm ($1: 0 = removal, 1+ = upgrade), run by /bin/sh.
# daemon-reload when systemd is running; on upgrade, restart a running agent so the new
# binary takes over (try-restart starts nothing that is stopped). Removal keeps the saved
# state in /var/lib/ipo-netd (rpm has no purge; delete it by hand if wanted).
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then
    systemctl try-restart ipo-netd.service >/dev/null 2>&1 || :
  fi
fi
:
