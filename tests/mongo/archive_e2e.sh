#!/usr/bin/env bash
# End-to-end correctness of scripts/ipo-mongo-archive against the real lab (FerretDB,
# mongodump/mongorestore, OpenSSH sftp, webhook receiver), on loopback only:
#   - the month restored from the uploaded archive equals, document by document, what
#     was in the database before (and what was deleted); the manifest checksum holds;
#   - other months are untouched;
#   - a document with a last-month create_on inserted during the run (after the _id
#     freeze, before the dump) survives and is neither archived nor deleted;
#   - no webhook on success; a second run is a no-op; --dry-run changes nothing;
#   - --help prints the usage block.
set -Eeuo pipefail
# shellcheck source=tests/mongo/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

main() {
  lab_up
  td seed --per-month 2000 --months 2023-12,2024-01,2024-02,2024-03
  td snapshot --month 2024-01 --out "$LAB/jan.jsonl"
  td snapshot --month 2024-02 --out "$LAB/feb.jsonl"
  td snapshot --month 2024-03 --out "$LAB/mar.jsonl"
  td snapshot --month 2023-12 --out "$LAB/dec.jsonl"
  [[ $(wc -l <"$LAB/jan.jsonl") == 2000 ]] || fail "seed did not create 2000 January documents"

  "$ARCHIVE_BIN" --help | grep -q '^Usage: ipo-mongo-archive' || fail "--help does not print the usage"
  ok "--help"

  job --month 2024-01 --dry-run || fail "dry run failed"
  [[ $(td count --month 2024-01) == 2000 ]] || fail "dry run changed data"
  [[ -z $(ls "$REMOTE_DIR") ]] || fail "dry run uploaded something"
  grep -q 'dry-run: 2000 documents would be archived' "$LAB/job.log" || fail "dry run did not report the count"
  ok "dry run counts 2000 and changes nothing"

  # A mongodump wrapper that first inserts a late January document (after the freeze).
  cat >"$LAB/bin/mongodump-late" <<EOF
#!/usr/bin/env bash
"$PY" "$TESTDATA" late --uri "$MONGO_URI" --month 2024-01 >"$LAB/late.id"
exec mongodump "\$@"
EOF
  chmod +x "$LAB/bin/mongodump-late"
  MONGODUMP=$LAB/bin/mongodump-late job --month 2024-01 || fail "archive run failed (exit $?)"
  [[ -s $LAB/late.id ]] || fail "late insert did not happen"
  ok "archive run of 2024-01 exits 0"

  restore_compare 2024-01 "$LAB/jan.jsonl"
  ok "restored archive equals the 2000 January documents, document by document"
  grep -q '^documents=2000$' "$REMOTE_DIR"/test.user_logs.2024-01.*.manifest || fail "manifest does not say 2000 documents"
  [[ -z $(compgen -G "$REMOTE_DIR/*.part") ]] || fail "a .part file was left on the backup server"
  ok "manifest uploaded, checksum matches, no temporary file left"

  [[ $(td count --month 2024-01) == 1 ]] || fail "expected only the late document left in January, got $(td count --month 2024-01)"
  "$PY" - "$MONGO_URI" <<'EOF' || fail "the surviving January document is not the late one"
import sys, pymongo
d = list(pymongo.MongoClient(sys.argv[1]).test.user_logs.find({"create_on": {"$gte": "2024-01", "$lt": "2024-02"}}))
assert len(d) == 1 and d[0].get("late") is True, d
EOF
  ok "late insert during the run survives"

  for m in feb mar dec; do
    td snapshot --month "$(case $m in feb) echo 2024-02 ;; mar) echo 2024-03 ;; dec) echo 2023-12 ;; esac)" --out "$LAB/$m.after.jsonl"
    cmp -s "$LAB/$m.jsonl" "$LAB/$m.after.jsonl" || fail "month $m changed"
  done
  ok "other months untouched"

  [[ $(hook_count) == 0 ]] || fail "webhook called on success"
  [[ $(state_step 2024-01) == "done" ]] || fail "state is not done"
  [[ -z $(compgen -G "$WORK_DIR/*.archive.gz") ]] || fail "local archive kept although KEEP_LOCAL=0"
  grep -q 'delete: total deleted == archived == 2000' "$LAB/job.log" || fail "no deleted == archived line"
  ok "no webhook on success; state done; local archive removed"

  job --month 2024-01 || fail "second run failed"
  grep -q 'already archived and purged' "$LAB/job.log" || fail "second run did not report 'already done'"
  [[ $(td count --month 2024-01) == 1 ]] || fail "second run changed data"
  ok "second run of a finished month is a no-op"

  job --month 2024-02 || fail "archive run of 2024-02 failed"
  restore_compare 2024-02 "$LAB/feb.jsonl"
  [[ $(td count --month 2024-02) == 0 ]] || fail "February not purged"
  td snapshot --month 2024-03 --out "$LAB/mar.after.jsonl"
  cmp -s "$LAB/mar.jsonl" "$LAB/mar.after.jsonl" || fail "March changed by the February run"
  ok "2024-02 archived and purged; 2024-03 untouched"
  job --month 2023-11 || fail "run of an empty month failed"
  grep -q 'no documents of 2023-11; nothing to archive or delete' "$LAB/job.log" || fail "empty month not reported"
  [[ -z $(compgen -G "$REMOTE_DIR/test.user_logs.2023-11.*") ]] || fail "empty month uploaded something"
  ok "a month without documents is a no-op"
  echo "archive_e2e: all checks passed"
}

main "$@"
