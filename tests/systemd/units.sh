#!/usr/bin/env bash
# Usage: units.sh CASE
#
# Static checks of systemd/ipo-netd.service and systemd/ipo-netd-restore.service.
# CASE: verify    `systemd-analyze verify --root=SCRATCH` of both units, in a scratch root that
#                 holds the host's unit files, /bin/kill and the agent installed as the package
#                 installs it (verify needs the ExecStart= binaries to exist). Any message fails.
#       security  `systemd-analyze security --offline=true` of both units: exposure < 3.0.
set -Eeuo pipefail
# shellcheck source=tests/systemd/boot_lib.sh
source "${IPO_SRC:?}/tests/systemd/boot_lib.sh"
: "${IPO_BUILD:?}"

UNITS=(ipo-netd.service ipo-netd-restore.service)
MAX_EXPOSURE=3.0
WORK=""

case_verify() {
  local root=$WORK/root out rc=0
  [[ -x $IPO_BUILD/agent/daemon/ipo-netd && -x $IPO_BUILD/agent/cli/ipo-netctl ]] || ipo_die "build the agent first"
  mkdir -p "$root/usr/lib/systemd/system" "$root/usr/bin" "$root/usr/sbin" "$root/etc/systemd/system"
  ln -s usr/bin "$root/bin"
  ln -s usr/sbin "$root/sbin"
  ln -s usr/lib "$root/lib"
  cp -a /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
  cp "$(readlink -f /bin/kill)" "$root/usr/bin/kill"
  boot_install_agent "$root"
  out=$(systemd-analyze verify --root="$root" "${UNITS[@]}" 2>&1) || rc=$?
  [[ $rc -eq 0 && -z $out ]] || fail "systemd-analyze verify (exit $rc): $out"
  echo "PASS: systemd-analyze verify --root: ${UNITS[*]} clean ($(systemd-analyze --version | head -n1))"
}

case_security() {
  local u line score bad=0
  for u in "${UNITS[@]}"; do
    line=$(systemd-analyze security --offline=true --no-pager "$IPO_SRC/systemd/$u" 2>&1 |
      grep 'Overall exposure level') || fail "no exposure level for $u"
    score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")
    [[ $score =~ ^[0-9]+\.[0-9]$ ]] || fail "cannot read the score: $line"
    if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s < m) }'; then
      echo "$u: exposure $score < $MAX_EXPOSURE"
    else
      echo "$u: exposure $score, NOT below $MAX_EXPOSURE" >&2
      bad=1
    fi
  done
  ((bad == 0)) || fail "a unit is not hardened enough"
  echo "PASS: systemd-analyze security --offline=true: every unit below $MAX_EXPOSURE"
}

main() {
  [[ ${1:-} != --help ]] || { ipo_usage "$0"; return 0; }
  cases_list_or_check "${1:-}"
  ipo_require_cmd systemd-analyze
  WORK=$(mktemp -d /tmp/ipo-units-test.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  "case_$1"
}

main "$@"
