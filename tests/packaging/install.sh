#!/usr/bin/env bash
# Usage: install.sh layout|unit-paths|man-pages|completion|--list
# `cmake --install` of the "ipo-netd" component (what the packages hold) with prefix /usr
# into a DESTDIR, then:
#   layout      the exact file list (tests/packaging/expected-files.txt), modes, the policy
#               under the absolute /etc, and the installed ipo-netctl accepting the installed
#               policy (`ipo-netctl check`);
#   unit-paths  every program, --policy file and Documentation= file the installed units
#               name is in the package (or, for programs like /bin/kill, on the system);
#   man-pages   the installed ipo-netd(8) and ipo-netctl(1), and the build's
#               ipo-mongo-archive(1), render without a groff warning, have a NAME line
#               mandb can index (lexgrog), and show every option and subcommand their
#               program's --help lists;
#   completion  the installed bash completion, driven as bash would with the installed
#               ipo-netctl, offers exactly the subcommands --help lists, nested ones, an
#               option's fixed values and file names.
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

# man_text PAGE: the page rendered as plain text; fails on any groff or man warning.
man_text() {
  local page=$1 err=$PKG_WORK/man.err
  MANWIDTH=100 man --warnings -E UTF-8 -P cat -l "$page" 2>"$err" | col -b
  if [[ -s $err ]]; then
    cat "$err" >&2
    fail "${page##*/}: man/groff warnings above"
  fi
}

# long_options PROGRAM [SUBCOMMAND...]: the long options `PROGRAM ... --help` lists.
long_options() {
  "$@" --help | awk '/^Options:/ {on = 1; next} /^[A-Z][a-z]*:/ {on = 0}
    on && /^  -/ {n = split($1, names, ","); for (i = 1; i <= n; i++) if (names[i] ~ /^--/) print names[i]}' |
    sed 's/[=[].*//'
}

case_man_pages() {
  local root=$PKG_WORK/root page text opt sub n=0
  for page in "$root/usr/share/man/man8/ipo-netd.8.gz" "$root/usr/share/man/man1/ipo-netctl.1.gz" \
    "$IPO_BUILD/man/ipo-mongo-archive.1.gz"; do
    [[ -f $page ]] || fail "$page missing"
    lexgrog "$page" >"$PKG_WORK/lexgrog" 2>&1 || { cat "$PKG_WORK/lexgrog" >&2; fail "${page##*/}: no NAME line mandb can read"; }
    text=$(man_text "$page")
    grep -q 'ipo-host 0\.' <<<"$text" || fail "${page##*/}: no version footer"
    echo "ok: ${page##*/} renders clean; $(sed 's/^[^:]*: //' "$PKG_WORK/lexgrog")"
  done
  text=$(man_text "$root/usr/share/man/man8/ipo-netd.8.gz")
  for opt in $(long_options "$root/usr/sbin/ipo-netd"); do
    grep -qF -- "$opt" <<<"$text" || fail "ipo-netd(8) lacks $opt"
    n=$((n + 1))
  done
  text=$(man_text "$root/usr/share/man/man1/ipo-netctl.1.gz")
  for sub in status check resync reload explain drops restore render "render nginx"; do
    grep -qE "^ +$sub\$" <<<"$text" || fail "ipo-netctl(1) has no subsection for '$sub'"
    # shellcheck disable=SC2086  # "render nginx" is two words
    for opt in $(long_options "$root/usr/bin/ipo-netctl" $sub); do
      grep -qF -- "$opt" <<<"$text" || fail "ipo-netctl(1) lacks $sub $opt"
      n=$((n + 1))
    done
  done
  echo "ok: the man pages show all $n options their programs' --help lists"
}

# complete_words WORD...: what the installed completion offers for the command line WORD...
#   (the last word is the one being completed), one per line.
complete_words() {
  local root=$PKG_WORK/root
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ipo_netctl; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$root/usr/share/bash-completion/completions/ipo-netctl" "$root/usr/bin/ipo-netctl" "$@"
}

# expect_completion WANT WORD...: fail unless the completion of WORD... is WANT (space separated).
expect_completion() {
  local want=$1 got
  shift
  got=$(complete_words "$@" | sort | xargs)
  [[ $got == "$(tr ' ' '\n' <<<"$want" | sort | xargs)" ]] || fail "completion of 'ipo-netctl $*': got '$got', want '$want'"
  echo "ok: ipo-netctl $* <TAB> -> $got"
}

case_completion() {
  local root=$PKG_WORK/root subs
  bash -c 'source "$1"; complete -p ipo-netctl' _ "$root/usr/share/bash-completion/completions/ipo-netctl" |
    grep -q -- '-F _ipo_netctl' || fail "the completion file does not register _ipo_netctl for ipo-netctl"
  subs=$("$root/usr/bin/ipo-netctl" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}' | xargs)
  [[ -n $subs ]] || fail "ipo-netctl --help lists no subcommands"
  expect_completion "$subs" ""
  expect_completion "status" st
  expect_completion "nginx" render ""
  expect_completion "debian12 rocky8" render nginx --target ""
  expect_completion "--json" status --js
  expect_completion "$root/etc/ipo-netd/policy.json" status --policy "$root/etc/ipo-netd/pol"
  # Container names for explain, from what the CLI reports (no agent here: the state file).
  local state=$PKG_WORK/complete-state
  mkdir -p "$state"
  cp "${IPO_SRC:?}/tests/testdata/state-generation-41.json" "$state/state.json"
  local dirs=(--policy "$root/etc/ipo-netd/policy.json" --run-dir "$state/run" --state-dir "$state")
  expect_completion "docker_a docker_c" explain "${dirs[@]}" ""
  expect_completion "docker_c" explain "${dirs[@]}" docker_a docker_c
}

main() {
  local c=${1:-}
  [[ $c == --list ]] || c=${c//-/_}  # unit-paths is case_unit_paths
  cases_list_or_check "$c"
  stage
  "case_$c"
}

main "$@"
