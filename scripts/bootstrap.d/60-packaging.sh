# shellcheck shell=bash
# Group "packaging": building and checking the ipo-netd packages (CPack, tests/packaging/):
# dpkg-dev (dpkg-shlibdeps for the .deb's Depends, dpkg-deb) and file (CPack finds the ELF
# files with it), rpm (rpmbuild for the .rpm, rpm -qp and a scratch-root rpm -i), systemd
# (systemctl --root: the .deb's postinst enables the units in the test's scratch root) and
# vagrant (`vagrant validate` of vagrant/Vagrantfile; no provider or box is needed).
ipo_bootstrap_packaging() {
  ipo_apt_install dpkg-dev file rpm systemd vagrant
}
