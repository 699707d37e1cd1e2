#!/usr/bin/env python3
"""MongoDB side of scripts/ipo-mongo-archive: check, dump, verify, delete, alert JSON.

Owns: the checks before a month is archived (reachable server, the DATE_FIELD index,
documents whose DATE_FIELD is not a 'YYYY-MM-DD HH:MM:SS' string), the dump of a month
into a `mongodump --gzip` single-collection file pair (DB.COLL...bson.gz: concatenated
raw BSON documents, gzip; ...metadata.json.gz: indexes and options in mongodump's
metadata JSON), reading that file back (verify), deleting exactly the `_id`s read from
it, and the alert JSON. One subcommand per step; results on stdout as key=value lines,
progress and errors on stderr; exit 0 success, 1 failure, 2 usage, 3 refused (nothing
changed).

The MongoDB URI comes from the environment (MONGO_URI), never from argv: argv is
readable by every local user in /proc/PID/cmdline. Every message this program prints
has the URI's userinfo (user:password@) redacted.

Thread safety: none needed; one process per step.
REQUIRES: Python >= 3.8 and pymongo 4.x for the subcommands that talk to the server or
read BSON (check, dump, verify, delete); `alert-json` and `redact` use the standard library.
"""

import argparse
import gzip
import json
import os
import re
import struct
import sys
import time
import urllib.parse

DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
USERINFO_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


class Refused(Exception):
    """A check failed before anything was changed (exit code 3)."""


def _secrets():
    """The password (raw and percent-decoded) of MONGO_URI, to scrub from messages."""
    uri = os.environ.get("MONGO_URI", "")
    m = re.match(r"^[a-z+]+://([^/@]*)@", uri)
    if not m or ":" not in m.group(1):
        return []
    pw = m.group(1).split(":", 1)[1]
    return [s for s in {pw, urllib.parse.unquote(pw)} if len(s) >= 3]


def redact(text):
    """Return text with URI userinfo and the MONGO_URI password replaced by '***'."""
    text = USERINFO_RE.sub(r"\1***@", text)
    for s in _secrets():
        text = text.replace(s, "***")
    return text


def log(msg):
    print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + " INFO  ipo_mongo_helper: " + redact(msg),
          file=sys.stderr, flush=True)


def client():
    import pymongo  # pylint: disable=import-outside-toplevel
    uri = os.environ.get("MONGO_URI")
    if not uri:
        raise Refused("MONGO_URI is not set in the environment")
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=int(os.environ.get("MONGO_TIMEOUT_MS", "10000")),
                               connectTimeoutMS=10000)


def coll(args):
    return client()[args.db][args.collection]


def month_filter(args):
    """DATE_FIELD in [start, end) as strings (BSON comparison never matches other types)."""
    return {args.field: {"$gte": args.start, "$lt": args.end}}


def date_index(c, field):
    """Name of the first index whose first key is `field`, or None."""
    for ix in c.list_indexes():
        keys = list(ix["key"].keys())
        if keys and keys[0] == field:
            return ix["name"]
    return None


def odd_filter(args):
    """Documents in or near the month whose DATE_FIELD cannot be compared as our string:
    BSON dates/timestamps within a day of the range (any time zone), numbers that read as
    epoch seconds or milliseconds of that span, and strings starting with the month's
    'YYYY-MM' that are not exactly 'YYYY-MM-DD HH:MM:SS'."""
    import datetime  # pylint: disable=import-outside-toplevel
    from bson.regex import Regex  # pylint: disable=import-outside-toplevel
    from bson.timestamp import Timestamp  # pylint: disable=import-outside-toplevel
    utc = datetime.timezone.utc
    lo = datetime.datetime.strptime(args.start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=utc) - datetime.timedelta(days=1)
    hi = datetime.datetime.strptime(args.end, "%Y-%m-%d %H:%M:%S").replace(tzinfo=utc) + datetime.timedelta(days=1)
    s, e = int(lo.timestamp()), int(hi.timestamp())
    f = args.field
    return {"$or": [
        {f: {"$gte": lo, "$lt": hi}},
        {f: {"$gte": Timestamp(s, 0), "$lt": Timestamp(e, 0)}},
        {f: {"$gte": s, "$lt": e}},
        {f: {"$gte": s * 1000, "$lt": e * 1000}},
        {f: {"$gte": args.start[:7], "$lt": args.end[:7], "$not": Regex(DATE_RE)}},
    ]}


