#!/usr/bin/env bash
# Usage: vm_reboot.sh [--help] [--reboots N] [--cut-at I] KERNEL [firewalld]
#
# Real reboots of the agent's .deb in a QEMU (TCG) virtual machine on KERNEL (6.1: bookworm,
# the table owner flag exists; 5.10: bullseye, no owner flag), with a prober outside.
# The guest (vm_image.sh: Docker, the three lab containers plus docker_x -p 9000, the .deb,
# install-agent --migrate-only) has a WAN and a LAN NIC on taps in namespaces of ours; the
# prober (vm_prober.sh) hammers every forbidden path from ipovm-wan and ipovm-landeny, and
# every allowed one, from BEFORE the first boot until after the last power-off:
#   boot 1, then N reboots (--reboots, default $IPO_VM_REBOOTS or 3): `systemctl reboot`
#     inside the guest, except the I-th (--cut-at, default 2), which is a power cut (QEMU
#     killed). After every boot: ipo-netd
#     active with health ok, the restore unit's result, and every allowed path answering
#     again within $IPO_VM_ALLOWED_BOUND seconds (default 120) of the guest's boot report
#     (written once ipo-netd is ready); printed per boot from QEMU's start and from the report
#     (the emulated boot itself takes minutes on a loaded 2-core machine);
#   `ipo-netctl status` in the running guest; `nft flush ruleset` in the guest: the agent's
#     tables are back within 30 s of guest time (identical in nft -s list ruleset; firewalld's
#     table, flushed too in that variant, is firewalld's to restore); the time is printed (an upper bound:
#     polling costs ~1 s of guest time under TCG), not held to 1 s;
#   a boot with a policy that does not parse: the restore unit loads the fail-closed
#     baseline, ipo-netd refuses to start, the operator's service (port 22) answers from WAN
#     and LAN;
#   with "firewalld": firewalld enabled at boot in the guest, `firewall-cmd --reload` while
#     the prober runs (and after the last reboot), the agent's tables intact afterwards.
# Forbidden successes are counted per phase and printed: the reboots (boots 1..N+1 up to the
# flush) must have 0; the flush window (5.10/6.1: the kernel cannot protect the tables, the
# agent repairs them) and the fail-closed boot's docker-proxy port are known gaps, printed
# (IPO_VM_STRICT=1 makes them fail too); any other success in the fail-closed boot fails.
set -Eeuo pipefail
# shellcheck source=tests/vm/vm_image.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm_image.sh"
# shellcheck source=tests/vm/vm_prober.sh
source "$IPO_SRC/tests/vm/vm_prober.sh"

KERNEL=""
VARIANT=plain
REBOOTS=${IPO_VM_REBOOTS:-3}
CUT_AT=2
ALLOWED_BOUND=${IPO_VM_ALLOWED_BOUND:-120}
PROBER=""
FAILS=0
KEEP_WORK="" # set by evidence(): a failed run keeps its work directory

cleanup() {
  [[ -z $PROBER ]] || vm_prober_stop "$PROBER"
  vm_cleanup
  if [[ -n $VM_WORK && -z ${IPO_VM_KEEP:-} && -z $KEEP_WORK ]]; then rm -rf "$VM_WORK"; fi
  [[ -z $VM_WORK || ! -d $VM_WORK ]] || echo "kept: $VM_WORK (control share, consoles, prober logs, disk)" >&2
}

# check_failed WHAT: record a failed check (the run goes on, and fails at the end).
check_failed() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

now_ms() {
  local t=${EPOCHREALTIME/./}
  echo "${t:0:-3}"
}

# evidence: the console tail and the last boot's journal, for failures.
evidence() {
  echo "--- console (last 30 lines)" >&2
  tail -n 30 "$VM_WORK/console.$VM_BOOTS.log" >&2 2>/dev/null || true
  local d
  d=$(find "$VM_WORK/ctl/out" -maxdepth 1 -name 'boot.*' -newer "$VM_WORK/console.$VM_BOOTS.log" 2>/dev/null | head -n1)
  [[ -z $d ]] || {
    echo "--- containers" >&2
    cat "$d/containers" >&2 2>/dev/null || true
    echo "--- guest journal (ipo units, docker): errors and warnings" >&2
    grep -iE 'level=(error|warning)|error|fail' "$d/journal" | tail -n 30 >&2 || true
    echo "--- guest journal (last 40 lines)" >&2
    tail -n 40 "$d/journal" >&2
  }
  # Keep what the run made for a look afterwards (the disk, the guest's journals, the logs).
  KEEP_WORK=1
}

