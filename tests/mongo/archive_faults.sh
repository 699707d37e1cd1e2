#!/usr/bin/env bash
# Usage: archive_faults.sh CASE
#
# The fault matrix of scripts/ipo-mongo-archive, one CASE per CTest test, each in its own
# loopback lab (scripts/lib/ipo_mongo_lab.sh). Every case checks that 0 documents are lost (each
# January document is still in the database or in the uploaded archive), that the webhook
# is called exactly when it should be, and then (where the job can finish) that a rerun
# with --resume completes: the restored archive equals January document by document and
# January is purged. CASE: one of the case_* functions below (`archive_faults.sh --list`).
set -Eeuo pipefail
# shellcheck source=tests/mongo/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
# shellcheck source=tests/lib/cases.sh
source "$IPO_SRC/tests/lib/cases.sh"

M=2024-01
# January documents inserted on purpose after the archive was made (must survive).
LATE_LEFT=0

# seed [ARGS...]: January and February, snapshot of January in $LAB/jan.jsonl.
seed() {
  td seed --months 2024-01,2024-02 --per-month 1000 "$@"
  td snapshot --month "$M" --out "$LAB/jan.jsonl"
  td snapshot --month 2024-02 --out "$LAB/feb.jsonl"
}

# no_loss: DB's January + the uploaded archive's January == the seeded January.
no_loss() {
  local file
  td snapshot --month "$M" --out "$LAB/now.jsonl"
  : >"$LAB/arch.jsonl"
  if file=$(remote_archive "$M"); then
    restore_archive "$file"
    td snapshot --db restore --out "$LAB/arch.jsonl"
  fi
  cmp -s <(sort "$LAB/jan.jsonl") <(grep -hv '"late": true' "$LAB/now.jsonl" "$LAB/arch.jsonl" | sort -u) ||
    fail "documents lost: seeded $(wc -l <"$LAB/jan.jsonl"), in db $(wc -l <"$LAB/now.jsonl"), in archive $(wc -l <"$LAB/arch.jsonl")"
  td snapshot --month 2024-02 --out "$LAB/feb.now.jsonl"
  cmp -s "$LAB/feb.jsonl" "$LAB/feb.now.jsonl" || fail "February changed"
  ok "0 documents lost ($(wc -l <"$LAB/now.jsonl") in db, $(wc -l <"$LAB/arch.jsonl") archived)"
}

# expect_fail RC STEP: the last job exited RC and the webhook got exactly one more alert for STEP.
expect_alert() {
  local rc=$1 step=$2 hooks_before=$3
  ((rc != 0)) || fail "job succeeded but should have failed in step $step"
  [[ $(hook_count) == $((hooks_before + 1)) ]] || fail "expected one webhook call, got $(($(hook_count) - hooks_before))"
  [[ $(hook_last_field step) == "$step" ]] || fail "webhook says step '$(hook_last_field step)', expected '$step'"
  [[ $(hook_last_field exit_code) == "$rc" ]] || fail "webhook exit_code $(hook_last_field exit_code) != $rc"
  [[ $(hook_last_field month) == "$M" && -n $(hook_last_field host) && -n $(hook_last_field log_tail) ]] ||
    fail "webhook body lacks month/host/log_tail"
  ok "job failed (exit $rc) and alerted once for step $step"
}

# job_alerts STEP: run the job on $M; it must fail in STEP and alert once (expect_alert).
job_alerts() {
  local rc=0
  job --month "$M" || rc=$?
  expect_alert "$rc" "$1" 0
}

# recover: rerun with --resume; must finish, archive == seeded January, January purged.
recover() {
  local hooks rc=0
  hooks=$(hook_count)
  job --month "$M" --resume || rc=$?
  ((rc == 0)) || fail "--resume run failed (exit $rc)"
  restore_compare "$M" "$LAB/jan.jsonl"
  [[ $(td count --month "$M") == "$LATE_LEFT" ]] || fail "January not purged after --resume ($(td count --month "$M") left)"
  [[ $(hook_count) == "$hooks" ]] || fail "webhook called by the successful --resume run"
  no_loss
  ok "--resume finished the job: archive equals January, January purged"
}

