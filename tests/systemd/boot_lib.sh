# shellcheck shell=bash
# Shared by the systemd suite (tests/systemd): installing the built agent into a root
# directory, and the cached Debian root that boot_nspawn.sh boots with systemd-nspawn.
# Source it first: it brings scripts/lib/ipo_common.sh and the shared test library
# (tests/lib/assert.sh, tests/lib/cases.sh) with it; needs IPO_SRC and IPO_BUILD.
#
#   boot_install_agent ROOT      the agent's installed layout under ROOT (cmake --install of
#                                component ipo-netd, or an equivalent copy)
#   boot_root_packages           the package list of the boot root (base + the agent's libs)
#   boot_root_ensure             path of the cached root for that list; built when missing
#
# Cache: ${IPO_BOOT_CACHE:-/var/cache/ipo-host}/boot-root-<hash>, where the hash covers the
# recipe version, suite, mirror and package list; a changed list builds a new root and
# removes the old ones. Building takes a lock, so concurrent tests wait for one build.

# shellcheck source=scripts/lib/ipo_common.sh
source "${IPO_SRC:?}/scripts/lib/ipo_common.sh"
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
# shellcheck source=tests/lib/cases.sh
source "$IPO_SRC/tests/lib/cases.sh"

BOOT_SUITE=bookworm
BOOT_RECIPE=1 # bump when boot_root_build changes what goes into the root
BOOT_CACHE=${IPO_BOOT_CACHE:-/var/cache/ipo-host}

# boot_install_agent ROOT: /usr/sbin/ipo-netd, /usr/bin/ipo-netctl, /etc/ipo-netd/policy.json,
# the units in /usr/lib/systemd/system and the D-Bus policy, as the package installs them.
boot_install_agent() {
  local root=$1
  if [[ -f $IPO_SRC/cmake/IpoInstall.cmake ]] &&
    DESTDIR=$root cmake --install "$IPO_BUILD" --prefix /usr --component ipo-netd --strip >/dev/null &&
    [[ -x $root/usr/sbin/ipo-netd && -x $root/usr/bin/ipo-netctl ]]; then
    :
  else
    # Until the install rules are part of the build: the same layout by hand.
    install -D -m 0755 -s "$IPO_BUILD/agent/daemon/ipo-netd" "$root/usr/sbin/ipo-netd"
    install -D -m 0755 -s "$IPO_BUILD/agent/cli/ipo-netctl" "$root/usr/bin/ipo-netctl"
    install -D -m 0644 "$IPO_SRC/rules/policy.json" "$root/etc/ipo-netd/policy.json"
    if [[ -f $IPO_SRC/systemd/org.ipo.NetD1.conf ]]; then
      install -D -m 0644 "$IPO_SRC/systemd/org.ipo.NetD1.conf" "$root/usr/share/dbus-1/system.d/org.ipo.NetD1.conf"
    fi
  fi
  # The units under test are always the working tree's.
  install -D -m 0644 -t "$root/usr/lib/systemd/system" \
    "$IPO_SRC/systemd/ipo-netd.service" "$IPO_SRC/systemd/ipo-netd-restore.service"
  install -D -m 0644 -t "$root/usr/lib/systemd/system/docker.service.d" \
    "$IPO_SRC/systemd/docker.service.d/ipo-netd-restore.conf"
}

# boot_lib_packages BINARY...: the Debian packages that ship the shared libraries the
# binaries load directly (their DT_NEEDED entries, resolved by ldd), one a line.
boot_lib_packages() {
  local bin lib path pkg
  for bin in "$@"; do
    while read -r lib; do
      path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
      [[ -n $path ]] || ipo_die "cannot resolve $lib of $bin"
      pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
        dpkg -S "/usr$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null) ||
        ipo_die "no Debian package ships $path ($lib of $bin)"
      pkg=${pkg%%:*}
      echo "${pkg%%,*}"
    done < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done
}

# boot_root_packages: sorted, one a line.
boot_root_packages() {
  {
    printf '%s\n' systemd systemd-sysv dbus nftables iproute2 procps jq docker.io
    boot_lib_packages "$IPO_BUILD/agent/daemon/ipo-netd" "$IPO_BUILD/agent/cli/ipo-netctl"
  } | sort -u
}

# boot_mirror: the Debian mirror apt is configured with (deb822 or one-line sources).
boot_mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v -- '-security' | head -n1 || true)
  [[ -n $m ]] || m=$(awk '$1 == "deb" && $3 == "'"$BOOT_SUITE"'" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

# boot_root_build DIR PACKAGES MIRROR: debootstrap a minimal root and prepare it for boots.
boot_root_build() {
  local dir=$1 packages=$2 mirror=$3
  ipo_info "building the boot root (debootstrap $BOOT_SUITE from $mirror; a few minutes once)"
  debootstrap --variant=minbase --include="$packages" "$BOOT_SUITE" "$dir" "$mirror" >"$dir.log" 2>&1 ||
    { tail -n 30 "$dir.log" >&2; ipo_die "debootstrap failed (log: $dir.log)"; }
  rm -f "$dir"/var/cache/apt/archives/*.deb
  # Timers and jobs that would only slow the test boots down.
  systemctl --root="$dir" mask --quiet apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service \
    dpkg-db-backup.timer fstrim.timer >/dev/null 2>&1 || true
  touch "$dir/.ipo-boot-root-complete"
}

# boot_root_ensure: print the path of the cached root, building it first if needed.
boot_root_ensure() {
  local packages mirror hash dir old
  packages=$(boot_root_packages | paste -sd, -)
  mirror=$(boot_mirror)
  hash=$(printf 'recipe=%s\nsuite=%s\nmirror=%s\npackages=%s\n' "$BOOT_RECIPE" "$BOOT_SUITE" "$mirror" "$packages" |
    sha256sum | cut -c1-16)
  dir=$BOOT_CACHE/boot-root-$hash
  mkdir -p "$BOOT_CACHE"
  (
    flock -w 1200 9 || ipo_die "timed out waiting for the boot-root lock"
    [[ -f $dir/.ipo-boot-root-complete ]] && exit 0
    rm -rf "$dir.tmp" "$dir.tmp.log"
    boot_root_build "$dir.tmp" "$packages" "$mirror"
    mv "$dir.tmp.log" "$dir.log"
    mv "$dir.tmp" "$dir"
    for old in "$BOOT_CACHE"/boot-root-*; do
      [[ -d $old && $old != "$dir" && $old != *.tmp ]] || continue
      ipo_info "removing the outdated boot root $old"
      rm -rf "$old" "$old.log"
    done
  ) 9>"$BOOT_CACHE/boot-root.lock" >&2
  echo "$dir"
}
