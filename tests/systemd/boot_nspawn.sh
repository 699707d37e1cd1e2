#!/usr/bin/env bash
# Usage: boot_nspawn.sh CASE
#
# Reboot proof with a real systemd. Boots a cached minimal Debian root (debootstrap, with
# systemd, dbus, nftables, docker.io and the agent's libraries; see boot_lib.sh) with
# `systemd-nspawn --boot --private-network`, the agent installed as the package installs it
# and both units enabled, and shows that the nftables ruleset is in force BEFORE dockerd starts.
# A drop-in adds an ExecStartPre= probe to the real docker.service that records the ruleset,
# boot-restore.json and the restore unit's state at that moment; a check unit records the
# rest (unit states and timestamps, journal, critical-chain, reload/restart) and powers off.
# Each run boots a disposable overlay of the cached root; nothing touches the host's
# network namespace (the container has its own).
#
# CASE: first_boot   no saved state: the policy's static ruleset, result "static"
#       saved_state  state.json of two containers: their published ports restored, "restored"
#       bad_policy   garbage policy: fail-closed baseline, "fail-closed"; ipo-netd refuses (2)
#       bad_policy_long, bad_policy_deep   the same with a 100,000-character name and with
#                    150,000 nested brackets: refused within 1 s, never a crash or a stall
#       restore_crash  the restore crashes: docker.service is not started at all (the drop-in
#                    systemd/docker.service.d/ipo-netd-restore.conf makes it require the restore)
# Every case but restore_crash also asserts the order restore -> network-pre -> docker -> ipo-netd, from the
# units' monotonic timestamps and from the journal.
set -Eeuo pipefail
# shellcheck source=tests/systemd/boot_lib.sh
source "${IPO_SRC:?}/tests/systemd/boot_lib.sh"
: "${IPO_BUILD:?}"

WORK=""
ROOT=""
MACHINE=""
NSPAWN_PID=""