# wait_until SECONDS CMD...: poll CMD (every 0.1 s) until it succeeds.
wait_until() { ipo_wait_for "$@" || fail "timed out waiting for: ${*:2}"; }

part_has_bytes() { local f; f=$(compgen -G "$1") && [[ $(stat -c %s "$f") -gt 0 ]]; }
jan_partly_deleted() { local n; n=$(td count --month "$M"); ((n > 0 && n < 1000)); }

case_mongo_down() {
  seed
  ipo_mongo_lab_ferretdb_stop
  job_alerts check
  ipo_mongo_lab_ferretdb_start
  no_loss
  recover
}

case_dump_killed() {
  seed --random-payload --payload 400
  # A slow dump (small batches with pauses) so it can be killed midway.
  DUMP_BATCH=50 DUMP_PAUSE=0.3 job_bg --month "$M"
  wait_until 60 part_has_bytes "$WORK_DIR/*.bson.gz.part"
  local pid
  pid=$(pgrep -g "$JOB_PGID" -f 'ipo_mongo_helper.py dump') || fail "no dump helper running in the job"
  kill -KILL "$pid"
  local rc=0
  wait "$JOB_PID" || rc=$?
  job_reaped
  expect_alert "$rc" dump 0
  [[ $(state_step "$M") == checked ]] || fail "state should still be 'checked', is '$(state_step "$M")'"
  no_loss
  recover
}

case_disk_full() {
  seed --random-payload --payload 400
  mount -t tmpfs -o size=128k ipo-mongo-test "$WORK_DIR"
  job_alerts dump
  grep -qi 'no space left' "$LAB/job.log" || fail "log does not mention the full disk"
  no_loss
  umount "$WORK_DIR"
  recover
}

case_sftp_refused() {
  seed
  ipo_mongo_lab_sshd_stop
  job_alerts upload
  [[ $(state_step "$M") == dumped ]] || fail "state should be 'dumped', is '$(state_step "$M")'"
  no_loss
  ipo_mongo_lab_sshd_start
  recover
}

case_sftp_dropped() {
  seed --random-payload --payload 2000
  SFTP_OPTS="-l 200" job_bg --month "$M"
  wait_until 60 part_has_bytes "$REMOTE_DIR/*.bson.gz.part"
  ipo_mongo_lab_sshd_stop
  local rc=0
  wait "$JOB_PID" || rc=$?
  job_reaped
  expect_alert "$rc" upload 0
  [[ -z $(compgen -G "$REMOTE_DIR/*.bson.gz") ]] || fail "a final archive name appeared after a dropped upload"
  no_loss
  ipo_mongo_lab_sshd_start
  recover
}

case_size_mismatch() {
  seed
  # An sftp whose uploads arrive 10 bytes short (it uploads a truncated copy).
  mkdir -p "$LAB/shim"
  cat >"$LAB/shim/sftp" <<'EOF'
#!/usr/bin/env bash
out=()
while IFS= read -r line; do
  if [[ $line =~ ^put\ ([^ ]+)\ (.*)$ ]]; then
    src=${BASH_REMATCH[1]}
    head -c -10 "$src" >"$src.short"
    line="put $src.short ${BASH_REMATCH[2]}"
  fi
  out+=("$line")
done
printf '%s\n' "${out[@]}" | /usr/bin/sftp "$@"
EOF
  chmod +x "$LAB/shim/sftp"
  local rc=0
  PATH=$LAB/shim:$PATH job --month "$M" || rc=$?
  expect_alert "$rc" upload 0
  grep -q 'remote size of .* is [0-9]*, local is' "$LAB/job.log" || fail "no size-mismatch message"
  [[ -z $(compgen -G "$REMOTE_DIR/*.bson.gz") ]] || fail "mismatched file was renamed into place"
  no_loss
  recover
}

case_webhook_down() {
  seed
  ipo_mongo_lab_hook_stop
  ipo_mongo_lab_ferretdb_stop
  local rc=0 t0=$SECONDS
  job --month "$M" || rc=$?
  ((rc == 1)) || fail "expected exit 1 with Mongo down and webhook down, got $rc"
  ((SECONDS - t0 < 60)) || fail "job took $((SECONDS - t0)) s with the webhook down"
  grep -q 'webhook: giving up after 2 attempts' "$LAB/job.log" || fail "no 'giving up' line for the webhook"
  ok "webhook down: job still exits 1 in $((SECONDS - t0)) s and logs the lost alert"
  ipo_mongo_lab_ferretdb_start
  ipo_mongo_lab_hook_start
  no_loss
  recover
}

