#!/usr/bin/env bash
# Usage: vagrant/provision.sh [--help] [STEP...]
#
# Provisions the Rocky Linux 8 Vagrant machine (run as root in the guest, the repository at
# /vagrant). STEPs, in this order when none is given:
#   deps     dnf: EPEL + PowerTools + the docker-ce repository; the Rocky 8 names of what
#            scripts/bootstrap.d/10-core.sh installs on Debian (scripts/bootstrap itself is
#            apt-only), gcc-toolset-12, rpm-build; a static busybox at /usr/bin/busybox
#            (the lab's container image is made from it) taken from the busybox image.
#   build    configure and build everything in $IPO_BUILD (default /var/tmp/ipo-build)
#            with gcc-toolset-12.
#   package  cpack -G RPM, `dnf install` the .rpm (its Requires must resolve on Rocky 8),
#            check files, %config and the enabled units; then remove it again unless
#            IPO_KEEP_PACKAGE=1 (the lab runs its own agent).
#   lab      scripts/lab up, matrix and down, then the lab, agent and packaging (rpm,
#            install) tests with ctest.
set -Eeuo pipefail

# shellcheck disable=SC2034  # read by ipo_log (scripts/lib/ipo_common.sh)
IPO_PROG=provision
# Vagrant runs a copy of this file (/tmp/vagrant-shell); the repository is at /vagrant.
SRC=${IPO_SRC:-/vagrant}
[[ -r $SRC/scripts/lib/ipo_common.sh ]] || SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/ipo_common.sh
source "$SRC/scripts/lib/ipo_common.sh"
export IPO_BUILD=${IPO_BUILD:-/var/tmp/ipo-build}
BUSYBOX_IMAGE=${IPO_BUSYBOX_IMAGE:-docker.io/library/busybox:1.36.1-musl}

say() { ipo_info "$@"; }
die() { ipo_die "$@"; }

toolset() {
  # The enable script reads variables that may be unset.
  set +u
  # shellcheck disable=SC1091
  source /opt/rh/gcc-toolset-12/enable
  set -u
}

step_deps() {
  grep -qs '^PLATFORM_ID="platform:el8"' /etc/os-release || die "not an EL8 machine"
  say "dnf: EPEL, PowerTools, docker-ce repository"
  dnf -y -q install epel-release dnf-plugins-core
  dnf config-manager --set-enabled powertools
  [[ -f /etc/yum.repos.d/docker-ce.repo ]] ||
    dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo
  say "dnf: build and lab dependencies"
  dnf -y -q install --allowerasing \
    gcc-toolset-12 cmake ninja-build pkgconf-pkg-config git jq curl rpm-build \
    libnftnl-devel libmnl-devel libcurl-devel json-devel spdlog-devel systemd-devel \
    catch-devel cli11-devel \
    nftables iptables iproute util-linux procps-ng psmisc python3 ShellCheck \
    docker-ce docker-ce-cli containerd.io
  install_busybox
}

# install_busybox: /usr/bin/busybox, statically linked (copied into a scratch image by the
# lab). Rocky 8 has no busybox package; the official image's musl variant is static.
install_busybox() {
  if [[ -x /usr/bin/busybox ]] && ! ldd /usr/bin/busybox >/dev/null 2>&1; then
    return 0
  fi
  say "busybox: from $BUSYBOX_IMAGE"
  local was_active=0 id
  systemctl is-active -q docker && was_active=1
  systemctl start docker
  docker pull -q "$BUSYBOX_IMAGE" >/dev/null
  id=$(docker create "$BUSYBOX_IMAGE")
  docker cp "$id:/bin/busybox" /usr/bin/busybox
  docker rm "$id" >/dev/null
  # The lab starts its own dockerd in a namespace; leave the system one as it was.
  ((was_active)) || systemctl stop docker docker.socket
  ! ldd /usr/bin/busybox >/dev/null 2>&1 || die "/usr/bin/busybox is not static"
}

step_build() {
  toolset
  say "build in $IPO_BUILD ($(gcc --version | head -n1))"
  cmake -S "$SRC" -B "$IPO_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$IPO_BUILD" -j "$(nproc)"
}

step_package() {
  local out=/var/tmp/ipo-rpm rpm u
  rm -rf "$out"
  say "cpack -G RPM"
  cpack --config "$IPO_BUILD/CPackConfig.cmake" -G RPM -B "$out" >/dev/null
  rpm=$(compgen -G "$out/ipo-netd-*.rpm" | head -n1) || die "cpack made no .rpm"
  say "dnf install ${rpm##*/}"
  rpm -qp --requires "$rpm"
  dnf -y -q install "$rpm"
  rpm -V ipo-netd || die "rpm -V ipo-netd reports changes"
  [[ $(rpm -q --configfiles ipo-netd) == /etc/ipo-netd/policy.json ]] || die "config files differ"
  for u in ipo-netd.service ipo-netd-restore.service; do
    [[ $(systemctl is-enabled "$u") == enabled ]] || die "$u not enabled by %post"
    ! systemctl is-active -q "$u" || die "$u was started by %post"
  done
  /usr/bin/ipo-netctl check --policy /etc/ipo-netd/policy.json
  if [[ ${IPO_KEEP_PACKAGE:-0} != 1 ]]; then
    dnf -y -q remove ipo-netd
  fi
  say "package: ok"
}

step_lab() {
  toolset
  export IPO_LAB_BOOTSTRAP=0 IPO_LAB_BUILD=0 # deps come from step_deps (dnf), not apt
  "$SRC/scripts/lab" up
  "$SRC/scripts/lab" matrix
  "$SRC/scripts/lab" down
  ctest --test-dir "$IPO_BUILD" -L 'lab|agent' --output-on-failure --timeout 600
  ctest --test-dir "$IPO_BUILD" -R '^packaging_(install|rpm)' --output-on-failure --timeout 600
}

main() {
  if [[ ${1:-} == --help || ${1:-} == -h ]]; then
    ipo_usage "${BASH_SOURCE[0]}"
    return 0
  fi
  ipo_require_root
  local steps=("$@") s
  ((${#steps[@]})) || steps=(deps build package lab)
  for s in "${steps[@]}"; do
    case $s in
      deps | build | package | lab) "step_$s" ;;
      *) die "unknown step '$s' (see --help)" ;;
    esac
  done
}

main "$@"