# allowed_back START_MS ROWS_PATTERN: wait until every allowed path whose row matches
#   ROWS_PATTERN (grep -E) had a success after START_MS; print the slowest path's delay (s).
allowed_back() {
  local start=$1 pattern=$2 key first worst=0 pending deadline
  deadline=$((SECONDS + ALLOWED_BOUND))
  while :; do
    pending=0 worst=0
    while read -r key; do
      grep -qE "$pattern" "$PROBER/rows/$key" || continue
      first=$(vm_prober_first_ok "$PROBER" "$key" "$start")
      if [[ -z $first ]]; then
        pending=$((pending + 1))
      elif ((first - start > worst)); then
        worst=$((first - start))
      fi
    done < <(vm_prober_keys "$PROBER" allowed)
    ((pending == 0)) && break
    if ((SECONDS >= deadline)); then
      echo "timeout: $pending allowed paths silent"
      return 1
    fi
    sleep 0.5
  done
  awk -v w="$worst" 'BEGIN { printf "%.1f\n", w / 1000 }'
}

# boot_checks N ID START_MS EXPECT_RESTORE: the facts of boot N (report ID) and the allowed
#   paths' recovery; one summary line.
boot_checks() {
  local n=$1 id=$2 start=$3 want=$4 back rep rel
  rep=$(now_ms)
  vm_prober_aim "$PROBER" "$VM_WORK/ctl/out/boot.$id/addrs"
  back=$(allowed_back "$start" '.') || {
    check_failed "boot $n: allowed paths not back within $ALLOWED_BOUND s of the report ($back)"
    back=never
    evidence
  }
  rel=never
  [[ $back == never ]] || rel=$(awk -v b="$back" -v r="$rep" -v s="$start" 'BEGIN { printf "%.1f", b - (r - s) / 1000 }')
  printf 'boot %d: %s; report at uptime %s s (QEMU start +%s s); restore %s done at %s s; ipo-netd %s (health %s) at %s s; allowed paths all back +%s s after QEMU start (%s s relative to the report)\n' \
    "$n" "$(vm_fact "$id" kernel)" "$(vm_fact "$id" uptime)" "$(awk -v a="$start" -v b="$rep" 'BEGIN{printf "%.0f", (b-a)/1000}')" \
    "$(vm_fact "$id" restore_result)" "$(vm_fact "$id" restore_done_s)" "$(vm_fact "$id" netd_state)" \
    "$(vm_fact "$id" netd_health)" "$(vm_fact "$id" netd_active_s)" "$back" "$rel"
  echo "$rel" >>"$VM_WORK/allowed-rel"
  [[ $(vm_fact "$id" netd_state) == active && $(vm_fact "$id" netd_health) == ok ]] ||
    { check_failed "boot $n: ipo-netd $(vm_fact "$id" netd_state), health $(vm_fact "$id" netd_health)"; evidence; }
  [[ $(vm_fact "$id" restore_result) == "$want" ]] ||
    check_failed "boot $n: the restore unit's result is $(vm_fact "$id" restore_result), want $want"
  if [[ $VARIANT == firewalld ]]; then
    [[ $(vm_fact "$id" firewalld) == active ]] || check_failed "boot $n: firewalld is $(vm_fact "$id" firewalld)"
  fi
  echo "$back" >>"$VM_WORK/allowed-back"
}

# next_boot HOW: end the running guest (reboot: systemctl reboot; cut: kill QEMU; bad-policy:
#   write an unparsable policy, then reboot) and start QEMU again. Prints the start (ms).
next_boot() {
  local how=$1 t
  t=$SECONDS
  case $how in
    reboot) vm_cmd_send "reboot-$VM_BOOTS" 'systemctl reboot' ;;
    bad-policy) vm_cmd_send "bad-policy" 'printf "{ \"version\": 1, not json\n" >/etc/ipo-netd/policy.json; sync; systemctl reboot' ;;
    cut) vm_qemu_kill ;;
  esac
  if [[ $how != cut ]]; then
    vm_qemu_wait 180 || { check_failed "the guest did not go down within 180 s ($how)"; vm_qemu_kill; }
  fi
  echo "step guest down ($how): $((SECONDS - t)) s" >&2
  now_ms >"$VM_WORK/start"
  printf '%s %s\n' "$(<"$VM_WORK/start")" "$how" >>"$VM_WORK/starts"
  vm_qemu_start "$VM_WORK/disk.img" "$KDIR"
}

