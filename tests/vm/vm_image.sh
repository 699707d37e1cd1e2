#!/usr/bin/env bash
# Usage: vm_image.sh
#
# Builds (or finds in the cache) the VM suite's guest image; prints the time of every step.
# (The boots on both kernels are vm_reboot.sh's.) Sourced by vm_reboot.sh for vm_image_ensure.
#
# vm_image_ensure: sets VM_DISK_TEMPLATE (the provisioned disk), VM_KERNEL_VERSION and
#   VM_ADDRS_TEMPLATE (the containers' addresses at provisioning). Steps, each cached:
#   1. the root (debootstrap + both kernels, vm_lib.sh vm_root_ensure);
#   2. the .deb (CPack from $IPO_BUILD, every time: seconds);
#   3. the provisioned disk, keyed on the root and the .deb, policy and rig: a copy of the
#      root with the rig (vm_rig_install), mkfs.ext4 -d, then ONE boot (6.1) without network
#      that runs tests/vm/guest/provision through the control share and powers off.
# Builds hold $VM_CACHE/build.lock; outdated disks are removed.
set -Eeuo pipefail
# shellcheck source=scripts/lib/ipo_common.sh
source "${IPO_SRC:?}/scripts/lib/ipo_common.sh"
# shellcheck source=tests/systemd/boot_lib.sh
source "$IPO_SRC/tests/systemd/boot_lib.sh"
# shellcheck source=tests/vm/vm_lib.sh
source "$IPO_SRC/tests/vm/vm_lib.sh"
: "${IPO_BUILD:?}"

# shellcheck disable=SC2034  # read by vm_reboot.sh
VM_ADDRS_TEMPLATE=""

# vm_step NAME START_SECONDS: print one timing line.
vm_step() {
  printf 'step %-34s %4d s\n' "$1" "$((SECONDS - $2))"
}

# vm_disk_build ROOT DEB OUT: the provisioned disk image OUT (see the header, step 3).
vm_disk_build() {
  local root=$1 deb=$2 out=$3 t stage tar
  t=$SECONDS
  stage=$VM_WORK/stage
  rm -rf "$stage"
  cp -a "$root" "$stage"
  tar=$VM_WORK/busybox-root.tar
  vm_busybox_tar "$tar"
  vm_rig_install "$stage" "$deb" "$tar"
  rm -f "$out.tmp"
  mkfs.ext4 -q -F -L ipovm -d "$stage" "$out.tmp" 4G >"$VM_WORK/mkfs.log" 2>&1 ||
    { cat "$VM_WORK/mkfs.log" >&2; ipo_die "mkfs.ext4 -d failed"; }
  rm -rf "$stage"
  vm_step "disk image (mkfs.ext4 -d)" "$t"
  t=$SECONDS
  local kdir rc=0
  kdir=$(vm_kernel_files "$root" 6.1)
  vm_qemu_start "$out.tmp" "$kdir" nonet
  vm_wait_report 300 >/dev/null || { tail -n 40 "$VM_WORK/console.$VM_BOOTS.log" >&2; ipo_die "provisioning boot: no report"; }
  vm_step "provisioning boot (to report)" "$t"
  t=$SECONDS
  vm_cmd provision 600 'bash /var/lib/ipo-vm/provision' >"$VM_WORK/provision.log" 2>&1 || rc=$?
  sed 's/^/  provision: /' "$VM_WORK/provision.log"
  ((rc == 0)) || ipo_die "provisioning failed (exit $rc)"
  vm_cmd addrs 30 'for c in docker_a docker_b docker_c docker_x; do
    echo "$c $(docker inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}" $c)"; done' >"$out.addrs.tmp" ||
    ipo_die "provisioning: no container addresses"
  vm_step "provision (containers, apt, migrate)" "$t"
  t=$SECONDS
  vm_cmd_send poweroff 'systemctl poweroff'
  vm_qemu_wait 120 || { vm_qemu_kill; ipo_die "provisioning boot: the guest did not power off"; }
  mv "$out.addrs.tmp" "$out.addrs"
  mv "$out.tmp" "$out"
  vm_step "power off" "$t"
}

# vm_image_ensure: see the header.
vm_image_ensure() {
  local t root deb hash disk old
  mkdir -p "$VM_CACHE"
  exec {VM_LOCK_FD}>"$VM_CACHE/build.lock"
  flock -w 1800 "$VM_LOCK_FD" || ipo_die "timed out waiting for $VM_CACHE/build.lock"
  t=$SECONDS
  vm_root_ensure
  root=$VM_ROOT
  vm_step "root (debootstrap, kernels)" "$t"
  t=$SECONDS
  deb=$(vm_deb)
  vm_step ".deb (cpack)" "$t"
  hash=$(vm_disk_inputs_hash "$root" "$deb")
  disk=$VM_CACHE/disk-$hash.img
  if [[ ! -f $disk ]]; then
    rm -f "$VM_CACHE"/disk-*.img.tmp "$VM_CACHE"/disk-*.img.addrs.tmp # a build that died
    ipo_info "vm image: provisioning a new disk $disk"
    vm_disk_build "$root" "$deb" "$disk"
    for old in "$VM_CACHE"/disk-*.img; do
      [[ $old != "$disk" && $old != *.tmp ]] || continue
      rm -f "$old" "$old.addrs"
    done
  else
    echo "step provisioned disk: cached ($disk)"
  fi
  local short
  for short in 6.1 5.10; do vm_kernel_files "$root" "$short" >/dev/null; done
  VM_DISK_TEMPLATE=$disk
  # shellcheck disable=SC2034  # read by vm_reboot.sh
  VM_ADDRS_TEMPLATE=$disk.addrs
  flock -u "$VM_LOCK_FD"
}

# vm_kernel_dir SHORT: the kernel files of SHORT (after vm_image_ensure).
vm_kernel_dir() {
  echo "$VM_CACHE/kernel-${VM_KERNEL_VERSION[$1]}"
}

main() {
  if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    ipo_usage "$0"
    return 0
  fi
  ipo_require_root
  ipo_require_cmd qemu-system-x86_64 debootstrap mkfs.ext4 cpack
  VM_WORK=$(mktemp -d /var/tmp/ipovm-image.XXXXXX)
  trap 'vm_cleanup; rm -rf "$VM_WORK"' EXIT
  trap 'exit 143' TERM INT
  VM_T0=$SECONDS
  vm_image_ensure
  echo "image: $VM_DISK_TEMPLATE; kernels: ${VM_KERNEL_VERSION[6.1]} ${VM_KERNEL_VERSION[5.10]}"
  vm_step "vm_image total" "$VM_T0"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
