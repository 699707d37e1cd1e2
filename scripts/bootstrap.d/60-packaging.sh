# shellcheck shell=bash
# Group "packaging": building and checking the ipo-netd packages (tests/packaging/, CPack):
# dpkg-dev (dpkg-shlibdeps, dpkg-deb) and fakeroot for the .deb, rpm (rpmbuild, rpm -qp)
# for the .rpm, cpio to unpack an .rpm's payload, and vagrant to validate
# vagrant/Vagrantfile (no provider or box is needed for `vagrant validate`).
ipo_bootstrap_packaging() {
  ipo_apt_install dpkg-dev fakeroot file rpm cpio rpm2cpio vagrant
}
