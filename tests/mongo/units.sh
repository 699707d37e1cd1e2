#!/usr/bin/env bash
# Static checks of the schedule: systemd/ipo-mongo-archive.{service,timer} parse, fire at
# 01:00 on the 1st in Asia/Shanghai (next elapse computed by systemd-analyze, compared
# with GNU date), are persistent with no random delay; the documented cron line is
# `0 1 1 * *`; the script and its helpers are shellcheck clean.
set -Eeuo pipefail
IPO_SRC=${IPO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=tests/lib/assert.sh
source "$IPO_SRC/tests/lib/assert.sh"
ok() { echo "ok - $*"; }

timer=$IPO_SRC/systemd/ipo-mongo-archive.timer
service=$IPO_SRC/systemd/ipo-mongo-archive.service
grep -qx 'OnCalendar=\*-\*-01 01:00:00 Asia/Shanghai' "$timer" || fail "timer OnCalendar is not '*-*-01 01:00:00 Asia/Shanghai'"
grep -qx 'Persistent=true' "$timer" || fail "timer is not Persistent=true"
grep -qx 'RandomizedDelaySec=0' "$timer" || fail "timer has a random delay"
grep -qx 'Type=oneshot' "$service" || fail "service is not oneshot"
grep -qx 'ExecStart=/opt/ipo-host/scripts/ipo-mongo-archive' "$service" || fail "service ExecStart changed"
ok "unit keys"

if command -v systemd-analyze >/dev/null; then
  next=$(systemd-analyze calendar --iterations=2 '*-*-01 01:00:00 Asia/Shanghai' | sed -n 's/.*Next elapse: \(.*\) UTC$/\1/p;s/.*Iter. #2: \(.*\) UTC$/\1/p')
  [[ -n $next ]] || fail "systemd-analyze gave no next elapse"
  while read -r line; do
    [[ -z $line ]] && continue
    local_time=$(TZ=Asia/Shanghai date -d "$line UTC" '+%d %H:%M:%S')
    [[ $local_time == "01 01:00:00" ]] || fail "timer elapses at $line UTC = $local_time Asia/Shanghai, not day 01 01:00:00"
  done <<<"$next"
  ok "next elapses are 01:00:00 on the 1st, Asia/Shanghai"
fi
grep -q '^#   0 1 1 \* \* root /opt/ipo-host/scripts/ipo-mongo-archive' "$timer" || fail "cron equivalent not documented in the timer"
ok "cron line documented"
shellcheck -S warning "$IPO_SRC/scripts/ipo-mongo-archive" "$IPO_SRC/scripts/bootstrap.d/20-mongo.sh" \
  "$IPO_SRC"/tests/mongo/*.sh "$IPO_SRC"/bench/mongo/run || fail "shellcheck"
ok "shellcheck clean"
python3 -m py_compile "$IPO_SRC/scripts/lib/ipo_mongo_helper.py" "$IPO_SRC/tests/mongo/testdata.py" || fail "python syntax"
ok "python helpers compile"
