# shellcheck shell=bash
# The ipo-mongo-archive test lab, on loopback only: FerretDB (SQLite) as the MongoDB-wire
# server, an OpenSSH sshd as the backup server "bak.ipo.com" (own host key, config,
# authorized key and a client ssh_config passed with -F; root's ~/.ssh is never touched),
# and a Python webhook receiver that appends every POST body as one line to a file.
# Source it from a test; call lab_up, and lab_down runs from the EXIT trap.
#
# REQUIRES: root; scripts/bootstrap mongo (ferretdb in $IPO_TOOLS/bin, pymongo in
# $IPO_TOOLS/venv, openssh-server). No MongoDB Database Tools: the job dumps with pymongo
# and the tests restore with testdata.py (the same raw documents mongorestore would insert).

IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IPO_TOOLS=${IPO_TOOLS:-/opt/ipo-host}
export PATH=$IPO_TOOLS/bin:$PATH
# shellcheck source=scripts/lib/ipo_common.sh
source "$IPO_SRC/scripts/lib/ipo_common.sh"
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
# shellcheck source=tests/lib/proc.sh
source "$IPO_SRC/tests/lib/proc.sh"
PY=$IPO_TOOLS/venv/bin/python
ARCHIVE_BIN=$IPO_SRC/scripts/ipo-mongo-archive
TESTDATA=$IPO_SRC/tests/mongo/testdata.py

# lab_free_port: print a free TCP port on 127.0.0.1.
lab_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# lab_need: skip (77) outside root only; fail when the bootstrap did not install the tools.
lab_need() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
  [[ -x $IPO_TOOLS/bin/ferretdb ]] || ipo_die "missing $IPO_TOOLS/bin/ferretdb: run scripts/bootstrap mongo"
  [[ -x /usr/sbin/sshd && -x $PY ]] || ipo_die "missing sshd or $PY: run scripts/bootstrap mongo"
  "$PY" -c 'import pymongo' || ipo_die "pymongo missing in $PY: run scripts/bootstrap mongo"
}

# lab_up: make LAB, start ferretdb + sshd + webhook receiver, export the job's config.
lab_up() {
  lab_need
  LAB=$(mktemp -d /tmp/ipo-mongo-lab.XXXXXX)
  trap lab_down EXIT
  mkdir -p "$LAB"/{fdb/data,fdb/state,ssh,remote,work,bin}
  MONGO_PORT=$(lab_free_port)
  SSH_PORT=$(lab_free_port)
  HOOK_PORT=$(lab_free_port)
  export MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=5000"
  export IPO_MONGO_ARCHIVE_ENV=$LAB/none.env
  export WORK_DIR=$LAB/work REMOTE_DIR=$LAB/remote SFTP_TARGET=bak.ipo.com
  export SFTP_SSH_CONFIG=$LAB/ssh/config WEBHOOK_URL=http://127.0.0.1:$HOOK_PORT/webhook/mongodb
  export WEBHOOK_RETRIES=2 WEBHOOK_TIMEOUT=3 PROGRESS_EVERY=1 DELETE_BATCH=500 DELETE_PAUSE=0
  export IPO_PYTHON=$PY ARCHIVE_TZ=UTC MONGO_TIMEOUT_MS=5000
  HOOK_LOG=$LAB/webhook.jsonl
  : >"$HOOK_LOG"
  lab_mongo_start
  lab_sshd_setup
  lab_sshd_start
  lab_hook_start
}

lab_mongo_start() {
  setsid "$IPO_TOOLS/bin/ferretdb" --handler=sqlite --sqlite-url="file:$LAB/fdb/data/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$LAB/fdb/state" --telemetry=disable --debug-addr=- \
    --log-level=warn >>"$LAB/fdb/log" 2>&1 &
  # shellcheck disable=SC2034 # stopped by name: stop_and_reap MONGO_PID
  MONGO_PID=$!
  ipo_wait_for 20 "$PY" "$TESTDATA" count --uri "$MONGO_URI" || ipo_die "ferretdb did not start (see $LAB/fdb/log)"
}

lab_mongo_stop() { stop_and_reap MONGO_PID; }

lab_sshd_setup() {
  local s=$LAB/ssh
  ssh-keygen -q -t ed25519 -N '' -f "$s/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$s/id_ed25519"
  cp "$s/id_ed25519.pub" "$s/authorized_keys"
  chmod 600 "$s/authorized_keys"
  cat >"$s/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $s/host_ed25519
PidFile $s/sshd.pid
AuthorizedKeysFile $s/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
  echo "bak.ipo.com $(cut -d' ' -f1,2 "$s/host_ed25519.pub")" >"$s/known_hosts"
  cat >"$s/config" <<EOF
Host bak.ipo.com
  HostName 127.0.0.1
  Port $SSH_PORT
  User $(id -un)
  IdentityFile $s/id_ed25519
  IdentitiesOnly yes
  HostKeyAlias bak.ipo.com
  UserKnownHostsFile $s/known_hosts
  StrictHostKeyChecking yes
EOF
  mkdir -p /run/sshd
}

lab_sshd_start() {
  setsid /usr/sbin/sshd -D -e -f "$LAB/ssh/sshd_config" >>"$LAB/ssh/log" 2>&1 &
  SSHD_PID=$!
  ipo_wait_for 10 sftp -b /dev/null -F "$LAB/ssh/config" bak.ipo.com || ipo_die "sshd did not start (see $LAB/ssh/log)"
}

# lab_sshd_stop: the network cut: SIGKILL sshd and its connection children.
lab_sshd_stop() {
  [[ -n ${SSHD_PID:-} ]] || return 0
  pkill -KILL -P "$SSHD_PID" 2>/dev/null || true
  kill -KILL "$SSHD_PID" 2>/dev/null || true
  wait "$SSHD_PID" 2>/dev/null || true
  SSHD_PID=
}

lab_hook_start() {
  setsid "$PY" -c '
import http.server, sys
log = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$HOOK_PORT" "$HOOK_LOG" >>"$LAB/hook.log" 2>&1 &
  # shellcheck disable=SC2034 # stopped by name: stop_and_reap HOOK_PID
  HOOK_PID=$!
  ipo_wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HOOK_PORT/" || ipo_die "webhook receiver did not start"
}

lab_hook_stop() { stop_and_reap HOOK_PID; }

lab_down() {
  local rc=$?
  # The job may be gone already; a failing kill must not end the cleanup (set -e).
  if [[ -n ${JOB_PGID:-} ]]; then kill -KILL -- "-$JOB_PGID" 2>/dev/null || true; fi
  lab_hook_stop
  lab_sshd_stop
  lab_mongo_stop
  if [[ -n ${LAB:-} && -d $LAB ]]; then
    if mountpoint -q "$LAB/work"; then umount "$LAB/work" || true; fi
    if ((rc != 0)); then
      echo "---- lab $LAB kept for inspection; last job log:" >&2
      tail -n 40 "$LAB/job.log" >&2 2>/dev/null || true
    fi
    ((rc == 0)) && rm -rf "$LAB"
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
