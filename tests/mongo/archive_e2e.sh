#!/usr/bin/env bash
# End-to-end correctness of scripts/ipo-mongo-archive against the real lab (FerretDB,
# pymongo, OpenSSH sftp, webhook receiver), on loopback only:
#   - the month restored from the uploaded .bson.gz equals, document by document, what
#     was in the database before (and what was deleted); manifest checksums hold; the
#     metadata file is mongodump's metadata JSON with the create_on index;
#   - boundary documents: January's last second (…-31 23:59:59) is archived; February's
#     first second and December's last second are untouched; other months untouched;
#   - a document with a January create_on and a *smaller* ObjectId inserted during the
#     dump (after its first batch) survives: it is not in the archive, so not deleted;
#   - no webhook on success; a second run is a no-op; --dry-run changes nothing; an empty
#     month succeeds and says so; --help prints the usage block.
set -Eeuo pipefail
# shellcheck source=tests/mongo/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

main() {
  lab_up
  td seed --per-month 2000 --months 2023-12,2024-01,2024-02,2024-03
  td late --month 2024-01 --create-on '2024-01-31 23:59:59' >"$LAB/edge-jan.id"
  td late --month 2023-12 --create-on '2023-12-31 23:59:59' >"$LAB/edge-dec.id"
  td late --month 2024-02 --create-on '2024-02-01 00:00:00' >"$LAB/edge-feb.id"
  td snapshot --month 2024-01 --out "$LAB/jan.jsonl"
  td snapshot --month 2024-02 --out "$LAB/feb.jsonl"
  td snapshot --month 2024-03 --out "$LAB/mar.jsonl"
  td snapshot --month 2023-12 --out "$LAB/dec.jsonl"
  [[ $(wc -l <"$LAB/jan.jsonl") == 2001 ]] || fail "seed did not create 2001 January documents"
  grep -q '"2024-01-31 23:59:59"' "$LAB/jan.jsonl" || fail "January's last second is not in the January snapshot"

  "$ARCHIVE_BIN" --help | grep -q '^Usage: ipo-mongo-archive' || fail "--help does not print the usage"
  ok "--help"

  job --month 2024-01 --dry-run || fail "dry run failed"
  [[ $(td count --month 2024-01) == 2001 ]] || fail "dry run changed data"
  [[ -z $(ls "$REMOTE_DIR") ]] || fail "dry run uploaded something"
  grep -q 'dry-run: 2001 documents would be archived' "$LAB/job.log" || fail "dry run did not report the count"
  ok "dry run counts 2001 and changes nothing"

  # A slow dump (small batches, pauses) so a late insert lands after its first batch.
  DUMP_BATCH=200 DUMP_PAUSE=0.3 job_bg --month 2024-01
  ipo_wait_for 60 grep -q 'dump: first batch received' "$LAB/job.log" || fail "the dump never received its first batch"
  grep -q 'verify: ' "$LAB/job.log" && fail "the dump finished before the late insert; the test proves nothing"
  td late --month 2024-01 --small-id >"$LAB/late.id"
  local rc=0
  wait "$JOB_PID" || rc=$?
  job_reaped
  ((rc == 0)) || fail "archive run failed (exit $rc)"
  ok "archive run of 2024-01 exits 0"

  restore_compare 2024-01 "$LAB/jan.jsonl"
  ok "restored archive equals the 2001 January documents (with …-31 23:59:59), document by document"
  grep -q '^documents=2001$' "$REMOTE_DIR"/test.user_logs.2024-01.*.manifest || fail "manifest does not say 2001 documents"
  [[ -z $(compgen -G "$REMOTE_DIR/*.part") ]] || fail "a .part file was left on the backup server"
  ok "manifest and metadata uploaded, checksums match, no temporary file left"

  [[ $(td count --month 2024-01) == 1 ]] || fail "expected only the late document left in January, got $(td count --month 2024-01)"
  td exists --id "$(cat "$LAB/late.id")" || fail "the late insert with a smaller ObjectId was deleted"
  ok "late insert during the dump (ObjectId $(cat "$LAB/late.id") below every archived one) survives"

  td exists --id "$(cat "$LAB/edge-feb.id")" || fail "2024-02-01 00:00:00 was deleted"
  td exists --id "$(cat "$LAB/edge-dec.id")" || fail "2023-12-31 23:59:59 was deleted"
  td exists --id "$(cat "$LAB/edge-jan.id")" && fail "2024-01-31 23:59:59 was not deleted"
  local m
  for m in 2024-02 2024-03 2023-12; do
    td snapshot --month "$m" --out "$LAB/after.jsonl"
    cmp -s "$LAB/$(case $m in 2024-02) echo feb ;; 2024-03) echo mar ;; *) echo dec ;; esac).jsonl" "$LAB/after.jsonl" ||
      fail "month $m changed"
  done
  ok "boundaries: …-01-31 23:59:59 archived; 2024-02-01 00:00:00 and 2023-12-31 23:59:59 untouched; other months untouched"

  [[ $(hook_count) == 0 ]] || fail "webhook called on success"
  [[ $(state_step 2024-01) == "done" ]] || fail "state is not done"
  [[ -z $(compgen -G "$WORK_DIR/*.bson.gz") ]] || fail "local archive kept although KEEP_LOCAL=0"
  grep -q 'delete: total deleted == archived == 2001' "$LAB/job.log" || fail "no deleted == archived line"
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
  ok "a month without documents succeeds and says so"
  echo "archive_e2e: all checks passed"
}

main "$@"
