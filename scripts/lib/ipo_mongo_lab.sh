# shellcheck shell=bash
# The ipo-mongo-archive lab, on loopback only: FerretDB (SQLite) as the MongoDB-wire
# server, an OpenSSH sshd as the backup server "bak.ipo.com" (own host key, config,
# authorized key and a client ssh_config passed with -F; root's ~/.ssh is never touched),
# and a Python webhook receiver that appends every POST body as one line to a file.
# scripts/mongo-lab drives it; tests/mongo and bench/mongo source it through
# tests/mongo/lab.sh.
#   ipo_mongo_lab_up      make the lab dir $LAB, start the three servers on free ports and
#                         export the job's configuration (MONGO_URI, SFTP_*, WEBHOOK_*, ...);
#                         $LAB/lab.env holds the same settings.
#   ipo_mongo_lab_down    stop the servers (by pid, from the shell or $LAB's pid files) and
#                         remove $LAB.
#   ipo_mongo_lab_status  print the servers' state and $LAB/lab.env; 1 when the lab is down.
# $LAB is $IPO_MONGO_LAB_DIR when set (scripts/mongo-lab: ${TMPDIR:-/tmp}/ipo-mongo-lab, so
# that `down` in another process finds it), else a new /tmp/ipo-mongo-lab.XXXXXX.
#
# REQUIRES: scripts/lib/ipo_common.sh sourced; root; scripts/bootstrap mongo (ferretdb in
# $IPO_TOOLS/bin, pymongo in $IPO_TOOLS/venv, openssh-server).

IPO_TOOLS=${IPO_TOOLS:-/opt/ipo-host}
PY=$IPO_TOOLS/venv/bin/python

# ipo_mongo_lab_free_port: print a free TCP port on 127.0.0.1.
ipo_mongo_lab_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ipo_mongo_lab_check: die unless root and the bootstrap installed the tools.
ipo_mongo_lab_check() {
  [[ $(id -u) -eq 0 ]] || ipo_die "the mongo lab needs root"
  [[ -x $IPO_TOOLS/bin/ferretdb ]] || ipo_die "missing $IPO_TOOLS/bin/ferretdb: run scripts/bootstrap mongo"
  [[ -x /usr/sbin/sshd && -x $PY ]] || ipo_die "missing sshd or $PY: run scripts/bootstrap mongo"
  "$PY" -c 'import pymongo' || ipo_die "pymongo missing in $PY: run scripts/bootstrap mongo"
}

# ipo_mongo_lab_pid_gone PID: 0 if PID no longer exists.
ipo_mongo_lab_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# ipo_mongo_lab_stop_pid VAR FILE SIGNAL: send SIGNAL to the pid in the variable named VAR
# (else the one in $LAB/FILE), reap it when it is our child, wait until it is gone; empty
# VAR and remove the file.
ipo_mongo_lab_stop_pid() {
  local -n _lab_pid=$1
  local file=${LAB:+$LAB/$2} sig=$3 pid=${_lab_pid:-}
  if [[ -n $file && -f $file ]]; then
    [[ -n $pid ]] || pid=$(<"$file")
    rm -f "$file"
  fi
  _lab_pid=
  [[ -n $pid ]] || return 0
  [[ $sig != KILL ]] || pkill -KILL -P "$pid" 2>/dev/null || true
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ipo_wait_for 10 ipo_mongo_lab_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
}

ipo_mongo_lab_up() {
  ipo_mongo_lab_check
  LAB=$(ipo_lab_dir "${IPO_MONGO_LAB_DIR:-}" .ipo-mongo-lab /tmp/ipo-mongo-lab.XXXXXX)
  mkdir -p "$LAB"/{fdb/data,fdb/state,ssh,remote,work,bin}
  MONGO_PORT=$(ipo_mongo_lab_free_port)
  SSH_PORT=$(ipo_mongo_lab_free_port)
  HOOK_PORT=$(ipo_mongo_lab_free_port)
  export MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=5000"
  export IPO_MONGO_ARCHIVE_ENV=$LAB/none.env
  export WORK_DIR=$LAB/work REMOTE_DIR=$LAB/remote SFTP_TARGET=bak.ipo.com
  export SFTP_SSH_CONFIG=$LAB/ssh/config WEBHOOK_URL=http://127.0.0.1:$HOOK_PORT/webhook/mongodb
  export WEBHOOK_RETRIES=2 WEBHOOK_TIMEOUT=3 PROGRESS_EVERY=1 DELETE_BATCH=500 DELETE_PAUSE=0
  export IPO_PYTHON=$PY ARCHIVE_TZ=UTC MONGO_TIMEOUT_MS=5000
  HOOK_LOG=$LAB/webhook.jsonl
  : >"$HOOK_LOG"
  local v
  for v in MONGO_URI IPO_MONGO_ARCHIVE_ENV WORK_DIR REMOTE_DIR SFTP_TARGET SFTP_SSH_CONFIG \
    WEBHOOK_URL WEBHOOK_RETRIES WEBHOOK_TIMEOUT PROGRESS_EVERY DELETE_BATCH DELETE_PAUSE \
    IPO_PYTHON ARCHIVE_TZ MONGO_TIMEOUT_MS HOOK_LOG; do
    printf '%s=%q\n' "$v" "${!v}"
  done >"$LAB/lab.env"
  ipo_mongo_lab_ferretdb_start
  ipo_mongo_lab_sshd_setup
  ipo_mongo_lab_sshd_start
  ipo_mongo_lab_hook_start
}

