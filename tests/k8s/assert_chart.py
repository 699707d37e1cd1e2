#!/usr/bin/env python3
"""Asserts every requirement of question 四 on the objects rendered by `helm template`.

Owns: the requirement checks of the ipo-app chart (k8s/charts/ipo-app) and of the storage
chart it depends on (k8s/charts/local-path-storage), and the NetworkPolicy truth table
computed from the rendered policies with netpol.py. With --mutations it also proves that
the checks can fail: it breaks the rendered objects one requirement at a time and expects
the matching check to report it.

Usage: assert_chart.py APP.yaml [--storage STORAGE.yaml] [--mutations]
Prints one line per check and a closing "N passed, N failed"; exit 1 if any failed.

The checks live beside this file, one concern each: chart_model.py (the rendered objects),
chart_tiers.py (frontend, backend, database), chart_network.py (NetworkPolicies),
chart_cluster.py (storage chart, references), chart_checks.py (the list of checks) and
chart_mutations.py.

Thread safety: single-threaded script. REQUIRES: PyYAML, openssl on PATH (certificate checks).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chart_model import Manifest, load  # noqa: E402
from chart_network import check_network_truth_table  # noqa: E402
from chart_checks import run_checks  # noqa: E402
from chart_mutations import MUTATIONS, run_mutations  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("app", help="output of helm template for k8s/charts/ipo-app")
    ap.add_argument("--storage", help="output of helm template for k8s/charts/local-path-storage")
    ap.add_argument("--mutations", action="store_true", help="also prove each check can fail")
    ap.add_argument("--table", action="store_true", help="print the NetworkPolicy truth table")
    args = ap.parse_args()
    docs = load(args.app)
    storage = Manifest(load(args.storage)) if args.storage else None
    m = Manifest(docs)
    if args.table:
        check_network_truth_table(m, verbose=True)
    results = run_checks(m, storage)
    failed = [n for n, r in results.items() if r is not None]
    passed = len(results) - len(failed)
    if args.mutations:
        missed = run_mutations(docs, storage)
        for line in missed:
            print("FAIL " + line)
        passed += len(MUTATIONS) - len(missed)
        failed += missed
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
