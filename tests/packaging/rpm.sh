#!/usr/bin/env bash
# Usage: rpm.sh
# Builds the .rpm from $IPO_BUILD with CPack and checks it with rpm: name and version from
# project(), the exact file list (rpm -qlp), /etc/ipo-netd/policy.json as the only config
# file and flagged %config(noreplace), the Rocky 8 Requires (libnftnl, libmnl, libcurl,
# systemd-libs, nftables, spdlog, fmt), the scriptlets, and that the package owns its own
# directories but not the system's. Then installs the payload with rpm into a scratch root
# with its own database (--noscripts: the scriptlets need the root's /bin/sh) and checks the
# files on disk and that erasing keeps an edited config as .rpmsave.
set -Eeuo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

R=$PKG_WORK/root

rpm_r() {
  rpm --root="$R" --dbpath=/var/lib/rpm "$@"
}

check_headers() {
  local pkg=$1 version req
  version=$(sed -nE 's/^project\(ipo-host VERSION ([0-9.]+).*/\1/p' "$IPO_SRC/CMakeLists.txt")
  [[ $(rpm -qp --qf '%{NAME} %{VERSION}' "$pkg" 2>/dev/null) == "ipo-netd $version" ]] ||
    fail "name/version: $(rpm -qp --qf '%{NAME} %{VERSION}' "$pkg" 2>/dev/null), want ipo-netd $version"
  [[ $(rpm -qp --qf '%{PREFIXES}' "$pkg" 2>/dev/null) == '(none)' ]] ||
    fail "package is relocatable (Prefix: $(rpm -qp --qf '%{PREFIXES}' "$pkg" 2>/dev/null)); its units name fixed paths"
  rpm -qp --qf '%{DESCRIPTION}' "$pkg" 2>/dev/null | grep -q '^ipo-netd follows Docker events' || fail "description is not ours"
  rpm -qp --requires "$pkg" 2>/dev/null >"$PKG_WORK/requires"
  echo "Requires: $(sort -u "$PKG_WORK/requires" | paste -sd, -)"
  for req in libnftnl libmnl libcurl systemd-libs nftables spdlog fmt; do
    grep -qx "$req" "$PKG_WORK/requires" || fail "Requires lacks $req"
  done
  # Built on a non-RHEL host, no Debian sonames or glibc versions may leak into Requires.
  if ! grep -qiE '^ID(_LIKE)?=.*(rhel|fedora|centos)' /etc/os-release; then
    ! grep -E '\.so|GLIBC' "$PKG_WORK/requires" || fail "automatic soname requirements of the build host leaked in"
  fi
  rpm -qp --list "$pkg" 2>/dev/null >"$PKG_WORK/all-paths"
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$pkg" 2>/dev/null | awk '$1 !~ /^d/ {print $2}' >"$PKG_WORK/rpm-files"
  pkg_same_list ".rpm (rpm -qlp, files)" "$PKG_WORK/rpm-files"
  # Directories: its own, never the system's.
  local d
  for d in /etc/ipo-netd /usr/share/ipo-netd /usr/share/doc/ipo-netd; do
    grep -qx "$d" "$PKG_WORK/all-paths" || fail "package does not own $d"
  done
  for d in /etc /usr /usr/bin /usr/sbin /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/share /usr/share/dbus-1 /usr/share/dbus-1/system.d /usr/share/doc; do
    ! grep -qx "$d" "$PKG_WORK/all-paths" || fail "package claims the system directory $d"
  done
  [[ $(rpm -qp --configfiles "$pkg" 2>/dev/null) == /etc/ipo-netd/policy.json ]] ||
    fail "config files: $(rpm -qp --configfiles "$pkg" 2>/dev/null)"
  [[ $(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$pkg" 2>/dev/null | awk '$2 == "/etc/ipo-netd/policy.json" {print $1}') == cn ]] ||
    fail "/etc/ipo-netd/policy.json is not %config(noreplace)"
  rpm -qp --scripts "$pkg" 2>/dev/null >"$PKG_WORK/scripts"
  local s
  for s in postinstall preuninstall postuninstall; do
    grep -q "^$s scriptlet" "$PKG_WORK/scripts" || fail "no $s scriptlet"
  done
  grep -q 'systemctl enable ipo-netd-restore.service ipo-netd.service' "$PKG_WORK/scripts" || fail "%post does not enable the units"
  ! grep -qE 'systemctl (start|restart)|docker' "$PKG_WORK/scripts" || fail "a scriptlet starts services or touches Docker"
  echo "ok: headers, Requires, file list, %config(noreplace), scriptlets"
}

install_payload() {
  local pkg=$1
  mkdir -p "$R"
  rpm_r --initdb
  rpm_r -i --nodeps --noscripts "$pkg" >"$PKG_WORK/rpm-i.log" 2>&1 || { cat "$PKG_WORK/rpm-i.log" >&2; fail "rpm -i failed"; }
  rpm_r -q ipo-netd >/dev/null || fail "rpm database does not know ipo-netd"
  while read -r f; do [[ -f $R$f ]] || fail "$f not on disk after rpm -i"; done <"$PKG_EXPECTED"
  [[ $(stat -c %a "$R/usr/sbin/ipo-netd") == 755 ]] || fail "ipo-netd mode $(stat -c %a "$R/usr/sbin/ipo-netd")"
  rpm_r -V --nodeps ipo-netd || fail "rpm -V reports changes right after install"
  echo '{"edited": "by the admin"}' >"$R/etc/ipo-netd/policy.json"
  rpm_r -e --noscripts ipo-netd >"$PKG_WORK/rpm-e.log" 2>&1 || { cat "$PKG_WORK/rpm-e.log" >&2; fail "rpm -e failed"; }
  [[ ! -e $R/usr/sbin/ipo-netd ]] || fail "rpm -e left the program"
  grep -q 'by the admin' "$R/etc/ipo-netd/policy.json.rpmsave" 2>/dev/null || fail "edited config not kept as .rpmsave on erase"
  echo "ok: rpm -i into a scratch root, rpm -V clean, erase keeps the edited policy as .rpmsave"
}

main() {
  pkg_build RPM rpm rpmbuild
  local pkg=$PKG_FILE
  check_headers "$pkg"
  install_payload "$pkg"
  echo "PASS: .rpm"
}

main "$@"