case_kill9_delete() {
  seed
  DELETE_BATCH=100 DELETE_PAUSE=0.3 job_bg --month "$M"
  wait_until 120 jan_partly_deleted
  job_kill9
  [[ $(state_step "$M") == deleting ]] || fail "state should be 'deleting', is '$(state_step "$M")'"
  [[ $(hook_count) == 0 ]] || fail "webhook called although SIGKILL cannot be trapped"
  no_loss
  # Between the kill and --resume an app server inserts a January document whose ObjectId
  # sorts below every archived one: a re-query of "January" would delete it.
  td late --month "$M" --small-id >"$LAB/late.id"
  LATE_LEFT=1
  local left rc=0
  left=$(td count --month "$M")
  job --month "$M" || rc=$?
  ((rc == 2)) || fail "rerun without --resume should refuse with exit 2, got $rc"
  [[ $(td count --month "$M") == "$left" ]] || fail "refused rerun changed data"
  grep -q 'rerun with --resume' "$LAB/job.log" || fail "no hint to use --resume"
  ok "killed with $((left - 1)) of 1000 left; rerun without --resume refuses"
  recover
  td exists --id "$(cat "$LAB/late.id")" || fail "--resume deleted the late insert $(cat "$LAB/late.id"), which was never archived"
  ok "late insert with a smaller ObjectId between kill -9 and --resume survives"
  [[ $(grep -c 'dump: first batch received' "$LAB/job.log") == 1 ]] || fail "the month was dumped again on --resume"
  grep -q 'delete: resuming after [1-9][0-9]* archived _ids' "$LAB/job.log" || fail "--resume did not continue from the recorded batch"
  ok "--resume did not dump again; it continued the delete from the archive"
}

case_concurrent() {
  seed
  DELETE_BATCH=100 DELETE_PAUSE=0.3 job_bg --month "$M"
  wait_until 60 test -s "$WORK_DIR/test.user_logs.$M.$(hostname -s).state"
  local rc=0
  job --month "$M" || rc=$?
  ((rc == 75)) || fail "second concurrent run should exit 75, got $rc"
  grep -q 'another ipo-mongo-archive run holds' "$LAB/job.log" || fail "no lock message"
  ok "second concurrent run refused (exit 75)"
  rc=0
  wait "$JOB_PID" || rc=$?
  job_reaped
  ((rc == 0)) || fail "first run failed (exit $rc)"
  [[ $(hook_count) == 0 ]] || fail "webhook called"
  restore_compare "$M" "$LAB/jan.jsonl"
  [[ $(td count --month "$M") == 0 ]] || fail "January not purged"
  no_loss
}

case_bad_month() {
  seed
  local m rc next
  next=$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m)
  for m in 2024-13 2024-00 24-01 2024-1 "$(date -u +%Y-%m)" "$next"; do
    rc=0
    job --month "$m" || rc=$?
    ((rc == 2)) || fail "--month '$m' should exit 2, got $rc"
  done
  rc=0
  job --bogus || rc=$?
  ((rc == 2)) || fail "unknown option should exit 2, got $rc"
  grep -q "bad --month '2024-13': expected YYYY-MM" "$LAB/job.log" || fail "no clear message for 2024-13"
  grep -q "not finished yet" "$LAB/job.log" || fail "no clear message for the current month"
  [[ $(hook_count) == 0 ]] || fail "webhook called for a refused start"
  [[ -z $(ls "$REMOTE_DIR") ]] || fail "something was uploaded"
  ok "bad, current and future months refused with exit 2; nothing called"
  no_loss
}

