#!/usr/bin/env python3
"""Test data for the ipo-mongo-archive tests: seed months, snapshot, compare, late inserts.

Owns the generated documents of test.user_logs (and the restore namespace) in the test
lab's FerretDB. Snapshots are files of canonical Extended JSON lines sorted by _id, so a
comparison is document by document.
REQUIRES: pymongo 4.x; a MongoDB-wire server at --uri.
"""

import argparse
import os
import random
import sys

import pymongo
from bson import json_util

CANON = json_util.CANONICAL_JSON_OPTIONS


def month_range(m):
    y, mo = int(m[:4]), int(m[5:7])
    ny, nm = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return f"{m}-01 00:00:00", f"{ny:04d}-{nm:02d}-01 00:00:00"


def cmd_seed(args, db):
    col = db[args.collection]
    rnd = random.Random(args.seed)
    for m in args.months.split(","):
        docs = []
        for i in range(args.per_month):
            day = 1 + (i % 28)
            # first and last second of the month are included on purpose (range edges)
            if i == 0:
                ts = f"{m}-01 00:00:00"
            elif i == 1:
                ts = f"{m}-28 23:59:59"
            else:
                ts = f"{m}-{day:02d} {rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}"
            payload = rnd.randbytes(args.payload // 2).hex() if args.random_payload else "x" * args.payload
            docs.append({"create_on": ts, "uid": rnd.randrange(10**6), "action": "login", "seq": i,
                         "payload": payload})
        for k in range(0, len(docs), 5000):
            col.insert_many(docs[k:k + 5000], ordered=False)
    if not args.no_index:
        col.create_index("create_on")


def filt(args):
    if not args.month:
        return {}
    lo, hi = month_range(args.month)
    return {"create_on": {"$gte": lo, "$lt": hi}}


def cmd_snapshot(args, db):
    with open(args.out, "w", encoding="utf-8") as f:
        for d in db[args.collection].find(filt(args)).sort("_id", 1):
            f.write(json_util.dumps(d, json_options=CANON, sort_keys=True) + "\n")


def cmd_count(args, db):
    print(db[args.collection].count_documents(filt(args)))


def cmd_late(args, db):
    """Insert one document of --month now (it gets a fresh, larger _id)."""
    lo, _ = month_range(args.month)
    r = db[args.collection].insert_one({"create_on": lo[:8] + "15 12:00:00", "late": True})
    print(json_util.dumps(r.inserted_id))


def cmd_drop(args, db):
    db[args.collection].drop()


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["seed", "snapshot", "count", "late", "drop"])
    p.add_argument("--uri", default=os.environ.get("MONGO_URI"))
    p.add_argument("--db", default="test")
    p.add_argument("--collection", default="user_logs")
    p.add_argument("--months", default="2024-01,2024-02,2024-03")
    p.add_argument("--month", default="")
    p.add_argument("--per-month", type=int, default=3000)
    p.add_argument("--payload", type=int, default=150)
    p.add_argument("--random-payload", action="store_true")
    p.add_argument("--no-index", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    db = pymongo.MongoClient(args.uri, serverSelectionTimeoutMS=10000)[args.db]
    globals()["cmd_" + args.cmd](args, db)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
