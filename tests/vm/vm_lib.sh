# shellcheck shell=bash
# The VM suite's host side (tests/vm): the cached guest image, the host-side networks in
# namespaces of our own, QEMU (TCG) and the control channel into the guest.
# Source after scripts/lib/ipo_common.sh; needs IPO_SRC and IPO_BUILD; root.
#
# Image (vm_image.sh builds it; every test calls vm_image_ensure):
#   $VM_CACHE/root-<hash>/   debootstrap'd bookworm root with Docker, nftables, firewalld, the
#                            agent's libraries and BOTH kernels (bookworm 6.1, bullseye 5.10)
#                            with small initramfs images; <hash> covers the recipe, the
#                            mirror, the package list and the kernel package versions
#   $VM_CACHE/disk-<hash>.img the provisioned disk: the root plus the test rig, booted once to
#                            run tests/vm/guest/provision (containers, apt install of the .deb,
#                            install-agent --migrate-only); <hash> also covers the .deb, the
#                            policy, the install scripts and tests/vm/guest
#   $VM_CACHE/kernel-<ver>/   vmlinux (extracted from vmlinuz) and initrd.img per kernel
# Networks: namespace ipovm-sw holds the taps vmwan/vmlan (QEMU runs there) bridged to
#   ipovm-wan (203.0.113.10), ipovm-lanok (192.168.1.10), ipovm-landeny (192.168.1.50).
#   The guest is 203.0.113.1 (WAN) and 192.168.1.100 (LAN). Nothing in the root namespace.
# Not thread safe: the tests take the CTest lock "vm" (one VM at a time: TCG uses both cores).

VM_CACHE=${IPO_VM_CACHE:-/var/cache/ipo-host/vm}
VM_RECIPE=1 # bump when the root's recipe (vm_root_build) changes
VM_DISK_RECIPE=1 # bump when what vm_rig_install / vm_disk_build put on the disk changes
VM_SUITE=bookworm
VM_NAMESPACES=(ipovm-sw ipovm-wan ipovm-lanok ipovm-landeny)
VM_GUEST_WAN=203.0.113.1
VM_GUEST_LAN=192.168.1.100
VM_WAN=203.0.113.10
VM_LANOK=192.168.1.10
VM_LANDENY=192.168.1.50
# Modules for what the guest does not have or use (vm_qemu_start): never loaded.
VM_UNUSED_MODULES=cfg80211,kvm,kvm_amd,kvm_intel,ccp,floppy,pcspkr,psmouse,ata_piix,ata_generic,libata,scsi_mod,i2c_piix4,drm,dm_mod,fuse,loop,efi_pstore,serio_raw,evdev,rfkill,qemu_fw_cfg
# Kernels by short name: the test names use 6.1 and 5.10.
declare -A VM_KERNEL_SUITE=([6.1]=bookworm [5.10]=bullseye)
# Filled by vm_image_ensure: kernel short name -> full version (6.1.0-NN-amd64).
declare -A VM_KERNEL_VERSION=()
# shellcheck disable=SC2034  # set by vm_image_ensure (vm_image.sh), read by the tests
VM_DISK_TEMPLATE=""
VM_ROOT=""
# Per run: the work directory, QEMU's pid, the control share, the boot counter.
VM_WORK=""
VM_QEMU_PID=""
VM_BOOTS=0

# vm_mirror: the Debian mirror this machine's apt uses (as boot_lib.sh's boot_mirror).
vm_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v -- '-security' | head -n1 || true)
  [[ -n $m ]] || m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

# vm_apt SUITE ARGS...: apt-get/apt-cache style call against a private state for SUITE under
#   $VM_CACHE/apt-SUITE (own sources list, lists and archives): the host's apt state is never
#   read or written. ARGS[0] is the program (apt-get or apt-cache).
vm_apt() {
  local suite=$1 prog=$2
  shift 2
  local d=$VM_CACHE/apt-$suite
  mkdir -p "$d/lists/partial" "$d/archives/partial"
  [[ -f $d/sources.list ]] ||
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$(vm_mirror)" "$suite" >"$d/sources.list"
  "$prog" -q -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d" -o Dir::Cache::archives="$d/archives" \
    -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 "$@"
}

