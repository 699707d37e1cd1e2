# shellcheck shell=bash
# Group "boot": what the reboot proof (tests/systemd/boot_nspawn.sh) and the unit checks
# (tests/systemd/units.sh) need on Debian 12:
#   - debootstrap and the Debian archive keyring, to build a minimal bookworm root from the
#     apt mirror this machine is configured with;
#   - systemd-container (systemd-nspawn), to boot that root with a real systemd as PID 1;
#   - systemd (systemd-analyze verify/security), util-linux (nsenter, unshare), jq.
# No service is started (ipo_apt_install forbids it).
ipo_bootstrap_boot() {
  ipo_apt_install debootstrap debian-archive-keyring systemd-container systemd util-linux jq coreutils
}
