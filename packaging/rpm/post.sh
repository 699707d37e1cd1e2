# shellcheck shell=sh
# %post of the ipo-netd .rpm ($1: 1 = first install, 2+ = upgrade), run by /bin/sh.
# First install: enable ipo-netd-restore.service (boot-time ruleset restore) and
# ipo-netd.service. Nothing is started and Docker is not touched: moving Docker's
# networking to the agent is scripts/install-agent's step. An upgrade keeps the admin's
# enable/disable choice. systemctl daemon-reload runs only when systemd is running.
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
  systemctl enable ipo-netd-restore.service ipo-netd.service >/dev/null 2>&1 ||
    echo "ipo-netd: could not enable ipo-netd-restore.service ipo-netd.service" >&2
fi
:
