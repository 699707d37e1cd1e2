# shellcheck shell=bash
# The ipo-mongo-archive lab for the tests in this folder and bench/mongo. The lab itself
# (FerretDB, sshd as "bak.ipo.com", webhook receiver; all on loopback) is
# scripts/lib/ipo_mongo_lab.sh, see its header; this file adds the test side: lab_up
# (skip with 77 outside root, ipo_mongo_lab_up in a new /tmp/ipo-mongo-lab.XXXXXX, lab_down
# as the EXIT trap), lab_down (also kills a background job; keeps the lab dir when the test
# failed) and the helpers below (td, job*, hook_*, state_step, restore_*).
#
# REQUIRES: root; scripts/bootstrap mongo (ferretdb in $IPO_TOOLS/bin, pymongo in
# $IPO_TOOLS/venv, openssh-server). No MongoDB Database Tools: the job dumps with pymongo
# and the tests restore with testdata.py (the same raw documents mongorestore would insert).

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IPO_TOOLS=${IPO_TOOLS:-/opt/ipo-host}
export PATH=$IPO_TOOLS/bin:$PATH
# shellcheck source=scripts/lib/ipo_common.sh
source "$IPO_SRC/scripts/lib/ipo_common.sh"
# shellcheck source=scripts/lib/ipo_mongo_lab.sh
source "$IPO_SRC/scripts/lib/ipo_mongo_lab.sh"
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
ARCHIVE_BIN=$IPO_SRC/scripts/ipo-mongo-archive
TESTDATA=$IPO_SRC/tests/mongo/testdata.py

# lab_up: skip (77) outside root only; else bring the lab up with lab_down as the EXIT trap.
lab_up() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
  ipo_mongo_lab_check
  trap lab_down EXIT
  IPO_MONGO_LAB_DIR='' ipo_mongo_lab_up
}

lab_down() {
  local rc=$?
  # The job may be gone already; a failing kill must not end the cleanup (set -e).
  if [[ -n ${JOB_PGID:-} ]]; then kill -KILL -- "-$JOB_PGID" 2>/dev/null || true; fi
  ipo_mongo_lab_stop
  if [[ -n ${LAB:-} && -d $LAB ]]; then
    if mountpoint -q "$LAB/work"; then umount "$LAB/work" || true; fi
    if ((rc != 0)); then
      echo "---- lab $LAB kept for inspection; last job log:" >&2
      tail -n 40 "$LAB/job.log" >&2 2>/dev/null || true
    fi
    ((rc == 0)) && ipo_mongo_lab_down
  fi
  return "$rc"
}

# td CMD [ARGS...]: run testdata.py against the lab.
td() { "$PY" "$TESTDATA" "$1" --uri "$MONGO_URI" "${@:2}"; }

# job [ARGS...]: run the archive job, its stderr to $LAB/job.log; return its exit code.
job() {
  local rc=0
  "$ARCHIVE_BIN" "$@" >>"$LAB/job.out" 2>>"$LAB/job.log" || rc=$?
  return "$rc"
}

# job_bg [ARGS...]: start the job in its own process group; sets JOB_PID (= its PGID).
job_bg() {
  setsid "$ARCHIVE_BIN" "$@" >>"$LAB/job.out" 2>>"$LAB/job.log" &
  JOB_PID=$!
  JOB_PGID=$JOB_PID
}

# job_kill9: SIGKILL the whole job (script, helper, sftp) at once.
job_kill9() {
  kill -KILL -- "-$JOB_PGID" 2>/dev/null || true
  wait "$JOB_PID" 2>/dev/null || true
  JOB_PGID=
}

# job_reaped: the background job was waited for; lab_down need not kill it.
job_reaped() { JOB_PGID=; }

hook_count() { wc -l <"$HOOK_LOG"; }

# hook_last_field KEY: value of KEY in the last webhook body.
hook_last_field() { tail -n1 "$HOOK_LOG" | "$PY" -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

# state_step MONTH: the step recorded in the month's state file ('' when none).
state_step() { sed -n 's/^step=//p' "$WORK_DIR"/test.user_logs."$1".*.state 2>/dev/null; }

# remote_archive MONTH: print the uploaded .bson.gz of MONTH; 1 when there is none.
remote_archive() { compgen -G "$REMOTE_DIR/test.user_logs.$1.*.bson.gz"; }

# restore_archive FILE: restore FILE (a .bson.gz) into restore.user_logs, replacing it.
restore_archive() {
  td drop --db restore
  td restore --db restore --file "$1" >>"$LAB/restore.log" 2>&1 || fail "restore of $1 failed"
}

# restore_compare MONTH SNAPSHOT: check the uploaded files of MONTH (manifest checksums,
# metadata JSON), restore the archive into restore.user_logs and check it equals SNAPSHOT
# document by document.
restore_compare() {
  local month=$1 snap=$2 file base
  file=$(remote_archive "$month") || fail "no remote archive for $month"
  base=${file%.bson.gz}
  (cd "$REMOTE_DIR" && sha256sum --quiet -c <(echo "$(sed -n 's/^sha256=//p' "$base.manifest")  ${file##*/}")) ||
    fail "remote archive sha256 differs from its manifest"
  (cd "$REMOTE_DIR" && sha256sum --quiet -c <(echo "$(sed -n 's/^sha256_metadata=//p' "$base.manifest")  ${base##*/}.metadata.json.gz")) ||
    fail "remote metadata sha256 differs from its manifest"
  td metadata-check --file "$base.metadata.json.gz" || fail "$base.metadata.json.gz is not mongodump metadata for user_logs"
  restore_archive "$file"
  td snapshot --db restore --out "$LAB/restored.jsonl"
  cmp -s "$snap" "$LAB/restored.jsonl" || fail "restored $month differs from what was there before ($(wc -l <"$snap") vs $(wc -l <"$LAB/restored.jsonl") documents)"
}

ok() { echo "ok - $*"; }
