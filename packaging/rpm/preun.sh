# shellcheck shell=sh
# %preun of the ipo-netd .rpm ($1: 0 = removal, 1+ = upgrade), run by /bin/sh.
# Removal: stop the agent (when systemd is running) and disable both units. The agent's
# tables stay in the kernel until reboot, so removal does not silently open the firewall;
# Docker is not touched. Upgrade: nothing (%postun restarts a running agent).
if [ "$1" -eq 0 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl stop ipo-netd.service >/dev/null 2>&1 || :
  fi
  systemctl --no-reload disable ipo-netd.service ipo-netd-restore.service >/dev/null 2>&1 || :
fi
:
