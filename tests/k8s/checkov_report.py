#!/usr/bin/env python3
"""Reads a checkov JSON report (kubernetes framework) of the k8s suite and judges it.

Owns: the rule "0 failed checks in good/, every skip justified, and the deliberately
insecure render in bad/ caught". Files under good/ must have no failed check and every
skipped check must carry a justification (the chart's checkov.io/skipN annotation text);
files under bad/ must fail each check ID given with --expect-bad.

Usage: checkov_report.py REPORT.json --expect-bad CKV_K8S_20 [--expect-bad ...]
Thread safety: single-threaded script. REQUIRES: the report of `checkov -o json` (not --quiet).
"""

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--expect-bad", action="append", default=[])
    args = ap.parse_args()
    with open(args.report, encoding="utf-8") as f:
        data = json.load(f)
    reports = data if isinstance(data, list) else [data]
    results = {"passed_checks": [], "failed_checks": [], "skipped_checks": []}
    for rep in reports:
        for key in results:
            results[key] += rep.get("results", {}).get(key, [])
    errors = []

    def where(c):
        return f"{c['check_id']} on {c['resource']} ({c['file_path']})"

    good = {k: [c for c in v if "/good/" in c["file_path"]] for k, v in results.items()}
    bad_failed = {c["check_id"] for c in results["failed_checks"] if "/bad/" in c["file_path"]}
    for c in good["failed_checks"]:
        errors.append(f"failed: {where(c)}: {c['check_name']}")
    for c in good["skipped_checks"]:
        comment = ((c.get("check_result") or {}).get("suppress_comment") or "").strip()
        if len(comment) < 30:
            errors.append(f"skipped without a real justification: {where(c)}: {comment!r}")
    for cid in args.expect_bad:
        if cid not in bad_failed:
            errors.append(f"the insecure render was not flagged by {cid} (checkov is not checking)")
    if not good["passed_checks"]:
        errors.append("checkov passed no check at all on the charts")
    skipped = sorted({c["check_id"] for c in good["skipped_checks"]})
    print(f"checkov on the charts: {len(good['passed_checks'])} passed, {len(good['failed_checks'])} failed, "
          f"{len(good['skipped_checks'])} skipped with justification ({', '.join(skipped)})")
    print(f"checkov on the insecure render: flags {', '.join(sorted(bad_failed)) or 'nothing'}")
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
