#!/usr/bin/env bash
# Usage: deb.sh
# Builds the .deb from $IPO_BUILD with CPack and checks it: control fields (name, version
# from project(), Depends from dpkg-shlibdeps naming libnftnl/libmnl/libcurl/libsystemd plus
# nftables), the conffile, the file list; then really installs it with dpkg into a scratch
# root with its own dpkg database (maintainer scripts run chrootless with DPKG_ROOT) and
# checks: the installed file list, both units enabled (no script starts a service or
# touches Docker), a locally edited
# policy surviving a reinstall, remove keeping the conffile and the enable links (an install
# after a remove keeps the units enabled), purge removing conffile,
# enable links and the saved state.
set -Eeuo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R=$PKG_WORK/root

# dpkg_r ARGS...: dpkg on the scratch root. --force-depends: the root's database knows none
#   of the libraries (they are checked in the Depends field instead).
dpkg_r() {
  dpkg --root="$R" --force-script-chrootless --force-depends --log=/dev/null "$@"
}

check_control() {
  local deb=$1 depends version dep
  [[ $(dpkg-deb -f "$deb" Package) == ipo-netd ]] || fail "package name is $(dpkg-deb -f "$deb" Package)"
  version=$(sed -nE 's/^project\(ipo-host VERSION ([0-9.]+).*/\1/p' "$IPO_SRC/CMakeLists.txt")
  [[ $(dpkg-deb -f "$deb" Version) == "$version-1" ]] || fail "version $(dpkg-deb -f "$deb" Version), want $version-1"
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  for dep in 'libnftnl[0-9]+' 'libmnl[0-9]+' 'libcurl[0-9]' 'libsystemd0' 'libc6' 'nftables'; do
    grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep"
  done
  dpkg-deb -e "$deb" "$PKG_WORK/control"
  [[ $(<"$PKG_WORK/control/conffiles") == /etc/ipo-netd/policy.json ]] ||
    fail "conffiles: $(cat "$PKG_WORK/control/conffiles")"
  local s
  for s in postinst prerm postrm; do
    [[ -x $PKG_WORK/control/$s ]] || fail "no executable $s"
    shellcheck -s sh "$PKG_WORK/control/$s" || fail "$s is not shellcheck clean"
    ! grep -vE '^\s*#' "$PKG_WORK/control/$s" | grep -qE 'systemctl (start|restart|reload-or-restart)|docker' ||
      fail "$s starts a service or touches Docker"
  done
  dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}' >"$PKG_WORK/deb-files"
  pkg_same_list ".deb (dpkg-deb -c)" "$PKG_WORK/deb-files"
}

install_into_scratch_root() {
  local deb=$1 state
  mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc/systemd/system"
  : >"$R/var/lib/dpkg/status"
  dpkg_r -i "$deb" >"$PKG_WORK/dpkg-i.log" 2>&1 || { cat "$PKG_WORK/dpkg-i.log" >&2; fail "dpkg -i failed"; }
  state=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${db:Status-Abbrev}' ipo-netd)
  [[ $state == "ii " ]] || fail "package state after install: '$state'"
  dpkg-query --admindir="$R/var/lib/dpkg" -L ipo-netd | while read -r f; do [[ -d $R$f ]] || echo "$f"; done >"$PKG_WORK/installed"
  pkg_same_list "installed package (dpkg -L)" "$PKG_WORK/installed"
  while read -r f; do [[ -f $R$f ]] || fail "$f listed but not on disk"; done <"$PKG_EXPECTED"
  dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Conffiles}\n' ipo-netd | grep -q '^ /etc/ipo-netd/policy.json [0-9a-f]\{32\}' ||
    fail "dpkg does not record /etc/ipo-netd/policy.json as a conffile"
  local u
  for u in ipo-netd.service ipo-netd-restore.service; do
    [[ $(systemctl --root="$R" is-enabled "$u" 2>&1) == enabled ]] || fail "$u not enabled by postinst: $(systemctl --root="$R" is-enabled "$u" 2>&1)"
  done
  echo "ok: installed with dpkg into a scratch root; both units enabled by postinst"
}

reinstall_keeps_local_policy() {
  local deb=$1
  echo '{"edited": "by the admin"}' >"$R/etc/ipo-netd/policy.json"
  systemctl --root="$R" disable ipo-netd.service >/dev/null 2>&1
  dpkg_r --force-confold -i "$deb" >"$PKG_WORK/dpkg-re.log" 2>&1 || { cat "$PKG_WORK/dpkg-re.log" >&2; fail "reinstall failed"; }
  grep -q 'by the admin' "$R/etc/ipo-netd/policy.json" || fail "reinstall replaced the edited conffile"
  [[ $(systemctl --root="$R" is-enabled ipo-netd.service 2>&1) == disabled ]] || fail "reinstall re-enabled a unit the admin disabled"
  systemctl --root="$R" enable ipo-netd.service >/dev/null 2>&1
  echo "ok: reinstall keeps the edited policy and the admin's disable"
}

remove_then_purge() {
  dpkg_r --remove ipo-netd >"$PKG_WORK/dpkg-r.log" 2>&1 || { cat "$PKG_WORK/dpkg-r.log" >&2; fail "dpkg --remove failed"; }
  [[ ! -e $R/usr/sbin/ipo-netd && ! -e $R/usr/lib/systemd/system/ipo-netd.service ]] || fail "remove left program or unit files"
  grep -q 'by the admin' "$R/etc/ipo-netd/policy.json" || fail "remove deleted the conffile"
  [[ $(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${db:Status-Abbrev}' ipo-netd) == "rc " ]] || fail "state after remove is not rc"
  # Installing again after a remove keeps the admin's choice: the enable links survived.
  dpkg_r -i "$1" >"$PKG_WORK/dpkg-i2.log" 2>&1 || { cat "$PKG_WORK/dpkg-i2.log" >&2; fail "install after remove failed"; }
  [[ $(systemctl --root="$R" is-enabled ipo-netd-restore.service 2>&1) == enabled ]] || fail "install after remove: restore unit not enabled"
  dpkg_r --remove ipo-netd >"$PKG_WORK/dpkg-r.log" 2>&1 || { cat "$PKG_WORK/dpkg-r.log" >&2; fail "second dpkg --remove failed"; }
  mkdir -p "$R/var/lib/ipo-netd"
  echo '{}' >"$R/var/lib/ipo-netd/state.json"
  dpkg_r --purge ipo-netd >"$PKG_WORK/dpkg-p.log" 2>&1 || { cat "$PKG_WORK/dpkg-p.log" >&2; fail "dpkg --purge failed"; }
  [[ ! -e $R/etc/ipo-netd ]] || fail "purge left /etc/ipo-netd: $(ls -A "$R/etc/ipo-netd")"
  [[ ! -e $R/var/lib/ipo-netd ]] || fail "purge left the saved state /var/lib/ipo-netd"
  local left
  left=$(find "$R/etc/systemd/system" -name 'ipo-netd*' -print)
  [[ -z $left ]] || fail "purge left enable links: $left"
  ! dpkg-query --admindir="$R/var/lib/dpkg" -W ipo-netd >/dev/null 2>&1 || fail "package still known after purge"
  echo "ok: remove keeps the conffile; purge removes conffile, enable links and state"
}

main() {
  pkg_build DEB dpkg-deb dpkg-shlibdeps systemctl shellcheck
  local deb=$PKG_FILE
  check_control "$deb"
  install_into_scratch_root "$deb"
  reinstall_keeps_local_policy "$deb"
  remove_then_purge "$deb"
  echo "PASS: .deb"
}

main "$@"
