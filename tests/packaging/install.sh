#!/usr/bin/env bash
# Usage: install.sh layout|unit-paths|--list
# `cmake --install` of the "ipo-netd" component (what the packages hold) with prefix /usr
# into a DESTDIR, then:
#   layout      the exact file list (tests/packaging/expected-files.txt), modes, the policy
#               under the absolute /etc, and the installed ipo-netctl accepting the installed
#               policy (`ipo-netctl check`);
#   unit-paths  every program, --policy file and Documentation= file the installed units
#               name is in the package (or, for programs like /bin/kill, on the system).
set -Eeuo pipefail
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/lib/cases.sh
source "$IPO_SRC/tests/lib/cases.sh"

stage() {
  pkg_require_built
  DESTDIR="$PKG_WORK/root" cmake --install "$IPO_BUILD" --component ipo-netd --prefix /usr >"$PKG_WORK/install.log" 2>&1 ||
    { cat "$PKG_WORK/install.log" >&2; fail "cmake --install failed"; }
}

case_layout() {
  local root=$PKG_WORK/root f mode
  (cd "$root" && find . -mindepth 1 ! -type d | sed 's|^\.||') >"$PKG_WORK/files"
  pkg_same_list "cmake --install --component ipo-netd" "$PKG_WORK/files"
  for f in usr/sbin/ipo-netd usr/bin/ipo-netctl usr/libexec/ipo-netd/ipo-netd-proxy; do
    mode=$(stat -c %a "$root/$f")
    [[ $mode == 755 ]] || fail "$f has mode $mode, want 755"
  done
  while read -r f; do
    [[ $f == /usr/sbin/* || $f == /usr/bin/* || $f == /usr/libexec/* ]] && continue
    mode=$(stat -c %a "$root$f")
    [[ $mode == 644 ]] || fail "$f has mode $mode, want 644"
  done <"$PKG_EXPECTED"
  [[ ! -e $root/usr/etc ]] || fail "policy went under the prefix (/usr/etc)"
  cmp -s "$root/etc/ipo-netd/policy.json" "$IPO_SRC/rules/policy.json" || fail "installed policy is not rules/policy.json"
  [[ ! -e $root/var && ! -e $root/run ]] || fail "state/run directories must come from the units, not the install"
  "$root/usr/bin/ipo-netctl" check --policy "$root/etc/ipo-netd/policy.json" --state-dir "$PKG_WORK/state" >"$PKG_WORK/check.log" 2>&1 ||
    { cat "$PKG_WORK/check.log" >&2; fail "installed ipo-netctl rejects the installed policy"; }
  echo "ok: installed ipo-netctl accepts /etc/ipo-netd/policy.json"
  echo "PASS: install layout"
}

# unit_refs UNIT: the absolute paths UNIT names: Exec*= programs (after the -@:+! prefixes),
#   values of --policy, and file:// Documentation= targets, one per line.
unit_refs() {
  local unit=$1 key value word
  while IFS='=' read -r key value; do
    case $key in
      Exec*)
        read -r word _ <<<"$value"
        word=${word##[-@:+!]}
        word=${word##[-@:+!]}
        printf '%s\n' "$word"
        grep -oE -- '--policy[ =][^ ]+' <<<"$value" | sed -E 's/^--policy[ =]//' || true
        ;;
      Documentation)
        for word in $value; do
          [[ $word == file://* ]] && printf '%s\n' "${word#file://}"
        done
        ;;
    esac
  done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | grep -E '^(Exec[A-Za-z]*|Documentation)=')
}

case_unit_paths() {
  local root=$PKG_WORK/root unit path bad=0 n=0
  for unit in "$root"/usr/lib/systemd/system/*.service; do
    while read -r path; do
      [[ -n $path ]] || continue
      n=$((n + 1))
      if [[ -e $root$path ]]; then
        continue
      elif [[ $path != /etc/* && $path != /usr/share/doc/* && $path != */ipo-* && -x $path ]]; then
        continue # a system program such as /bin/kill
      fi
      echo "FAIL: ${unit##*/} names $path, which the package does not install" >&2
      bad=1
    done < <(unit_refs "$unit")
  done
  ((n > 0)) || fail "no paths found in the installed units"
  ((bad == 0)) || exit 1
  echo "PASS: the installed units name $n paths, all present"
}

main() {
  local c=${1:-}
  [[ $c == --list ]] || c=${c//-/_}  # unit-paths is case_unit_paths
  cases_list_or_check "$c"
  stage
  "case_$c"
}

main "$@"