def cmd_check(args):
    """Print index=<name>|none, count=N (documents of the month), odd=M (documents the
    month filter cannot see, see odd_filter) and, when M > 0, odd_example=<type of one>."""
    c = coll(args)
    c.database.client.admin.command("ping")
    print(f"index={date_index(c, args.field) or 'none'}")
    print(f"count={c.count_documents(month_filter(args))}")
    flt = odd_filter(args)
    odd = c.count_documents(flt)
    print(f"odd={odd}")
    if odd:
        d = c.find_one(flt, {args.field: 1})
        v = d.get(args.field) if d else None
        print(f"odd_example={type(v).__name__}:{str(v)[:40]}")


def metadata_json(c):
    """The collection's metadata in mongodump's .metadata.json form (canonical EJSON)."""
    from bson import json_util, SON  # pylint: disable=import-outside-toplevel
    options, uuid = {}, ""
    for info in c.database.list_collections(filter={"name": c.name}):
        options = info.get("options", {})
        ui = info.get("info", {}).get("uuid")
        if ui is not None:
            uuid = ui.hex if hasattr(ui, "hex") and not callable(ui.hex) else bytes(ui).hex()
    indexes = []
    for ix in c.list_indexes():
        ix = SON(ix)
        ix.pop("ns", None)
        indexes.append(ix)
    meta = SON([("indexes", indexes), ("uuid", uuid), ("collectionName", c.name), ("type", "collection")])
    if options:
        meta["options"] = options
    return json_util.dumps(meta, json_options=json_util.CANONICAL_JSON_OPTIONS)


def doc_lengths(buf):
    """Yield (offset, length) of each BSON document in a buffer of concatenated documents."""
    i, n = 0, len(buf)
    unpack = struct.unpack_from
    while i < n:
        if n - i < 5:
            raise ValueError(f"truncated BSON document at byte {i}")
        (ln,) = unpack("<i", buf, i)
        if ln < 5 or i + ln > n or buf[i + ln - 1] != 0:
            raise ValueError(f"bad BSON document length {ln} at byte {i}")
        yield i, ln
        i += ln


class Progress:
    """Logs 'LABEL: N documents, R docs/s' at most every `every` seconds."""

    def __init__(self, label, every):
        self.label, self.every = label, every
        self.start = self.last = time.monotonic()

    def tick(self, n, extra=""):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            log(f"{self.label}: {n} documents, {n / max(now - self.start, 1e-6):.0f} docs/s{extra}")

    def elapsed(self):
        return time.monotonic() - self.start


def cmd_dump(args):
    """Stream the month (sorted by _id, hinting the DATE_FIELD index) with find_raw_batches
    into --out (gzip of the concatenated raw BSON, no decode) and the metadata into --meta.
    Prints documents=N, raw_bytes=R, first_batch_s (until the server answered) and
    stream_s (from the first batch to the end: what the client side costs)."""
    c = coll(args)
    with gzip.open(args.meta, "wb", compresslevel=args.level) as m:
        m.write(metadata_json(c).encode())
    kw = {"sort": [("_id", 1)], "batch_size": args.batch, "allow_disk_use": True}
    ix = date_index(c, args.field)
    if ix:
        kw["hint"] = ix
    docs = raw = 0
    t_first = 0.0
    prog = Progress("dump", args.progress)
    with open(args.out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=args.level, mtime=0) as gz:
        cursor = c.find_raw_batches(month_filter(args), **kw)
        for i, batch in enumerate(cursor):
            n = sum(1 for _ in doc_lengths(batch))
            gz.write(batch)
            docs += n
            raw += len(batch)
            if i == 0:
                t_first = prog.elapsed()
                log(f"dump: first batch received ({n} documents)")
            prog.tick(docs, f", {raw / 1048576:.1f} MiB BSON, {f.tell() / 1048576:.1f} MiB gzip")
            if args.pause > 0:
                time.sleep(args.pause)
        cursor.close()
    log(f"dump: {docs} documents, {raw} bytes BSON in {prog.elapsed():.1f} s")
    print(f"documents={docs}")
    print(f"raw_bytes={raw}")
    print(f"first_batch_s={t_first:.2f}")
    print(f"stream_s={prog.elapsed() - t_first:.2f}")


def first_id(doc):
    """The _id of one raw BSON document (fast path: an ObjectId as first element)."""
    from bson import ObjectId  # pylint: disable=import-outside-toplevel
    from bson.raw_bson import RawBSONDocument  # pylint: disable=import-outside-toplevel
    if doc[4] == 0x07 and doc[5:9] == b"_id\0":
        return ObjectId(bytes(doc[9:21]))
    return RawBSONDocument(bytes(doc))["_id"]


def read_archive(path, chunk=1 << 20):
    """Yield each raw BSON document (memoryview) of a .bson.gz file; fail on truncation."""
    buf = b""
    with gzip.open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            buf = buf + data if buf else data
            i, n = 0, len(buf)
            mv = memoryview(buf)
            while n - i >= 4:
                (ln,) = struct.unpack_from("<i", buf, i)
                if ln < 5:
                    raise ValueError(f"{path}: bad BSON document length {ln}")
                if n - i < ln:
                    break
                if buf[i + ln - 1] != 0:
                    raise ValueError(f"{path}: BSON document does not end in NUL")
                yield mv[i:i + ln]
                i += ln
            mv.release()
            buf = buf[i:]
    if buf:
        raise ValueError(f"{path}: truncated: {len(buf)} trailing bytes are not a whole BSON document")


def cmd_verify(args):
    """Read the archive back: every document well framed, inside the month, no _id twice
    (the dump is sorted by _id, so a repeat would be adjacent). Prints documents=N,
    raw_bytes=R."""
    from bson.raw_bson import RawBSONDocument  # pylint: disable=import-outside-toplevel
    docs = raw = 0
    prev = None
    prog = Progress("verify", args.progress)
    for d in read_archive(args.file):
        _id = first_id(d)
        if prev is not None and _id == prev:
            raise ValueError(f"{args.file}: _id {_id} appears twice")
        prev = _id
        v = RawBSONDocument(bytes(d)).get(args.field)
        if not isinstance(v, str) or not args.start <= v < args.end:
            raise ValueError(f"{args.file}: document {_id} has {args.field}={v!r}, outside [{args.start}, {args.end})")
        docs += 1
        raw += len(d)
        prog.tick(docs)
    print(f"documents={docs}")
    print(f"raw_bytes={raw}")


def write_progress(path, done, deleted, absent):
    """Record that the first `done` archived _ids are gone (temp, fsync, rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"ipo-mongo-archive-delete 1\ndone={done}\ndeleted={deleted}\nabsent={absent}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_progress(path):
    if not os.path.exists(path):
        return 0, 0, 0
    with open(path, encoding="ascii") as f:
        lines = f.read().splitlines()
    if not lines or lines[0] != "ipo-mongo-archive-delete 1":
        raise ValueError(f"{path}:1: unknown delete progress version")
    kv = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    return int(kv["done"]), int(kv["deleted"]), int(kv["absent"])


def cmd_delete(args):
    """Delete exactly the _ids of the archive, --batch at a time:
    deleteMany({_id: {$in: batch}, DATE_FIELD: month}), pausing --pause s between.

    A batch must delete all its _ids. Fewer is accepted only with --resume and only when
    the missing ones are already gone (the batch an interrupted run was in); an archived
    _id still present (its DATE_FIELD no longer in the month) or one gone on a first run
    stops the delete (exit 1). Progress (archived _ids done, deleted, already gone) goes to
    --progress-file after every batch, so --resume skips that many _ids of the archive
    (whatever the batch size now); it re-reads the _ids from the archive, never from a
    query. Prints archived=N deleted=D absent=A.
    """
    c = coll(args)
    flt = month_filter(args)
    done, deleted, absent = read_progress(args.progress_file) if args.resume else (0, 0, 0)
    if done:
        log(f"delete: resuming after {done} archived _ids ({deleted} deleted, {absent} already gone)")
    archived = 0
    nbatch = 0
    prog = Progress("delete", args.progress)
    batch = []

    def flush():
        nonlocal deleted, absent, nbatch
        nbatch += 1
        res = c.delete_many(dict(flt, _id={"$in": batch}))
        n = res.deleted_count
        if n != len(batch):
            left = c.count_documents({"_id": {"$in": batch}})
            if left:
                raise RuntimeError(f"batch {nbatch}: {left} archived documents are still there but no longer match "
                                   f"{args.field} in [{args.start}, {args.end}); stopped after {deleted + n} deletes")
            if not args.resume:
                raise RuntimeError(f"batch {nbatch}: deleted {n} of {len(batch)} archived documents; the other "
                                   f"{len(batch) - n} were already gone (deleted by someone else)")
            absent += len(batch) - n
        deleted += n
        write_progress(args.progress_file, archived, deleted, absent)
        batch.clear()
        prog.tick(deleted)
        if args.pause > 0:
            time.sleep(args.pause)

    for d in read_archive(args.file):
        archived += 1
        if archived <= done:
            continue
        batch.append(first_id(d))
        if len(batch) >= args.batch:
            flush()
    if batch:
        flush()
    log(f"delete: {deleted} documents deleted in {prog.elapsed():.1f} s ({absent} already gone)")
    print(f"archived={archived} deleted={deleted} absent={absent}")


def cmd_alert_json(args):
    tail = ""
    if args.log and os.path.exists(args.log):
        with open(args.log, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        tail = "\n".join(lines[-args.tail:])
    print(redact(json.dumps({"job": args.job, "month": args.month, "step": args.step,
                             "exit_code": args.exit_code, "host": args.host, "message": args.message,
                             "log_tail": tail}, ensure_ascii=False)))


def cmd_redact(_args):
    """Copy stdin to stdout line by line with redact() applied (the job's log filter)."""
    for line in sys.stdin:
        sys.stdout.write(redact(line))
        sys.stdout.flush()



def main(argv):
    p = argparse.ArgumentParser(prog="ipo_mongo_helper.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    def db_cmd(name, fn, file_arg=False):
        s = sub.add_parser(name)
        if file_arg:
            s.add_argument("file")
        s.add_argument("--db", required=True)
        s.add_argument("--collection", required=True)
        s.add_argument("--field", default="create_on")
        s.add_argument("--start", required=True)
        s.add_argument("--end", required=True)
        s.add_argument("--batch", type=int, default=5000)
        s.add_argument("--pause", type=float, default=0.0)
        s.add_argument("--progress", type=float, default=5.0)
        s.set_defaults(fn=fn)
        return s

    db_cmd("check", cmd_check)
    s = db_cmd("dump", cmd_dump)
    s.add_argument("--out", required=True)
    s.add_argument("--meta", required=True)
    s.add_argument("--level", type=int, default=6)
    db_cmd("verify", cmd_verify, file_arg=True)
    s = db_cmd("delete", cmd_delete, file_arg=True)
    s.add_argument("--progress-file", required=True)
    s.add_argument("--resume", action="store_true")
    s = sub.add_parser("alert-json")
    for a in ("job", "month", "step", "host", "message", "log"):
        s.add_argument("--" + a, default="")
    s.add_argument("--exit-code", type=int, default=1)
    s.add_argument("--tail", type=int, default=40)
    s.set_defaults(fn=cmd_alert_json)
    s = sub.add_parser("redact")
    s.set_defaults(fn=cmd_redact)
    args = p.parse_args(argv)
    try:
        args.fn(args)
    except Refused as e:
        print(redact(f"ipo_mongo_helper {args.cmd}: {e}"), file=sys.stderr)
        return 3
    except Exception as e:  # pylint: disable=broad-except
        print(redact(f"ipo_mongo_helper {args.cmd}: {type(e).__name__}: {e}"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