# flush_check: `nft flush ruleset` in the guest, time until the ruleset is whole again.
flush_check() {
  local out ms script
  # The agent's tables only: the flush deletes firewalld's table too (firewalld variant),
  # which firewalld restores at its next reload, not the agent. Polled for 30 s of guest time.
  script=$(
    cat <<'GUEST'
agent_tables() { nft -s list ruleset | awk '/^table / { keep = ($3 ~ /^ipo_netd/) } keep'; }
before=$(agent_tables)
t0=$(date +%s%N)
nft flush ruleset
while [[ $(agent_tables) != "$before" ]] && (($(date +%s%N) - t0 < 30000000000)); do
  sleep 0.01
done
t1=$(date +%s%N)
if [[ $(agent_tables) == "$before" ]]; then echo "repaired_ms=$(((t1 - t0) / 1000000))"; else echo "repaired_ms=never"; fi
ipo-netctl status --json | jq -c '{health, drift, repairs: .agent.drift_repairs, last_repair: .agent.last_repair}'
GUEST
  )
  out=$(vm_cmd flush 90 "$script") || check_failed "the flush command failed in the guest"
  echo "$out" | sed 's/^/  flush: /'
  ms=$(sed -n 's/^repaired_ms=//p' <<<"$out")
  # Asserted: the ruleset is whole again. Printed, not asserted: the time. Each poll is one
  # `nft -s list ruleset`, which costs about a second of guest time under TCG on a loaded
  # machine, so the figure is an upper bound that says nothing about a 1 s repair bound
  # (measured on the host kernel by bench/repair: p99 107 ms).
  if [[ $ms == never || -z $ms ]]; then
    check_failed "nft flush ruleset: the agent's ruleset was not back within the polling window"
  else
    echo "nft flush ruleset: ruleset identical again after <= $ms ms (guest clock, nft -s list ruleset polled; not asserted under TCG)"
  fi
}

# Paths on docker-proxy's host port of docker_x (-p 9000, outside the policy): in the last
# full run they were open for the whole fail-closed boot (the baseline drops forwarding only;
# docker-proxy is the input path) and in the flush window. Reported per boot below.
KNOWN_GAP_KEYS=(wan_host-wan_9000 landeny_host-lan_9000)

# known_gap_report: the known gap's successes per boot (window relative to that boot's QEMU
#   start) on stderr; their total on stdout.
known_gap_report() {
  local key total=0 n
  for key in "${KNOWN_GAP_KEYS[@]}"; do
    n=$(grep -c ' ok ' "$PROBER/log/$key" || true)
    total=$((total + n))
    ((n > 0)) || continue
    awk -v key="$key" 'NR == FNR { start[++b] = $1; how[b] = $2; next }
      $2 == "ok" { i = 0; for (j = 1; j <= b; j++) if ($1 >= start[j]) i = j
        if (!(i in first)) first[i] = $1; last[i] = $1; cnt[i]++ }
      END { for (i = 1; i <= b; i++) if (i in cnt)
        printf "known gap %s: boot %d (%s): %d successes from +%.1f s to +%.1f s after QEMU start\n",
          key, i, how[i], cnt[i], (first[i] - start[i]) / 1000, (last[i] - start[i]) / 1000 }' \
      "$VM_WORK/starts" "$PROBER/log/$key" >&2
  done
  echo "$total"
}

# parse_args ARGS...: the options and KERNEL [VARIANT] (see the header).
parse_args() {
  while (($#)); do
    case $1 in
      -h | --help) ipo_usage "$0"; exit 0 ;;
      --reboots) REBOOTS=${2:?--reboots needs a number}; shift 2 ;;
      --cut-at) CUT_AT=${2:?--cut-at needs a number}; shift 2 ;;
      -*) ipo_die "unknown option $1 (see --help)" ;;
      *) break ;;
    esac
  done
  KERNEL=${1:-}
  VARIANT=${2:-plain}
  [[ $KERNEL == 6.1 || $KERNEL == 5.10 ]] || ipo_die "KERNEL must be 6.1 or 5.10 (see --help)"
  [[ $VARIANT == plain || $VARIANT == firewalld ]] || ipo_die "unknown variant '$VARIANT' (firewalld or nothing)"
  [[ $REBOOTS =~ ^[0-9]+$ && $CUT_AT =~ ^[0-9]+$ ]] || ipo_die "--reboots and --cut-at take numbers"
}