case_bad_uri() {
  seed
  local rc=0 port
  MONGO_URI="http://127.0.0.1:1" job --month "$M" || rc=$?
  ((rc == 2)) || fail "malformed MONGO_URI should exit 2, got $rc"
  grep -q 'config MONGO_URI .*must start with mongodb://' "$LAB/job.log" || fail "no clear message for the bad URI"
  [[ $(hook_count) == 0 ]] || fail "webhook called for a malformed config"
  printf 'DELETE_BATCH=ten\n' >"$LAB/bad.env"
  rc=0
  (unset DELETE_BATCH && IPO_MONGO_ARCHIVE_ENV=$LAB/bad.env job --month "$M") || rc=$?
  ((rc == 2)) || fail "bad config value should exit 2, got $rc"
  grep -q "config DELETE_BATCH ($LAB/bad.env): must be a positive integer" "$LAB/job.log" || fail "no message naming the config file"
  printf 'just garbage\n' >"$LAB/bad2.env"
  rc=0
  IPO_MONGO_ARCHIVE_ENV=$LAB/bad2.env job --month "$M" || rc=$?
  ((rc == 2)) || fail "malformed config line should exit 2, got $rc"
  grep -q "$LAB/bad2.env:1: expected KEY=VALUE" "$LAB/job.log" || fail "no message naming file and line"
  ok "malformed URI / config refused with exit 2, no webhook"
  port=$(ipo_mongo_lab_free_port)
  rc=0
  MONGO_URI="mongodb://127.0.0.1:$port/?serverSelectionTimeoutMS=2000" MONGO_TIMEOUT_MS=2000 job --month "$M" || rc=$?
  expect_alert "$rc" check 0
  no_loss
}

case_bad_remote() {
  seed
  local v rc
  for v in 'a b' '../x' 'x/../../etc' 'x/*' '-x' 'x;rm' 'x"y' '.' 'a//b' "x
rm y"; do
    rc=0
    REMOTE_DIR=$v job --month "$M" || rc=$?
    ((rc == 2)) || fail "REMOTE_DIR='$v' should exit 2, got $rc"
  done
  grep -q "config REMOTE_DIR (.*): letters, digits" "$LAB/job.log" || fail "no message naming REMOTE_DIR"
  for v in '-o ProxyCommand=touch%x' '-l' '-S /bin/sh' '-o LocalCommand=id'; do
    rc=0
    SFTP_OPTS=$v job --month "$M" || rc=$?
    ((rc == 2)) || fail "SFTP_OPTS='$v' should exit 2, got $rc"
  done
  grep -q "config SFTP_OPTS (.*): allowed" "$LAB/job.log" || fail "no message naming SFTP_OPTS"
  for v in 'bak@bak;id' '-oProxyCommand=x' 'a b'; do
    rc=0
    SFTP_TARGET=$v job --month "$M" || rc=$?
    ((rc == 2)) || fail "SFTP_TARGET='$v' should exit 2, got $rc"
  done
  rc=0
  DATE_FIELD='create_on.$gt' job --month "$M" || rc=$?
  ((rc == 2)) || fail "DATE_FIELD with a dot/dollar should exit 2, got $rc"
  [[ $(hook_count) == 0 ]] || fail "webhook called for a refused config"
  [[ -z $(ls "$REMOTE_DIR") ]] || fail "something was uploaded"
  ok "REMOTE_DIR, SFTP_OPTS, SFTP_TARGET, DATE_FIELD injections refused with exit 2 before any connection"
  no_loss
}

# scan_cmdlines PATTERNFILE OUT: until killed, append to OUT every process command line
# that contains the secret in PATTERNFILE (read from the file, so not in its own argv).
scan_cmdlines() {
  exec "$PY" -c '
import glob, sys, time
pw = open(sys.argv[1], "rb").read().strip()
with open(sys.argv[2], "ab") as out:
    while True:
        for f in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                c = open(f, "rb").read()
            except OSError:
                continue
            if pw in c:
                out.write(f.encode() + b": " + c.replace(b"\0", b" ") + b"\n")
                out.flush()
        time.sleep(0.01)
' "$1" "$2"
}