cleanup() {
  local leader i
  if [[ -n $NSPAWN_PID ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    leader=$(ps -o pid= --ppid "$NSPAWN_PID" | head -n1 | tr -d ' ' || true)
    kill -TERM "$NSPAWN_PID" 2>/dev/null || true # nspawn asks the container's systemd to power off
    for ((i = 0; i < 100; i++)); do
      kill -0 "$NSPAWN_PID" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
      [[ -z $leader ]] || kill -KILL "$leader" 2>/dev/null || true # PID 1 of the container's namespace
      kill -KILL "$NSPAWN_PID" 2>/dev/null || true
    fi
    wait "$NSPAWN_PID" 2>/dev/null || true
  fi
  if [[ -n $ROOT ]] && mountpoint -q "$ROOT"; then
    umount "$ROOT" 2>/dev/null || umount -l "$ROOT" || true
  fi
  [[ -z $MACHINE ]] || rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null || true
  [[ -z $WORK || -n ${IPO_BOOT_KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

# on_fail: after fail's message, the end of the console and the journal lines that matter.
on_fail() {
  [[ -n $WORK ]] || return 0
  echo "--- container console (last 40 lines)"
  tail -n 40 "$WORK/console.log" 2>/dev/null || true
  echo "--- journal: ipo units, docker, kills"
  grep -E 'ipo-netd|ipo-netctl|docker|SYS|killed' "$WORK/out/journal" 2>/dev/null | tail -n 60 || true
}

# prepare CACHED: a disposable overlay of the cached root with the agent installed and enabled.
prepare() {
  local cached=$1
  WORK=$(mktemp -d /tmp/ipo-boot-test.XXXXXX)
  MACHINE=ipo-boot-${WORK##*.}
  ROOT=$WORK/$MACHINE
  mkdir -p "$WORK/upper" "$WORK/ovl" "$WORK/out" "$ROOT"
  mount -t overlay overlay -o "lowerdir=$cached,upperdir=$WORK/upper,workdir=$WORK/ovl" "$ROOT" ||
    fail "cannot mount an overlay of $cached"
  boot_install_agent "$ROOT"
  systemctl --root="$ROOT" enable --quiet ipo-netd-restore.service ipo-netd.service
  # Docker as the agent wants it (iptables off), vfs because /var/lib/docker is on overlayfs.
  jq -s '.[0] * {"storage-driver": "vfs"}' "$IPO_SRC/systemd/docker-daemon.json" >"$ROOT/etc/docker/daemon.json"
  # The rig: the probe in docker.service, the check unit.
  install -D -m 0755 -t "$ROOT/usr/local/lib/ipo-boot" "$IPO_SRC/tests/systemd/boot/ipo-boot-probe" \
    "$IPO_SRC/tests/systemd/boot/ipo-boot-check"
  mkdir -p "$ROOT/etc/systemd/system/docker.service.d"
  printf '[Service]\nExecStartPre=/usr/local/lib/ipo-boot/ipo-boot-probe docker-start\n' \
    >"$ROOT/etc/systemd/system/docker.service.d/ipo-boot-probe.conf"
  cat >"$ROOT/etc/systemd/system/ipo-boot-check.service" <<'EOF'
[Unit]
Description=ipo-host boot test: record the outcome and power off
After=ipo-netd.service docker.service
[Service]
Type=simple
ExecStart=/usr/local/lib/ipo-boot/ipo-boot-check
[Install]
WantedBy=multi-user.target
EOF
  systemctl --root="$ROOT" enable --quiet ipo-boot-check.service
  # The units answer a filtered system call with EPERM (graceful in production). Here any
  # filtered call kills the process instead (SIGSYS), so a pass proves the agent never makes one.
  local u
  for u in ipo-netd.service ipo-netd-restore.service; do
    mkdir -p "$ROOT/etc/systemd/system/$u.d"
    printf '[Service]\nSystemCallErrorNumber=kill\n' >"$ROOT/etc/systemd/system/$u.d/ipo-boot-seccomp-kill.conf"
  done
}

# boot: run the container until the check unit powers it off (bounded).
boot() {
  local rc=0 t0=$SECONDS
  timeout --kill-after=10 180 systemd-nspawn --quiet --directory="$ROOT" --machine="$MACHINE" --boot \
    --register=no --keep-unit --private-network --bind="$WORK/out:/ipo-boot" </dev/null >"$WORK/console.log" 2>&1 &
  NSPAWN_PID=$!
  wait "$NSPAWN_PID" || rc=$?
  NSPAWN_PID=""
  ipo_info "container booted and powered off in $((SECONDS - t0)) s (nspawn exit $rc)"
  [[ -f $WORK/out/done ]] || fail "the check unit did not finish (nspawn exit $rc)"
}

# prop UNIT KEY: a property the check unit recorded.
prop() { sed -n "s/^$2=//p" "$WORK/out/unit.$1"; }

# journal_line PATTERN: number of the first journal line matching PATTERN (0 if none).
journal_line() { grep -n -m1 -E "$1" "$WORK/out/journal" | cut -d: -f1 || echo 0; }

# assert_order: restore finished before network-pre.target and before docker.service began,
# and ipo-netd started after Docker; both by timestamps and in the journal.
assert_order() {
  local r_done np docker_start docker_up netd_start
  r_done=$(prop ipo-netd-restore.service ExecMainExitTimestampMonotonic)
  np=$(prop network-pre.target ActiveEnterTimestampMonotonic)
  docker_start=$(prop docker.service InactiveExitTimestampMonotonic)
  docker_up=$(prop docker.service ActiveEnterTimestampMonotonic)
  netd_start=$(prop ipo-netd.service InactiveExitTimestampMonotonic)
  [[ ${r_done:-0} -gt 0 && $(prop ipo-netd-restore.service Result) == success ]] ||
    fail "the restore unit did not succeed: $(tr '\n' ' ' <"$WORK/out/unit.ipo-netd-restore.service")"
  ((r_done <= np)) || fail "network-pre.target ($np us) was reached before the restore finished ($r_done us)"
  ((r_done <= docker_start)) || fail "docker.service began ($docker_start us) before the restore finished ($r_done us)"
  ((docker_up <= netd_start)) || fail "ipo-netd started ($netd_start us) before Docker was up ($docker_up us)"
  local j_restore j_docker
  j_restore=$(journal_line 'Finished ipo-netd-restore.service')
  j_docker=$(journal_line 'Starting docker.service')
  ((j_restore > 0 && j_docker > 0 && j_restore < j_docker)) ||
    fail "journal order: restore finished at line $j_restore, docker starting at line $j_docker"
  grep -qE '^ {2}ipo-netd-restore\.service$' "$WORK/out/docker-after" ||
    fail "docker.service is not ordered after ipo-netd-restore.service: $(tr '\n' ' ' <"$WORK/out/docker-after")"
  [[ $(<"$WORK/out/restore-is-active") == active ]] || fail "systemctl is-active ipo-netd-restore.service: $(<"$WORK/out/restore-is-active")"
  echo "order (monotonic us): restore done $r_done <= network-pre $np; docker began $docker_start, up $docker_up; ipo-netd began $netd_start"
  echo "journal: 'Finished ipo-netd-restore.service' line $j_restore < 'Starting docker.service' line $j_docker"
}

# assert_at_docker_start RESULT: what the probe saw as Docker was about to start.
assert_at_docker_start() {
  local want=$1 got
  [[ -f $WORK/out/docker-start.ruleset ]] || fail "docker.service's probe did not run"
  grep -q '^ActiveState=active$' "$WORK/out/docker-start.restore-unit" ||
    fail "restore unit not active when Docker started: $(tr '\n' ' ' <"$WORK/out/docker-start.restore-unit")"
  grep -q '^table inet ipo_netd {' "$WORK/out/docker-start.ruleset" || fail "no ipo_netd table when Docker started"
  got=$(jq -r .result "$WORK/out/docker-start.boot-restore.json")
  [[ $got == "$want" ]] || fail "boot-restore.json result $got, want $want: $(cat "$WORK/out/docker-start.boot-restore.json")"
  echo "at docker start: restore unit active, table inet ipo_netd present, boot-restore.json result=$got"
}

# assert_no_seccomp_kill: no unit was killed by SIGSYS (the syscall filter).
assert_no_seccomp_kill() {
  ! grep -E 'status=31/SYS|signal=SYS|Bad system call' "$WORK/out/journal" >&2 || fail "a process was killed by seccomp"
}

# assert_agent_up: ipo-netd READY (after its first reconcile with the real dockerd), tables in
# place, reload and restart work, /run/ipo-netd (boot-restore.json) survives the restart.
assert_agent_up() {
  [[ $(prop ipo-netd.service ActiveState) == active ]] ||
    fail "ipo-netd not active: $(tr '\n' ' ' <"$WORK/out/unit.ipo-netd.service")"
  [[ $(prop ipo-netd.service NRestarts) == 0 ]] || fail "ipo-netd restarted during boot"
  grep -q '^table inet ipo_netd {' "$WORK/out/final.ruleset" || fail "no ipo_netd table after ipo-netd started"
  # Type=notify: systemd reports it started only after the agent's first sync with Docker.
  local j_connected j_started
  j_connected=$(journal_line 'ipo-netd\[[0-9]+\]: .*docker: connected')
  j_started=$(journal_line 'Started ipo-netd.service')
  ((j_connected > 0 && j_started > j_connected)) ||
    fail "READY=1 before the first sync with Docker (journal: connected line $j_connected, started line $j_started)"
  local l
  for l in reload=ok after-reload=active restart=ok after-restart=active record-kept=yes tables-after-restart=yes; do
    grep -qx "$l" "$WORK/out/lifecycle" || fail "lifecycle: want $l, got: $(tr '\n' ' ' <"$WORK/out/lifecycle")"
  done
  local foreign
  foreign=$(sed -n 's/^foreign-change=//p' "$WORK/out/lifecycle")
  [[ $foreign == refused || $foreign == repaired ]] || fail "a foreign change to the agent's set was $foreign"
  [[ $(jq -r .health "$WORK/out/status.json" 2>/dev/null) == ok ]] ||
    fail "ipo-netctl status: health not ok: $(head -c 600 "$WORK/out/status.json")"
  [[ $(jq -r .boot_restore.result "$WORK/out/status.json") == "$(jq -r .result "$WORK/out/docker-start.boot-restore.json")" ]] ||
    fail "ipo-netctl status does not show the boot restore record from the shared /run/ipo-netd"
  echo "ipo-netd: active under the hardened unit (no restarts), health ok, reload/restart ok, boot-restore.json kept, foreign change $foreign"
}

case_first_boot() {
  boot
  assert_no_seccomp_kill
  assert_order
  assert_at_docker_start static
  grep -q 'map publish-any' "$WORK/out/docker-start.ruleset" || fail "static ruleset lacks the publish map"
  ! grep -q '172\.30\.' <(sed -n '/map publish-any/,/}/p' "$WORK/out/docker-start.ruleset") ||
    fail "no container should be published on a first boot"
  assert_agent_up
  echo "PASS: first boot: the policy's static ruleset was in force before Docker; agent up"
}

case_saved_state() {
  mkdir -p "$ROOT/var/lib/ipo-netd"
  chmod 0700 "$ROOT/var/lib/ipo-netd"
  cp "${IPO_SRC:?}/tests/testdata/state-generation-41.json" "$ROOT/var/lib/ipo-netd/state.json"
  boot
  assert_no_seccomp_kill
  assert_order
  assert_at_docker_start restored
  local rs=$WORK/out/docker-start.ruleset
  grep -q 'tcp . 8080 : 172.30.1.2 . 8080' "$rs" || fail "docker_a's published port not restored before Docker"
  grep -q 'tcp . 80 : 172.30.2.2 . 80' "$rs" || fail "docker_c's published port not restored before Docker"
  [[ $(jq -r .generation "$WORK/out/docker-start.boot-restore.json") == 41 ]] || fail "boot-restore.json generation"
  assert_agent_up
  echo "PASS: saved state: both containers' published ports were in force before Docker; agent up"
}

# bad_policy_boot WHAT: boot with the policy file already replaced by a broken one; the
# restore refuses it within a second and loads the fail-closed baseline, Docker starts behind
# it, the agent refuses the policy (exit 2) and is not restarted.
bad_policy_boot() {
  local what=$1
  # A container dockerd will find at boot with -p 3316:3316 (only its hostconfig.json: dockerd
  # logs that it cannot load it and goes on). The restore unit, hardened as shipped, reads
  # Docker's data root and must close 3316 on input before dockerd starts.
  local id
  id=$(printf 'ipo%.0s' {1..22} | head -c 64)
  mkdir -p "$ROOT/var/lib/docker/containers/$id"
  printf '{"PortBindings":{"3316/tcp":[{"HostIp":"","HostPort":"3316"}]},"RestartPolicy":{"Name":"always"}}\n' \
    >"$ROOT/var/lib/docker/containers/$id/hostconfig.json"
  boot
  assert_no_seccomp_kill
  assert_order
  assert_at_docker_start fail-closed
  local rs=$WORK/out/docker-start.ruleset
  grep -A2 'chain filter-forward' "$rs" | grep -q 'hook forward priority .*policy drop' ||
    fail "fail-closed baseline must drop all forwarding: $(cat "$rs")"
  grep -q 'fail-closed' "$rs" || fail "baseline comment missing"
  sed -n '/set proxy-ports/,/}/p' "$rs" | grep -q 'tcp . 3316' ||
    fail "docker-proxy's port 3316 (from Docker's data root) not guarded when Docker started: $(cat "$rs")"
  grep -q 'meta l4proto . th dport @proxy-ports counter .*jump to-proxy' "$rs" || fail "no input guard in the baseline"
  [[ $(prop ipo-netd-restore.service Result) == success ]] || fail "restore unit result $(prop ipo-netd-restore.service Result)"
  local took_us
  took_us=$(($(prop ipo-netd-restore.service ExecMainExitTimestampMonotonic) - $(prop ipo-netd-restore.service ExecMainStartTimestampMonotonic)))
  ((took_us < 1000000)) || fail "the restore took $took_us us on the $what policy (bound: 1 s)"
  # The agent refuses the policy (exit 2) and is not restarted; the baseline stays.
  [[ $(prop ipo-netd.service ActiveState) == failed && $(prop ipo-netd.service ExecMainStatus) == 2 ]] ||
    fail "ipo-netd should fail with exit 2: $(tr '\n' ' ' <"$WORK/out/unit.ipo-netd.service")"
  [[ $(prop ipo-netd.service NRestarts) == 0 ]] || fail "a refused policy must not be restarted (RestartPreventExitStatus=2)"
  grep -q 'fail-closed' "$WORK/out/final.ruleset" || fail "the baseline did not stay in force"
  echo "PASS: $what policy: restore refused it in $((took_us / 1000)) ms and loaded the fail-closed baseline before Docker (record fail-closed, tcp/3316 of Docker's container closed on input); agent refused with 2, not restarted"
}

case_bad_policy() {
  printf '{ "version": 1, "lan": ' >"$ROOT/etc/ipo-netd/policy.json"
  bad_policy_boot "not-JSON"
}

# A network name of 100,000 characters: std::regex overflowed the stack on it (exit 139),
# and the restore then loaded nothing at all.
case_bad_policy_long() {
  jq --arg n "$(printf 'a%.0s' {1..100000})" '.networks[0].name = $n' "$IPO_SRC/rules/policy.json" \
    >"$ROOT/etc/ipo-netd/policy.json"
  bad_policy_boot "100,000-character-name"
}

# 150,000 nested brackets: super-linear in the path index (minutes), past TimeoutStartSec.
case_bad_policy_deep() {
  {
    printf '{"version": 1, "lan": '
    head -c 150000 /dev/zero | tr '\0' '['
    head -c 150000 /dev/zero | tr '\0' ']'
    printf '}\n'
  } >"$ROOT/etc/ipo-netd/policy.json"
  bad_policy_boot "150,000-level-nesting"
}

# restore_crash: the restore crashes (SIGSEGV, as a stack overflow would): no ruleset is known
# to be in force, so docker.service must not start (the drop-in's Requires=), and dockerd, which
# would start every --restart container, never runs.
case_restore_crash() {
  mkdir -p "$ROOT/etc/systemd/system/ipo-netd-restore.service.d"
  printf '[Service]\nExecStart=\nExecStart=/bin/sh -c "kill -SEGV $$$$"\n' \
    >"$ROOT/etc/systemd/system/ipo-netd-restore.service.d/crash.conf"
  # ipo-netd waits for a Docker that never comes (READY needs one sync): its start timeout
  # (90 s) would only lengthen the boot; it is not what this case is about.
  printf '[Service]\nTimeoutStartSec=10\n' >"$ROOT/etc/systemd/system/ipo-netd.service.d/short-start.conf"
  boot
  [[ $(prop ipo-netd-restore.service Result) != success ]] ||
    fail "the crashing restore unit reported success: $(tr '\n' ' ' <"$WORK/out/unit.ipo-netd-restore.service")"
  [[ ! -e $WORK/out/docker-start.ruleset ]] || fail "docker.service began (its ExecStartPre probe ran) after a failed restore"
  [[ $(prop docker.service ActiveState) != active ]] ||
    fail "docker.service is active after a failed restore: $(tr '\n' ' ' <"$WORK/out/unit.docker.service")"
  grep -qE 'Dependency failed for .*[Dd]ocker' "$WORK/out/journal" ||
    fail "the journal does not show docker.service refused for the failed dependency"
  ! grep -qE ' dockerd\[[0-9]+\]: ' "$WORK/out/journal" || fail "dockerd ran although the restore failed"
  echo "PASS: restore crashed ($(prop ipo-netd-restore.service Result)): docker.service not started ($(prop docker.service ActiveState)), 'Dependency failed' in the journal, dockerd never ran"
}

main() {
  [[ ${1:-} != --help ]] || { ipo_usage "$0"; return 0; }
  cases_list_or_check "${1:-}"
  local c=$1
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (mounts, systemd-nspawn)"; exit 77; }
  ipo_require_cmd systemd-nspawn debootstrap jq readelf
  [[ -x $IPO_BUILD/agent/daemon/ipo-netd && -x $IPO_BUILD/agent/cli/ipo-netctl ]] || ipo_die "build the agent first"
  local cached
  cached=$(boot_root_ensure)
  prepare "$cached"
  "case_$c"
  echo "--- critical-chain (inside the container)"
  cat "$WORK/out/critical-chain"
}

main "$@"
