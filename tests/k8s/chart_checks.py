"""The list of named checks (CHECKS) and run_checks, which runs them on a Manifest.

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

from typing import Callable

from chart_model import CheckFailed, Manifest
from chart_tiers import (
    check_backend_availability,
    check_backend_env,
    check_backend_not_exposed,
    check_backend_spread,
    check_database_internal_only,
    check_database_storage,
    check_frontend_hpa,
    check_frontend_ingress_tls,
    check_frontend_probes,
    check_namespaced,
    check_no_external_services,
)
from chart_network import check_default_deny, check_network_truth_table
from chart_cluster import check_references, check_storage_class


CHECKS: list[tuple[str, Callable]] = [
    ("references_resolve", check_references),
    ("frontend_hpa_2_10_cpu80", check_frontend_hpa),
    ("frontend_probes_http_9090", check_frontend_probes),
    ("frontend_ingress_https_host", check_frontend_ingress_tls),
    ("backend_env_db_secret", check_backend_env),
    ("backend_min3_rollout_pdb", check_backend_availability),
    ("backend_spread_preferred", check_backend_spread),
    ("backend_not_exposed", check_backend_not_exposed),
    ("database_statefulset_pvc", check_database_storage),
    ("database_clusterip_only", check_database_internal_only),
    ("services_clusterip_only", check_no_external_services),
    ("objects_in_release_namespace", check_namespaced),
    ("networkpolicy_default_deny", check_default_deny),
    ("networkpolicy_truth_table", check_network_truth_table),
]


def run_checks(m: Manifest, storage: Manifest | None, quiet: bool = False) -> dict[str, str | None]:
    """name -> None (passed) or the failure message."""
    results: dict[str, str | None] = {}
    checks = CHECKS + [("storageclass_local_path", lambda mm: check_storage_class(mm, storage))]
    for name, fn in checks:
        try:
            fn(m)
            results[name] = None
        except (CheckFailed, KeyError, IndexError, TypeError) as e:
            results[name] = f"{type(e).__name__}: {e}" if not isinstance(e, CheckFailed) else str(e)
        if not quiet:
            print(f"{'ok  ' if results[name] is None else 'FAIL'} {name}" + (f": {results[name]}" if results[name] else ""))
    return results