case_secret_uri() {
  seed
  local pw=Pw-$RANDOM$RANDOM-x7 rc=0 scan hits=$LAB/cmdline.hits plain=$MONGO_URI
  printf '%s\n' "$pw" >"$LAB/pw.pattern"
  : >"$hits"
  # Production layout: the URI with its password only in a 0600 env file.
  printf 'MONGO_URI=mongodb://ipo:%s@127.0.0.1:%s/?authMechanism=PLAIN&serverSelectionTimeoutMS=5000\n' "$pw" "$MONGO_PORT" >"$LAB/cred.env"
  chmod 0644 "$LAB/cred.env"
  (unset MONGO_URI && IPO_MONGO_ARCHIVE_ENV=$LAB/cred.env job --month "$M") || rc=$?
  ((rc == 2)) || fail "a world-readable env file with a password should exit 2, got $rc"
  grep -q "config MONGO_URI ($LAB/cred.env): the file holds a password but is mode 644" "$LAB/job.log" || fail "no mode message"
  chmod 0600 "$LAB/cred.env"
  scan_cmdlines "$LAB/pw.pattern" "$hits" &
  scan=$!
  rc=0
  (unset MONGO_URI && IPO_MONGO_ARCHIVE_ENV=$LAB/cred.env DUMP_BATCH=100 DUMP_PAUSE=0.1 DELETE_BATCH=100 DELETE_PAUSE=0.1 \
    job --month "$M") || rc=$?
  ((rc == 0)) || { kill "$scan"; fail "archive run with a password URI failed (exit $rc)"; }
  # A failing run too (server gone): its error lines and webhook body must not carry it.
  ipo_mongo_lab_ferretdb_stop
  rc=0
  (unset MONGO_URI && IPO_MONGO_ARCHIVE_ENV=$LAB/cred.env job --month 2024-02) || rc=$?
  kill "$scan"
  wait "$scan" 2>/dev/null || true
  ipo_mongo_lab_ferretdb_start
  ((rc == 1)) && [[ $(hook_count) == 1 && $(hook_last_field step) == check ]] ||
    fail "the run with Mongo down should fail in check with one alert (exit $rc, $(hook_count) alerts)"
  [[ ! -s $hits ]] || fail "the password was on a command line while the job ran: $(head -c 300 "$hits")"
  ok "password in no process command line while the job ran (sampled /proc/*/cmdline)"
  grep -q 'mongodb://\*\*\*@127.0.0.1' "$LAB/job.log" || fail "the log does not show the redacted URI"
  if grep -rlF -f "$LAB/pw.pattern" "$LAB/job.log" "$LAB/job.out" "$HOOK_LOG" "$WORK_DIR" "$REMOTE_DIR"; then
    fail "the password appears in the files above"
  fi
  ok "password in no output, log, state, manifest, archive or webhook body (URI shown as mongodb://***@...)"
  MONGO_URI=$plain restore_compare "$M" "$LAB/jan.jsonl"
  [[ $(td count --month "$M") == 0 ]] || fail "January not purged"
  ok "the run with the password URI archived and purged January"
}

case_bson_dates() {
  seed
  # Five January documents whose create_on is a BSON Date: the string filter cannot see them.
  td seed --months "$M" --per-month 5 --dates --no-index --seed 7
  job_alerts check
  grep -q "check: 5 documents in or near $M have a create_on that is not a 'YYYY-MM-DD HH:MM:SS' string" "$LAB/job.log" ||
    fail "no refusal naming the 5 documents"
  [[ $(hook_last_field message) == *"5 documents in or near $M"* ]] || fail "webhook message does not name the count"
  [[ $(td count --month "$M") == 1000 && -z $(ls "$REMOTE_DIR") ]] || fail "something was deleted or uploaded"
  ok "a month with BSON Date create_on values is refused with an alert; nothing deleted"
  # A month with no string documents at all, but Dates in it: not "empty", a failure.
  td seed --months 2023-11 --per-month 3 --dates --no-index --seed 8
  local rc=0
  job --month 2023-11 || rc=$?
  ((rc == 1)) || fail "an 'empty' month with Date documents should fail, got $rc"
  [[ $(hook_count) == 2 ]] || fail "expected a second alert, got $(hook_count) in all"
  grep -q 'no documents of 2023-11' "$LAB/job.log" && fail "the month with only Dates was reported empty"
  ok "an apparently empty month with Date documents fails with an alert"
  no_loss
}

main() {
  cases_list_or_check "${1:-}"
  local c=$1
  lab_up
  "case_$c"
  echo "archive_faults $c: all checks passed"
}

main "$@"
