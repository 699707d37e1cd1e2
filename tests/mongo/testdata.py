#!/usr/bin/env python3
"""Test data for the ipo-mongo-archive tests: seed months, snapshot, late inserts, restore.

Owns the generated documents of test.user_logs (and the restore namespace) in the test
lab's FerretDB. Snapshots are files of canonical Extended JSON lines sorted by _id, so a
comparison is document by document.
REQUIRES: pymongo 4.x; a MongoDB-wire server at --uri.
"""

import argparse
import datetime
import gzip
import json
import os
import random
import sys

import pymongo
from bson import ObjectId, decode_file_iter, json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

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
            d = {"create_on": ts, "uid": rnd.randrange(10**6), "action": "login", "seq": i, "payload": payload}
            if args.dates:
                # create_on as a BSON Date instead of the string (what the job must refuse)
                d["create_on"] = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S")
            docs.append(d)
            if len(docs) == 5000:
                col.insert_many(docs, ordered=False)
                docs = []
        if docs:
            col.insert_many(docs, ordered=False)
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
    """Insert one document of --month now. With --small-id its ObjectId carries a time in
    --month (smaller than every seeded _id), as a late app-server insert can."""
    lo, _ = month_range(args.month)
    doc = {"create_on": args.create_on or lo[:8] + "15 12:00:00", "late": True}
    if args.small_id:
        doc["_id"] = ObjectId.from_datetime(datetime.datetime.strptime(lo, "%Y-%m-%d %H:%M:%S")
                                            + datetime.timedelta(days=3, seconds=random.randrange(86400)))
    r = db[args.collection].insert_one(doc)
    print(json_util.dumps(r.inserted_id))


def cmd_exists(args, db):
    """Exit 0 when the document with _id --id (relaxed EJSON) is in the collection."""
    return 0 if db[args.collection].count_documents({"_id": json_util.loads(args.id)}) == 1 else 1


def cmd_restore(args, db):
    """Insert the raw documents of a .bson.gz (what `mongorestore --gzip` inserts)."""
    opts = CodecOptions(document_class=RawBSONDocument)
    batch, n = [], 0
    with gzip.open(args.file, "rb") as f:
        for d in decode_file_iter(f, opts):
            batch.append(d)
            if len(batch) == 5000:
                db[args.collection].insert_many(batch)
                n += len(batch)
                batch = []
    if batch:
        db[args.collection].insert_many(batch)
        n += len(batch)
    print(n)


def cmd_metadata_check(args, _db):
    """Exit 0 when --file is mongodump metadata JSON of --collection with an index on create_on."""
    with gzip.open(args.file, "rt", encoding="utf-8") as f:
        meta = json_util.loads(f.read())
    names = [list(ix["key"].keys())[0] for ix in meta["indexes"]]
    ok = meta["collectionName"] == args.collection and meta["type"] == "collection" and "_id" in names \
        and "create_on" in names
    if not ok:
        print(json.dumps(json.loads(json_util.dumps(meta))), file=sys.stderr)
    return 0 if ok else 1


def cmd_drop(args, db):
    db[args.collection].drop()


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["seed", "snapshot", "count", "late", "drop", "exists", "restore",
                                   "metadata-check"])
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
    p.add_argument("--file", default="")
    p.add_argument("--id", default="")
    p.add_argument("--create-on", default="")
    p.add_argument("--small-id", action="store_true")
    p.add_argument("--dates", action="store_true")
    args = p.parse_args(argv)
    db = pymongo.MongoClient(args.uri, serverSelectionTimeoutMS=30000)[args.db]
    return globals()["cmd_" + args.cmd.replace("-", "_")](args, db) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
