#!/usr/bin/env python3
"""Small MongoDB helper for scripts/ipo-mongo-archive: the steps mongodump cannot do.

Owns: pinging the server, finding the frozen `_id` bound, counting and deleting the
frozen set in bounded batches, counting the documents inside a mongodump
`--archive --gzip` file, and building the alert JSON. One subcommand per step; results
go to stdout, progress and errors to stderr; exit 0 on success, 1 on failure, 2 on usage, 3 when a
check refused before anything changed.

Thread safety: none needed; one process per step.
REQUIRES: Python >= 3.8. `pymongo` (4.x) only for the subcommands that talk to the
server (ping, index, id-max, query, count, delete, plan); `archive-count` and
`alert-json` use the standard library only.

The frozen set of a run is: DATE_FIELD >= start AND DATE_FIELD < end AND _id <= id_max,
where id_max is the largest `_id` of the collection when the run started. mongodump and
the delete use exactly this filter, so a document inserted during the run (even with a
last-month DATE_FIELD) gets a larger `_id` and is neither dumped nor deleted.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

ARCHIVE_MAGIC = 0x8199E26D
TERMINATOR = 0xFFFFFFFF


class Refused(Exception):
    """A check failed before anything was changed (exit code 3)."""


def log(msg):
    print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + " INFO  ipo_mongo_helper: " + msg,
          file=sys.stderr, flush=True)


def client(uri):
    import pymongo  # pylint: disable=import-outside-toplevel
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(os.environ.get("MONGO_TIMEOUT_MS", "10000")),
                               connectTimeoutMS=10000)


def coll(args):
    return client(args.uri)[args.db][args.collection]


def frozen_filter(args):
    from bson import json_util  # pylint: disable=import-outside-toplevel
    flt = {args.field: {"$gte": args.start, "$lt": args.end}}
    if args.id_max:
        flt["_id"] = {"$lte": json_util.loads(args.id_max)}
    return flt


def cmd_ping(args):
    client(args.uri).admin.command("ping")
    print("ok")


def cmd_index(args):
    """Print 'yes' when some index starts with DATE_FIELD, else 'no'."""
    for ix in coll(args).list_indexes():
        keys = list(ix["key"].keys())
        if keys and keys[0] == args.field:
            print("yes")
            return
    print("no")


def cmd_id_max(args):
    """Print the largest _id as relaxed Extended JSON, or 'none' for an empty collection."""
    from bson import json_util  # pylint: disable=import-outside-toplevel
    doc = coll(args).find_one({}, {"_id": 1}, sort=[("_id", -1)])
    if doc is None:
        print("none")
    else:
        print(json_util.dumps(doc["_id"], json_options=json_util.RELAXED_JSON_OPTIONS))


def cmd_query(args):
    """Print the frozen filter as relaxed Extended JSON v2 (mongodump --query)."""
    from bson import json_util  # pylint: disable=import-outside-toplevel
    print(json_util.dumps(frozen_filter(args), json_options=json_util.RELAXED_JSON_OPTIONS))


def cmd_plan(args):
    """One round trip for the start of a run: print key=value lines
    index=yes|no, id_max=<EJSON>|none (kept when --id-max is given), query=<EJSON>, count=N."""
    from bson import json_util  # pylint: disable=import-outside-toplevel
    c = coll(args)
    c.database.client.admin.command("ping")
    index = "no"
    for ix in c.list_indexes():
        keys = list(ix["key"].keys())
        if keys and keys[0] == args.field:
            index = "yes"
    print(f"index={index}")
    if not args.id_max:
        doc = c.find_one({}, {"_id": 1}, sort=[("_id", -1)])
        if doc is None:
            print("id_max=none")
            return
        args.id_max = json_util.dumps(doc["_id"], json_options=json_util.RELAXED_JSON_OPTIONS)
    print(f"id_max={args.id_max}")
    print("query=" + json_util.dumps(frozen_filter(args), json_options=json_util.RELAXED_JSON_OPTIONS))
    print(f"count={c.count_documents(frozen_filter(args))}")


def cmd_count(args):
    print(coll(args).count_documents(frozen_filter(args)))


def cmd_delete(args):
    """Delete the frozen set in batches of --batch documents, pausing --pause s between.

    One cursor walks the set in _id order; a batch is the next --batch documents, deleted
    with the frozen filter AND first <= _id <= last. Those documents are consecutive in
    _id order inside the set and nothing can join the set (new _ids are > id_max), so each
    batch deletes exactly the documents the cursor read: never one outside the set. On
    MongoDB every batch is a bounded index range scan. With --expect N it refuses to start
    unless the set has N documents. Prints "before=B deleted=D after=A".
    """
    c = coll(args)
    flt = frozen_filter(args)
    before = c.count_documents(flt)
    if args.expect >= 0 and before != args.expect:
        raise Refused(f"frozen set has {before} documents, expected {args.expect}; nothing deleted")
    deleted = 0
    started = last = time.monotonic()
    batch = []

    def flush():
        nonlocal deleted, last
        if not batch:
            return
        f = dict(flt)
        f["_id"] = {"$gte": batch[0], "$lte": batch[-1]}
        res = c.delete_many(f)
        if res.deleted_count != len(batch):
            raise RuntimeError(f"batch {batch[0]}..{batch[-1]}: deleted {res.deleted_count}, expected {len(batch)}")
        deleted += res.deleted_count
        batch.clear()
        now = time.monotonic()
        if now - last >= args.progress:
            last = now
            log(f"delete: {deleted} documents deleted, {deleted / max(now - started, 1e-6):.0f} docs/s")
        if args.pause > 0:
            time.sleep(args.pause)

    for doc in c.find(flt, {"_id": 1}, batch_size=max(args.batch, 100)).sort("_id", 1):
        batch.append(doc["_id"])
        if len(batch) >= args.batch:
            flush()
    flush()
    log(f"delete: {deleted} documents deleted in {time.monotonic() - started:.1f} s")
    print(f"before={before} deleted={deleted} after={c.count_documents(flt)}")


def read_exact(f, n):
    buf = f.read(n)
    if len(buf) != n:
        raise ValueError(f"archive truncated: wanted {n} bytes, got {len(buf)}")
    return buf


def bson_str_field(doc, name):
    """Return the string value of top-level field `name` in raw BSON `doc`, or None."""
    i, end = 4, len(doc) - 1
    key = name.encode()
    while i < end:
        t = doc[i]
        j = doc.index(b"\0", i + 1)
        k = doc[i + 1:j]
        i = j + 1
        if t == 0x02:  # string
            (n,) = struct.unpack_from("<i", doc, i)
            if k == key:
                return doc[i + 4:i + 4 + n - 1].decode()
            i += 4 + n
        elif t == 0x08:  # bool
            if k == key:
                return "true" if doc[i] else "false"
            i += 1
        elif t in (0x10,):
            i += 4
        elif t in (0x12, 0x11, 0x09, 0x01):
            i += 8
        elif t in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", doc, i)
            i += n
        else:
            return None
    return None


def cmd_archive_count(args):
    """Count documents per namespace in a mongodump --archive --gzip file; print db.coll's.

    Format (mongo-tools common/archive): magic, header doc, prelude docs + terminator,
    then blocks: namespace header doc {db, collection, EOF, CRC}, body docs, terminator;
    an EOF header is followed by a terminator only.
    Fails when the file is truncated or the collection's EOF block is missing.
    """
    counts, eof = {}, set()
    with open(args.file, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    with (gzip.open if gzipped else open)(args.file, "rb") as f:
        (magic,) = struct.unpack("<I", read_exact(f, 4))
        if magic != ARCHIVE_MAGIC:
            raise ValueError(f"{args.file}: not a mongodump archive (magic {magic:#x})")

        def next_doc():
            head = f.read(4)
            if not head:
                return None
            if len(head) != 4:
                raise ValueError("archive truncated inside a length")
            (n,) = struct.unpack("<I", head)
            if n == TERMINATOR:
                return b""
            return head + read_exact(f, n - 4)

        if not next_doc():  # header
            raise ValueError("archive has no header")
        while True:  # prelude (collection metadata) up to its terminator
            d = next_doc()
            if d is None:
                raise ValueError("archive truncated in prelude")
            if d == b"":
                break
        while True:
            hdr = next_doc()
            if hdr is None:
                break
            if hdr == b"":
                raise ValueError("unexpected terminator where a namespace header belongs")
            ns = f"{bson_str_field(hdr, 'db')}.{bson_str_field(hdr, 'collection')}"
            if bson_str_field(hdr, "EOF") == "true":
                if next_doc() != b"":
                    raise ValueError(f"archive: no terminator after the end block of {ns}")
                eof.add(ns)
                continue
            n = 0
            while True:
                d = next_doc()
                if d is None:
                    raise ValueError(f"archive truncated in body of {ns}")
                if d == b"":
                    break
                n += 1
            counts[ns] = counts.get(ns, 0) + n
    want = f"{args.db}.{args.collection}"
    if want not in eof:
        raise ValueError(f"archive has no end-of-collection block for {want}")
    print(counts.get(want, 0))


def cmd_alert_json(args):
    tail = ""
    if args.log and os.path.exists(args.log):
        with open(args.log, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        tail = "\n".join(lines[-args.tail:])
    print(json.dumps({"job": args.job, "month": args.month, "step": args.step,
                      "exit_code": args.exit_code, "host": args.host, "message": args.message,
                      "log_tail": tail}, ensure_ascii=False))


def main(argv):
    p = argparse.ArgumentParser(prog="ipo_mongo_helper.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    def db_cmd(name, fn):
        s = sub.add_parser(name)
        s.add_argument("--uri", required=True)
        s.add_argument("--db", required=True)
        s.add_argument("--collection", required=True)
        s.add_argument("--field", default="create_on")
        s.add_argument("--start", default="")
        s.add_argument("--end", default="")
        s.add_argument("--id-max", default="")
        s.add_argument("--batch", type=int, default=5000)
        s.add_argument("--pause", type=float, default=0.0)
        s.add_argument("--progress", type=float, default=5.0)
        s.add_argument("--expect", type=int, default=-1)
        s.set_defaults(fn=fn)

    for name, fn in (("ping", cmd_ping), ("index", cmd_index), ("id-max", cmd_id_max),
                     ("query", cmd_query), ("count", cmd_count), ("delete", cmd_delete),
                     ("plan", cmd_plan)):
        db_cmd(name, fn)
    s = sub.add_parser("archive-count")
    s.add_argument("file")
    s.add_argument("--db", required=True)
    s.add_argument("--collection", required=True)
    s.set_defaults(fn=cmd_archive_count)
    s = sub.add_parser("alert-json")
    for a in ("job", "month", "step", "host", "message", "log"):
        s.add_argument("--" + a, default="")
    s.add_argument("--exit-code", type=int, default=1)
    s.add_argument("--tail", type=int, default=40)
    s.set_defaults(fn=cmd_alert_json)
    args = p.parse_args(argv)
    try:
        args.fn(args)
    except Refused as e:
        print(f"ipo_mongo_helper {args.cmd}: {e}", file=sys.stderr)
        return 3
    except Exception as e:  # pylint: disable=broad-except
        print(f"ipo_mongo_helper {args.cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
