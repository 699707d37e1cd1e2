# shellcheck shell=bash
# Group "vm": what the real-reboot suite (tests/vm) needs on Debian 12:
#   - qemu-system-x86 (TCG emulation: this machine's /dev/kvm cannot boot stock kernels);
#   - debootstrap and the archive keyring, to build the guest's bookworm root;
#   - e2fsprogs (mkfs.ext4 -d makes the disk image from that root without a loop mount);
#   - xz-utils and zstd, to extract the uncompressed vmlinux from a Debian vmlinuz;
#   - busybox-static (the containers' image, as in the lab), iproute2, util-linux (nsenter).
# The kernels themselves (bookworm's 6.1, bullseye's 5.10) are fetched by the image builder
# with apt-get download (bullseye through a private sources list), not installed here.
# No service is started (ipo_apt_install forbids it).
ipo_bootstrap_vm() {
  ipo_apt_install qemu-system-x86 debootstrap debian-archive-keyring e2fsprogs xz-utils zstd \
    busybox-static iproute2 util-linux jq coreutils
}