main() {
  parse_args "$@"
  ipo_require_root
  ipo_require_cmd qemu-system-x86_64 debootstrap mkfs.ext4 cpack nsenter
  local t0=$SECONDS t id start i
  VM_WORK=$(mktemp -d /var/tmp/ipovm-reboot.XXXXXX)
  trap cleanup EXIT
  trap "exit 143" TERM INT
  vm_image_ensure
  KDIR=$(vm_kernel_dir "$KERNEL")
  [[ -f $KDIR/vmlinux ]] || ipo_die "no kernel files for $KERNEL"
  VM_PROBE=$(find "$IPO_BUILD" -name ipo-probe -type f -perm -u+x -not -path '*/CMakeFiles/*' | head -n1)
  [[ -n $VM_PROBE ]] || ipo_die "ipo-probe is not built under $IPO_BUILD"
  t=$SECONDS
  cp --sparse=always "$VM_DISK_TEMPLATE" "$VM_WORK/disk.img"
  vm_disk_slow_timeouts "$VM_WORK/disk.img" || ipo_die "cannot add the timeout drop-ins to the disk copy"
  if [[ $VARIANT == firewalld ]]; then
    # firewalld enabled at boot, as on a Rocky 8 server: enabled offline on the copy.
    vm_disk_edit "$VM_WORK/disk.img" \
      "symlink /etc/systemd/system/multi-user.target.wants/firewalld.service /lib/systemd/system/firewalld.service" ||
      ipo_die "cannot enable firewalld on the disk copy"
  fi
  echo "step disk copy: $((SECONDS - t)) s"
  vm_net_up
  PROBER=$VM_WORK/prober
  local rows
  mapfile -t rows < <(vm_prober_rows "$VM_ADDRS_TEMPLATE")
  vm_prober_start "$PROBER" "${rows[@]}"
  echo "prober: $(<"$PROBER/count") paths ($(vm_prober_keys "$PROBER" forbidden | wc -l) forbidden), started before the first boot"
  sleep 2

  # Boot 1 and the reboots.
  now_ms >"$VM_WORK/start"
  printf '%s %s\n' "$(<"$VM_WORK/start")" first >>"$VM_WORK/starts"
  vm_qemu_start "$VM_WORK/disk.img" "$KDIR"
  for ((i = 1; i <= REBOOTS + 1; i++)); do
    start=$(<"$VM_WORK/start")
    id=$(vm_wait_report 900) || { check_failed "boot $i: no report within 900 s"; evidence; id=""; break; }
    boot_checks "$i" "$id" "$start" restored
    if [[ $VARIANT == firewalld ]]; then
      local fw
      fw=$(vm_cmd "fw-reload-$i" 60 'firewall-cmd --reload && sleep 2 && nft list tables') || check_failed "firewall-cmd --reload failed"
      echo "  firewall-cmd --reload: tables now: $(tr '\n' ' ' <<<"$fw")"
      grep -q 'ipo_netd' <<<"$fw" || check_failed "after firewall-cmd --reload the agent's tables are gone"
      local s
      s=$(now_ms)
      allowed_back "$s" '.' >/dev/null || check_failed "boot $i: allowed paths silent after firewall-cmd --reload"
    fi
    ((i <= REBOOTS)) || break
    if ((i == CUT_AT)); then next_boot cut; else next_boot reboot; fi
  done
  vm_cmd status 60 'ipo-netctl status' | sed 's/^/  status: /' || check_failed "ipo-netctl status failed"
  if [[ -n ${id:-} ]]; then
    echo "kernel facts: 'nft add table ... { flags owner; }' $(vm_fact "$id" owner_flag) by this kernel; agent's tables: $(vm_fact "$id" agent_table_flags)"
    echo "  first flags line of the ruleset: $(vm_fact "$id" agent_flags_line)"
  fi
  now_ms >"$VM_WORK/flush-start"
  flush_check

  # The fail-closed boot.
  next_boot bad-policy
  start=$(<"$VM_WORK/start")
  if id=$(vm_wait_report 900); then
    local back
    back=$(allowed_back "$start" '\|22\|') || { check_failed "fail-closed boot: port 22 not reachable ($back)"; back=never; }
    echo "fail-closed boot: restore $(vm_fact "$id" restore_result), ipo-netd $(vm_fact "$id" netd_state); operator's port 22 answers from WAN/LAN +$back s after QEMU start"
    vm_cmd status-bad 60 'ipo-netctl status; systemctl is-failed ipo-netd.service' | sed 's/^/  status: /' || true
    [[ $(vm_fact "$id" restore_result) == fail-closed ]] || check_failed "fail-closed boot: restore result $(vm_fact "$id" restore_result)"
    [[ $(vm_fact "$id" netd_state) != active ]] || check_failed "fail-closed boot: ipo-netd runs with a policy that does not parse"
  else
    check_failed "fail-closed boot: no report"
    evidence
  fi
  t=$SECONDS
  vm_cmd_send poweroff 'systemctl poweroff'
  vm_qemu_wait 180 || { check_failed "the guest did not power off"; vm_qemu_kill; }
  echo "step power off: $((SECONDS - t)) s"
  sleep 2
  vm_prober_stop "$PROBER"
  echo "--- prober, forbidden paths (the whole run: before boot 1 to after the last power-off)"
  vm_prober_counts "$PROBER" forbidden
  echo "--- prober, allowed paths"
  vm_prober_counts "$PROBER" allowed
  local forb attempts allowed_ok gap fs bp reboots flush failclosed
  forb=$(vm_prober_total "$PROBER" forbidden ok)
  attempts=$(vm_prober_total "$PROBER" forbidden all)
  gap=$(known_gap_report)
  fs=$(cat "$VM_WORK/flush-start" 2>/dev/null || echo 99999999999999)
  bp=$(awk '$2 == "bad-policy" { print $1 }' "$VM_WORK/starts")
  bp=${bp:-99999999999999}
  reboots=$(vm_prober_total "$PROBER" forbidden ok 0 "$fs")
  flush=$(vm_prober_total "$PROBER" forbidden ok "$fs" "$bp")
  failclosed=$(vm_prober_total "$PROBER" forbidden ok "$bp")
  echo "--- forbidden successes per phase"
  echo "reboots (before boot 1 .. the flush): $reboots / $(vm_prober_total "$PROBER" forbidden all 0 "$fs") attempts"
  echo "nft flush ruleset window (until the fail-closed reboot): $flush / $(vm_prober_total "$PROBER" forbidden all "$fs" "$bp") attempts"
  vm_prober_counts "$PROBER" forbidden "$fs" "$bp" | awk '$(NF-1) > 0' | sed 's/^/    /'
  echo "fail-closed boot: $failclosed / $(vm_prober_total "$PROBER" forbidden all "$bp") attempts"
  vm_prober_counts "$PROBER" forbidden "$bp" | awk '$(NF-1) > 0' | sed 's/^/    /'
  allowed_ok=$(vm_prober_total "$PROBER" allowed ok)
  PROBER=""
  echo "allowed paths back after each normal boot (s after QEMU start): $(paste -sd' ' "$VM_WORK/allowed-back" 2>/dev/null); max $(sort -g "$VM_WORK/allowed-back" | tail -n1)"
  echo "  relative to the boot report (negative: before it): $(paste -sd' ' "$VM_WORK/allowed-rel" 2>/dev/null); bound $ALLOWED_BOUND s"
  echo "RESULT kernel $KERNEL ($VARIANT): $((VM_BOOTS)) boots, forbidden successes $forb / $attempts attempts" \
    "(reboots $reboots, flush window $flush, fail-closed boot $failclosed; on docker-proxy's port 9000: $gap); allowed successes $allowed_ok"
  ((allowed_ok > 0)) || check_failed "no allowed success counted: the prober cannot be trusted"
  ((attempts > 0)) || check_failed "no forbidden attempt made"
  ((reboots == 0)) || check_failed "$reboots forbidden connections succeeded across the reboots"
  local fc_other
  fc_other=$(vm_prober_counts "$PROBER" forbidden "$bp" | awk '$1 != "TOTAL" && $(NF-1) > 0 && $4 != 9000 { n += $(NF-1) } END { print n + 0 }')
  ((fc_other == 0)) || check_failed "$fc_other forbidden connections succeeded in the fail-closed boot (besides docker-proxy's port)"
  if [[ -n ${IPO_VM_STRICT:-} ]] && ((flush + failclosed > 0)); then
    check_failed "$((flush + failclosed)) forbidden connections succeeded in the flush window / fail-closed boot (IPO_VM_STRICT)"
  fi
  echo "step total: $((SECONDS - t0)) s"
  ((FAILS == 0)) || { echo "FAILED: $FAILS checks" >&2; exit 1; }
  echo "PASS"
}

main "$@"