# vm_kernel_package SUITE: the versioned kernel image package linux-image-amd64 points at in
#   SUITE (e.g. linux-image-6.1.0-42-amd64). Refreshes the private lists once a day.
vm_kernel_package() {
  local suite=$1
  local d=$VM_CACHE/apt-$suite
  if [[ -z $(find "$d/lists" -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null) ]]; then
    vm_apt "$suite" apt-get update >"$VM_CACHE/apt-$suite.log" 2>&1 ||
      { tail -n 20 "$VM_CACHE/apt-$suite.log" >&2; ipo_die "apt-get update for $suite failed"; }
  fi
  vm_apt "$suite" apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

# vm_kernel_deb SUITE PACKAGE: path of PACKAGE's .deb (downloaded into the private archive).
vm_kernel_deb() {
  local suite=$1 pkg=$2 deb
  local d=$VM_CACHE/apt-$suite
  deb=$(compgen -G "$d/archives/${pkg}_*.deb" | head -n1 || true)
  if [[ -z $deb ]]; then
    (cd "$d/archives" && vm_apt "$suite" apt-get download "$pkg" >>"$VM_CACHE/apt-$suite.log" 2>&1) ||
      ipo_die "apt-get download $pkg ($suite) failed"
    deb=$(compgen -G "$d/archives/${pkg}_*.deb" | head -n1 || true)
  fi
  [[ -n $deb ]] || ipo_die "no .deb for $pkg"
  echo "$deb"
}

# vm_root_packages: the guest root's packages, comma-separated (base, Docker, firewalld, the
#   agent's libraries as the .deb's Depends name them, through boot_lib.sh).
vm_root_packages() {
  {
    printf '%s\n' systemd systemd-sysv udev dbus nftables iptables iproute2 kmod procps jq curl busybox \
      initramfs-tools linux-base docker.io firewalld libpam-systemd
    boot_lib_packages "$IPO_BUILD/agent/daemon/ipo-netd" "$IPO_BUILD/agent/cli/ipo-netctl"
  } | sort -u | paste -sd, -
}

# vm_extract_vmlinux VMLINUZ OUT: the uncompressed ELF kernel inside a bzImage (xz, zstd or
#   gzip payload, found by its magic as the kernel's scripts/extract-vmlinux does).
vm_extract_vmlinux() {
  local in=$1 out=$2 magic tool off
  for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
    tool=${magic%%:*}
    while read -r off; do
      [[ -n $off ]] || continue
      tail -c "+$((off + 1))" "$in" | "$tool" -dc >"$out" 2>/dev/null || true
      if [[ $(head -c 4 "$out" | od -An -c | tr -d ' ') == 177ELF ]]; then return 0; fi
    done < <(LC_ALL=C grep -aboP "$(printf '%s' "${magic#*:}")" "$in" | cut -d: -f1 | head -n 5)
  done
  ipo_die "no ELF kernel found inside $in"
}

# vm_root_build DIR PACKAGES MIRROR DEB...: debootstrap the guest root, install the kernel
#   .debs with a small initramfs (virtio and ext4 only), prepare it for test boots.
vm_root_build() {
  local dir=$1 packages=$2 mirror=$3
  shift 3
  local deb
  # A root whose debootstrap finished is kept when a later step fails (resumed next time).
  if [[ ! -f $dir/.ipo-vm-debootstrap-done ]]; then
    rm -rf "$dir"
    ipo_info "vm image: debootstrap $VM_SUITE from $mirror (once per package list)"
    debootstrap --variant=minbase --include="$packages" "$VM_SUITE" "$dir" "$mirror" >"$dir.log" 2>&1 ||
      { tail -n 30 "$dir.log" >&2; ipo_die "debootstrap failed (log: $dir.log)"; }
    touch "$dir/.ipo-vm-debootstrap-done"
  fi
  mkdir -p "$dir/tmp/kernels" "$dir/etc/initramfs-tools/conf.d"
  printf 'MODULES=list\nCOMPRESS=gzip\n' >"$dir/etc/initramfs-tools/conf.d/ipo-vm.conf"
  printf '%s\n' virtio_pci virtio_blk virtio_net ext4 crc32c_generic >"$dir/etc/initramfs-tools/modules"
  for deb in "$@"; do cp "$deb" "$dir/tmp/kernels/"; done
  # A private mount namespace: /proc, /sys and /dev for the kernels' maintainer scripts vanish
  # with it, whatever happens.
  unshare --mount --propagation private -- bash -c '
    set -e
    r=$1
    mount -t proc proc "$r/proc"
    mount -t sysfs sysfs "$r/sys"
    mount --bind /dev "$r/dev"
    DEBIAN_FRONTEND=noninteractive chroot "$r" sh -c "dpkg -i /tmp/kernels/*.deb"' _ "$dir" >>"$dir.log" 2>&1 ||
    { tail -n 30 "$dir.log" >&2; ipo_die "installing the kernels failed (log: $dir.log)"; }
  rm -rf "$dir/tmp/kernels" "$dir"/var/cache/apt/archives/*.deb
  systemctl --root="$dir" mask --quiet apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service \
    dpkg-db-backup.timer fstrim.timer man-db.timer >/dev/null 2>&1 || true
  touch "$dir/.ipo-vm-root-complete"
}

# vm_root_ensure: set VM_ROOT to the cached root (and VM_KERNEL_VERSION), building it first
#   if its inputs changed. Old roots are removed.
vm_root_ensure() {
  local packages mirror hash dir old short pkg debs=() vers=()
  packages=$(vm_root_packages)
  mirror=$(vm_mirror)
  for short in 6.1 5.10; do
    pkg=$(vm_kernel_package "${VM_KERNEL_SUITE[$short]}")
    [[ -n $pkg ]] || ipo_die "no linux-image package for ${VM_KERNEL_SUITE[$short]}"
    debs+=("$(vm_kernel_deb "${VM_KERNEL_SUITE[$short]}" "$pkg")")
    VM_KERNEL_VERSION[$short]=${pkg#linux-image-}
    vers+=("${debs[-1]##*/}")
  done
  hash=$(printf 'recipe=%s\nsuite=%s\nmirror=%s\npackages=%s\nkernels=%s\n' "$VM_RECIPE" "$VM_SUITE" "$mirror" \
    "$packages" "${vers[*]}" | sha256sum | cut -c1-16)
  dir=$VM_CACHE/root-$hash
  if [[ ! -f $dir/.ipo-vm-root-complete ]]; then
    vm_root_build "$dir.tmp" "$packages" "$mirror" "${debs[@]}"
    mv "$dir.tmp.log" "$dir.log"
    mv "$dir.tmp" "$dir"
    for old in "$VM_CACHE"/root-*; do
      [[ -d $old && $old != "$dir" && $old != *.tmp ]] || continue
      ipo_info "vm image: removing the outdated root $old"
      rm -rf "$old" "$old.log"
    done
  fi
  # shellcheck disable=SC2034  # read by vm_image.sh
  VM_ROOT=$dir
}

# vm_kernel_files ROOT SHORT: extract vmlinux and copy the initrd of kernel SHORT (6.1, 5.10)
#   to $VM_CACHE/kernel-<version>/ once; prints that directory.
vm_kernel_files() {
  local root=$1 ver=${VM_KERNEL_VERSION[$2]} d
  d=$VM_CACHE/kernel-$ver
  if [[ ! -f $d/.complete || $d/.complete -ot $root/boot/initrd.img-$ver ]]; then
    rm -rf "$d"
    mkdir -p "$d"
    vm_extract_vmlinux "$root/boot/vmlinuz-$ver" "$d/vmlinux"
    cp "$root/boot/initrd.img-$ver" "$d/initrd.img"
    touch "$d/.complete"
  fi
  echo "$d"
}

# vm_busybox_tar OUT: the lab's container image root (busybox-static and its applets, as
#   ipo_docker_image in scripts/lib/ipo_dockerd.sh imports it) as a tar for `docker import`.
vm_busybox_tar() {
  local out=$1 root applet
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/www" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh httpd wget nc sleep echo cat ip ifconfig ping hostname ls; do
    ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" --owner=0 --group=0 -cf "$out" .
  rm -rf "$root"
}

# vm_deb: build the agent's .deb with CPack from $IPO_BUILD into $VM_WORK/pkg; prints its path.
vm_deb() {
  local out=$VM_WORK/pkg deb
  mkdir -p "$out"
  cpack --config "$IPO_BUILD/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
    { tail -n 20 "$out/cpack.log" >&2; ipo_die "cpack -G DEB failed"; }
  deb=$(compgen -G "$out/ipo-netd_*.deb" | head -n1 || true)
  [[ -n $deb ]] || ipo_die "cpack made no ipo-netd_*.deb"
  echo "$deb"
}

# vm_rig_install ROOT DEB BUSYBOX_TAR: the test rig and the operator's inputs into ROOT.
vm_rig_install() {
  local root=$1 deb=$2 tar=$3 g=$IPO_SRC/tests/vm/guest
  install -D -m 0755 -t "$root/usr/local/lib/ipo-vm" "$g/ipo-vm-ctl" "$g/ipo-vm-report"
  install -D -m 0644 -t "$root/etc/systemd/system" "$g/ipo-vm-ctl.service" "$g/ipo-vm-report.service" \
    "$g/ipo-vm-hostsvc.service"
  install -D -m 0644 -t "$root/etc/systemd/network" "$g/10-ipovm-wan.network" "$g/20-ipovm-lan.network"
  systemctl --root="$root" enable --quiet ipo-vm-ctl.service ipo-vm-report.service ipo-vm-hostsvc.service \
    systemd-networkd.service
  # No DHCP and nothing to wait for: static addresses are there when the links come up, and
  # without a NIC (the provisioning boot) wait-online would hold Docker back for 2 minutes.
  systemctl --root="$root" mask --quiet systemd-networkd-wait-online.service
  # firewalld is a separate case (vm_reboot.sh firewalld enables it).
  systemctl --root="$root" disable --quiet firewalld.service 2>/dev/null || true
  mkdir -p "$root/srv/ipo-host"
  echo ipo-host >"$root/srv/ipo-host/index.html"
  echo ipovm >"$root/etc/hostname"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
  install -D -m 0644 "$deb" "$root/var/lib/ipo-vm/ipo-netd.deb"
  install -D -m 0644 "$tar" "$root/var/lib/ipo-vm/busybox-root.tar"
  install -D -m 0755 "$g/provision" "$root/var/lib/ipo-vm/provision"
  # What the operator runs the migration from: a checkout of the repository (install-agent
  # takes Docker's settings from ../systemd/docker-daemon.json beside it).
  install -D -m 0755 "$IPO_SRC/scripts/install-agent" "$root/opt/ipo-host/scripts/install-agent"
  install -D -m 0644 -t "$root/opt/ipo-host/scripts/lib" "$IPO_SRC"/scripts/lib/ipo_common.sh
  install -D -m 0644 -t "$root/opt/ipo-host/systemd" "$IPO_SRC/systemd/docker-daemon.json"
}

# vm_disk_inputs_hash ROOT DEB: hash of what goes into the provisioned disk.
vm_disk_inputs_hash() {
  local root=$1 deb=$2
  {
    echo "root=${root##*/}"
    dpkg-deb -f "$deb" Package Version Depends
    # The files' contents, not the archive (CPack stamps build-time mtimes into it), without
    # the documentation it ships: a docs edit does not change what the guest runs, and a new
    # disk costs a provisioning boot.
    local x
    x=$(mktemp -d)
    dpkg-deb -x "$deb" "$x"
    (cd "$x" && find . -type f -not -path './usr/share/doc/*' -print0 | sort -z | xargs -0 sha256sum)
    rm -rf "$x"
    sha256sum /bin/busybox "$IPO_SRC/scripts/install-agent" "$IPO_SRC"/scripts/lib/ipo_common.sh \
      "$IPO_SRC/systemd/docker-daemon.json" \
      "$IPO_SRC"/tests/vm/guest/* | awk '{print $1}'
    echo "disk-recipe=$VM_DISK_RECIPE"
  } | sha256sum | cut -c1-16
}

# vm_disk_edit DISK CMD...: debugfs -w commands (one per argument) on the unmounted DISK.
vm_disk_edit() {
  local disk=$1 out
  shift
  out=$(printf '%s\n' "$@" | debugfs -w -f - "$disk" 2>&1) || { echo "$out" >&2; return 1; }
  if grep -qiE 'error|cannot|not found|exists' <<<"$out"; then
    echo "$out" >&2
    return 1
  fi
}

# vm_disk_slow_timeouts DISK: drop-ins raising both agent units' TimeoutStartSec to 300 s.
#   TCG on a loaded 2-core machine runs the guest 10-50x slower than hardware: the restore
#   unit's 30 s (3.5 s of CPU here) was seen to run out, and its failure lets Docker start
#   with no agent table at all (see docs/boot.md). The tests prove the reboot path, not the
#   emulator's speed; the drop-in is named for what it is.
vm_disk_slow_timeouts() {
  local disk=$1 conf
  conf=$(mktemp)
  printf '[Service]\n# tests/vm: TCG emulation is slow\nTimeoutStartSec=300\n' >"$conf"
  vm_disk_edit "$disk" \
    "mkdir /etc/systemd/system/ipo-netd-restore.service.d" \
    "write $conf /etc/systemd/system/ipo-netd-restore.service.d/ipo-vm-tcg.conf" \
    "mkdir /etc/systemd/system/ipo-netd.service.d" \
    "write $conf /etc/systemd/system/ipo-netd.service.d/ipo-vm-tcg.conf"
  rm -f "$conf"
}

# --- networks -------------------------------------------------------------------------

# vm_net_up: the four namespaces, the taps in ipovm-sw, bridges to the clients' veths, and
#   the clients' routes to the guest's container subnets (to probe them directly).
vm_net_up() {
  local ns
  vm_net_down
  for ns in "${VM_NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  local side
  for side in wan lan; do
    ip -n ipovm-sw tuntap add dev "vm$side" mode tap
    ip -n ipovm-sw link add "br$side" type bridge
    ip -n ipovm-sw link set "vm$side" master "br$side" up
    ip -n ipovm-sw link set "br$side" up
  done
  # vm_net_client NS BRIDGE ADDR GATEWAY
  local spec n br addr gw
  for spec in "ipovm-wan brwan $VM_WAN $VM_GUEST_WAN" "ipovm-lanok brlan $VM_LANOK $VM_GUEST_LAN" \
    "ipovm-landeny brlan $VM_LANDENY $VM_GUEST_LAN"; do
    read -r n br addr gw <<<"$spec"
    ip -n ipovm-sw link add "p-${n#ipovm-}" type veth peer name eth0 netns "$n"
    ip -n ipovm-sw link set "p-${n#ipovm-}" master "$br" up
    ip -n "$n" addr add "$addr/24" dev eth0
    ip -n "$n" link set eth0 up
    # Container subnets (policy networks, Docker's default bridge) are routed via the guest.
    ip -n "$n" route add 172.16.0.0/12 via "$gw"
  done
}

# vm_net_down: delete our namespaces (taps, bridges and veths go with them).
vm_net_down() {
  local ns pid
  for ns in "${VM_NAMESPACES[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

# --- QEMU -----------------------------------------------------------------------------

# vm_qemu_start DISK KERNEL_DIR [NET]: boot the guest (TCG, 2 vCPUs, 1.5 GiB) in the
#   background, in ipovm-sw with both taps when NET is "net" (default), else without a NIC.
#   Console: $VM_WORK/console.N.log. Sets VM_QEMU_PID, increments VM_BOOTS.
vm_qemu_start() {
  local disk=$1 kdir=$2 net=${3:-net} nicargs=()
  VM_BOOTS=$((VM_BOOTS + 1))
  if [[ $net == net ]]; then
    # shellcheck disable=SC2054  # QEMU option values are comma lists
    nicargs=(-netdev tap,id=wan,ifname=vmwan,script=no,downscript=no
      -device virtio-net-pci,netdev=wan,mac=52:54:00:49:50:01
      -netdev tap,id=lan,ifname=vmlan,script=no,downscript=no
      -device virtio-net-pci,netdev=lan,mac=52:54:00:49:50:02)
  else
    nicargs=(-nic none)
  fi
  mkdir -p "$VM_WORK/ctl/cmd" "$VM_WORK/ctl/out"
  local ns=/run/netns/ipovm-sw
  [[ $net == net ]] || ns=/proc/self/ns/net
  # apparmor=0: the root has no apparmor_parser, without which Docker refuses to start
  # containers on a kernel with AppArmor enabled (Debian's default). rcu_expedited: network
  # namespace teardown (Docker's stale sandboxes after a reboot) waits for RCU grace periods,
  # which take seconds each under TCG on a loaded machine. module_blacklist and -svm: drivers
  # for devices and features this guest never uses (KVM, floppy, PATA, wireless, DRM …), which
  # udev's coldplug and systemd's modprobe@ units otherwise load while the restore unit runs
  # (each emulated module load costs up to ~2 s). Measured on an idle machine: the restore
  # unit's run 12.2 s -> 10.4 s; the boot as a whole not measurably (55-57 s to the report).
  # IPO_VM_CPU / IPO_VM_APPEND (extra kernel arguments): for experiments.
  # QEMU runs at the absolute niceness IPO_VM_NICE (default 5), whatever the caller's: CTest's
  # CPU lane runs the test at nice 19, where the labs (nice 0) starved the guest for seconds
  # at a time; the guest's own timeouts (systemd's, Docker's 16 s wait for the userland proxy
  # of a -p container) then fire, which they never do on a real machine. Root may lower it.
  local adjust=$((${IPO_VM_NICE:-5} - $(nice)))
  nsenter --net="$ns" -- nice -n "$adjust" qemu-system-x86_64 -accel tcg,thread=multi -cpu "${IPO_VM_CPU:-qemu64,-svm}" \
    -m 1536 -smp 2 -display none -no-reboot -nodefaults \
    -serial "file:$VM_WORK/console.$VM_BOOTS.log" \
    -kernel "$kdir/vmlinux" -initrd "$kdir/initrd.img" \
    -append 'root=/dev/vda rw console=ttyS0 mitigations=off apparmor=0 rcupdate.rcu_expedited=1 quiet systemd.show_status=0'" module_blacklist=$VM_UNUSED_MODULES${IPO_VM_APPEND:+ $IPO_VM_APPEND}" \
    -drive "file=$disk,if=virtio,format=raw" "${nicargs[@]}" \
    -virtfs "local,path=$VM_WORK/ctl,mount_tag=ctl,security_model=none,id=ctl" \
    </dev/null >"$VM_WORK/qemu.$VM_BOOTS.log" 2>&1 &
  VM_QEMU_PID=$!
}

# vm_qemu_wait SECONDS: wait for QEMU to exit (the guest powered off or rebooted with
#   -no-reboot); 1 on timeout (QEMU left running).
vm_qemu_wait() {
  local timeout=$1 i
  [[ -n $VM_QEMU_PID ]] || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    if ! kill -0 "$VM_QEMU_PID" 2>/dev/null; then
      wait "$VM_QEMU_PID" 2>/dev/null || true
      VM_QEMU_PID=""
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# vm_qemu_kill: end QEMU (by its pid) at once: a power cut for the guest.
vm_qemu_kill() {
  [[ -n $VM_QEMU_PID ]] || return 0
  kill -9 "$VM_QEMU_PID" 2>/dev/null || true
  wait "$VM_QEMU_PID" 2>/dev/null || true
  VM_QEMU_PID=""
}

# vm_wait_report SECONDS: wait for a boot report not seen before; prints its boot id.
vm_wait_report() {
  local timeout=$1 i f id
  for ((i = 0; i < timeout * 10; i++)); do
    for f in "$VM_WORK"/ctl/out/report.*; do
      [[ -e $f ]] || continue
      id=${f##*/report.}
      [[ -e $VM_WORK/seen.$id ]] && continue
      touch "$VM_WORK/seen.$id"
      echo "$id"
      return 0
    done
    if [[ -n $VM_QEMU_PID ]] && ! kill -0 "$VM_QEMU_PID" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# vm_fact BOOT_ID KEY: a value from that boot's facts file.
vm_fact() {
  sed -n "s/^$2=//p" "$VM_WORK/ctl/out/boot.$1/facts"
}

# vm_cmd NAME TIMEOUT SCRIPT: run SCRIPT (bash source) in the guest through the control share;
#   prints its output, returns its exit code (124 on timeout).
vm_cmd() {
  local name=$1 timeout=$2 script=$3 i
  printf '%s\n' "$script" >"$VM_WORK/ctl/cmd/$name.sh.tmp"
  mv "$VM_WORK/ctl/cmd/$name.sh.tmp" "$VM_WORK/ctl/cmd/$name.sh"
  for ((i = 0; i < timeout * 10; i++)); do
    if [[ -f $VM_WORK/ctl/out/$name.rc ]]; then
      cat "$VM_WORK/ctl/out/$name.out"
      return "$(<"$VM_WORK/ctl/out/$name.rc")"
    fi
    sleep 0.1
  done
  cat "$VM_WORK/ctl/out/$name.out" 2>/dev/null || true
  return 124
}

# vm_cmd_send NAME SCRIPT: send SCRIPT without waiting (e.g. a reboot).
vm_cmd_send() {
  printf '%s\n' "$2" >"$VM_WORK/ctl/cmd/$1.sh.tmp"
  mv "$VM_WORK/ctl/cmd/$1.sh.tmp" "$VM_WORK/ctl/cmd/$1.sh"
}

# vm_cleanup: kill QEMU, delete the namespaces; for EXIT traps.
vm_cleanup() {
  vm_qemu_kill
  vm_net_down
}