# ipo_mongo_lab_ping: 0 when the MongoDB-wire server at $MONGO_URI answers.
ipo_mongo_lab_ping() {
  "$PY" -c 'import sys, pymongo; pymongo.MongoClient(sys.argv[1]).admin.command("ping")' "$MONGO_URI"
}

ipo_mongo_lab_ferretdb_start() {
  setsid "$IPO_TOOLS/bin/ferretdb" --handler=sqlite --sqlite-url="file:$LAB/fdb/data/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$LAB/fdb/state" --telemetry=disable --debug-addr=- \
    --log-level=warn >>"$LAB/fdb/log" 2>&1 &
  MONGO_PID=$!
  echo "$MONGO_PID" >"$LAB/fdb/ferretdb.pid"
  ipo_wait_for 20 ipo_mongo_lab_ping || ipo_die "ferretdb did not start (see $LAB/fdb/log)"
}

ipo_mongo_lab_ferretdb_stop() { ipo_mongo_lab_stop_pid MONGO_PID fdb/ferretdb.pid TERM; }

ipo_mongo_lab_sshd_setup() {
  local s=$LAB/ssh
  ssh-keygen -q -t ed25519 -N '' -f "$s/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$s/id_ed25519"
  cp "$s/id_ed25519.pub" "$s/authorized_keys"
  chmod 600 "$s/authorized_keys"
  cat >"$s/sshd_config" <<EOF_SSHD
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
EOF_SSHD
  echo "bak.ipo.com $(cut -d' ' -f1,2 "$s/host_ed25519.pub")" >"$s/known_hosts"
  cat >"$s/config" <<EOF_SSH
Host bak.ipo.com
  HostName 127.0.0.1
  Port $SSH_PORT
  User $(id -un)
  IdentityFile $s/id_ed25519
  IdentitiesOnly yes
  HostKeyAlias bak.ipo.com
  UserKnownHostsFile $s/known_hosts
  StrictHostKeyChecking yes
EOF_SSH
  mkdir -p /run/sshd
}

ipo_mongo_lab_sshd_start() {
  setsid /usr/sbin/sshd -D -e -f "$LAB/ssh/sshd_config" >>"$LAB/ssh/log" 2>&1 &
  SSHD_PID=$!
  echo "$SSHD_PID" >"$LAB/ssh/lab-sshd.pid"
  ipo_wait_for 10 sftp -b /dev/null -F "$LAB/ssh/config" bak.ipo.com || ipo_die "sshd did not start (see $LAB/ssh/log)"
}

# ipo_mongo_lab_sshd_stop: the network cut: SIGKILL sshd and its connection children.
ipo_mongo_lab_sshd_stop() { ipo_mongo_lab_stop_pid SSHD_PID ssh/lab-sshd.pid KILL; }

ipo_mongo_lab_hook_start() {
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
  HOOK_PID=$!
  echo "$HOOK_PID" >"$LAB/hook.pid"
  ipo_wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$HOOK_PORT/" || ipo_die "webhook receiver did not start"
}

ipo_mongo_lab_hook_stop() { ipo_mongo_lab_stop_pid HOOK_PID hook.pid TERM; }

# ipo_mongo_lab_stop: stop the three servers; $LAB stays.
ipo_mongo_lab_stop() {
  if [[ -z ${LAB:-} && -n ${IPO_MONGO_LAB_DIR:-} && -f $IPO_MONGO_LAB_DIR/.ipo-mongo-lab ]]; then
    LAB=$IPO_MONGO_LAB_DIR
  fi
  ipo_mongo_lab_hook_stop
  ipo_mongo_lab_sshd_stop
  ipo_mongo_lab_ferretdb_stop
}

ipo_mongo_lab_down() {
  ipo_mongo_lab_stop
  if [[ -n ${LAB:-} && -d $LAB ]]; then
    if mountpoint -q "$LAB/work"; then umount "$LAB/work" || true; fi
    rm -rf "$LAB"
  fi
  LAB=
}

ipo_mongo_lab_status() {
  local lab=${LAB:-${IPO_MONGO_LAB_DIR:-}} name file pid rc=0
  if [[ -z $lab || ! -f $lab/lab.env ]]; then
    echo "down"
    return 1
  fi
  echo "lab dir: $lab"
  for name in ferretdb:fdb/ferretdb.pid sshd:ssh/lab-sshd.pid webhook:hook.pid; do
    file=$lab/${name#*:}
    pid=$(cat "$file" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      echo "${name%%:*}: pid $pid"
    else
      echo "${name%%:*}: DOWN"
      rc=1
    fi
  done
  cat "$lab/lab.env"
  return "$rc"
}
