"""Proof that the checks can fail: each mutation breaks the rendered objects in one way and
names the check that must report it.

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

import copy
from typing import Callable

from chart_model import Manifest, labels
from chart_checks import run_checks


def _w(docs, comp):
    return next(d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
                and labels(d).get("app.kubernetes.io/component") == comp)


def _k(docs, kind, comp=None):
    return next(d for d in docs if d["kind"] == kind and (comp is None or labels(d).get("app.kubernetes.io/component") == comp))


def _c(docs, comp):
    """The first container of the component's workload."""
    return _w(docs, comp)["spec"]["template"]["spec"]["containers"][0]


def _env(docs, comp, name):
    return next(e for e in _c(docs, comp)["env"] if e["name"] == name)


def _netpol(docs, comp):
    return next(d for d in docs if d["kind"] == "NetworkPolicy" and labels(d).get("app.kubernetes.io/component") == comp)


MUTATIONS: list[tuple[str, str, Callable[[list], None]]] = [
    ("hpa max 11", "frontend_hpa_2_10_cpu80", lambda d: _k(d, "HorizontalPodAutoscaler")["spec"].update(maxReplicas=11)),
    ("hpa cpu 90", "frontend_hpa_2_10_cpu80",
     lambda d: _k(d, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"].update(averageUtilization=90)),
    ("no cpu request", "frontend_hpa_2_10_cpu80",
     lambda d: _c(d, "frontend")["resources"]["requests"].pop("cpu")),
    ("liveness on 8080", "frontend_probes_http_9090",
     lambda d: _c(d, "frontend")["livenessProbe"]["httpGet"].update(port=8080)),
    ("no startup probe", "frontend_probes_http_9090",
     lambda d: _c(d, "frontend").pop("startupProbe")),
    ("ingress without tls", "frontend_ingress_https_host", lambda d: _k(d, "Ingress")["spec"].pop("tls")),
    ("wrong host", "frontend_ingress_https_host",
     lambda d: _k(d, "Ingress")["spec"]["rules"][0].update(host="www.example.com")),
    ("DB_PASS in clear", "backend_env_db_secret", lambda d: _env(d, "backend", "DB_PASS").update(value="secret")),
    ("no DB_HOST", "backend_env_db_secret",
     lambda d: _c(d, "backend")["env"].remove(_env(d, "backend", "DB_HOST"))),
    ("backend 2 replicas", "backend_min3_rollout_pdb", lambda d: _w(d, "backend")["spec"].update(replicas=2)),
    ("maxUnavailable 1", "backend_min3_rollout_pdb",
     lambda d: _w(d, "backend")["spec"]["strategy"]["rollingUpdate"].update(maxUnavailable=1)),
    ("pdb 2", "backend_min3_rollout_pdb", lambda d: _k(d, "PodDisruptionBudget", "backend")["spec"].update(minAvailable=2)),
    ("spread DoNotSchedule", "backend_spread_preferred",
     lambda d: _w(d, "backend")["spec"]["template"]["spec"]["topologySpreadConstraints"][0].update(whenUnsatisfiable="DoNotSchedule")),
    ("required anti-affinity", "backend_spread_preferred",
     lambda d: _w(d, "backend")["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"].update(
         requiredDuringSchedulingIgnoredDuringExecution=[{"topologyKey": "kubernetes.io/hostname"}])),
    ("backend NodePort", "backend_not_exposed", lambda d: _k(d, "Service", "backend")["spec"].update(type="NodePort")),
    ("database on emptyDir", "database_statefulset_pvc",
     lambda d: _c(d, "database")["volumeMounts"][0].update(name="tmp")),
    ("retention Delete", "database_statefulset_pvc",
     lambda d: _w(d, "database")["spec"]["persistentVolumeClaimRetentionPolicy"].update(whenDeleted="Delete")),
    ("database LoadBalancer", "database_clusterip_only",
     lambda d: _k(d, "Service", "database")["spec"].update(type="LoadBalancer")),
    ("no default deny", "networkpolicy_default_deny",
     lambda d: d.remove(next(x for x in d if x["kind"] == "NetworkPolicy" and x["spec"]["podSelector"] == {}
                             and "Ingress" in x["spec"].get("policyTypes", [])))),
    ("database open to all pods", "networkpolicy_truth_table",
     lambda d: _netpol(d, "database")["spec"]["ingress"][0]["from"][0].update(podSelector={})),
    ("backend open to any namespace", "networkpolicy_truth_table",
     lambda d: _netpol(d, "backend")["spec"]["ingress"][0]["from"][0].update(namespaceSelector={})),
    ("no DNS egress", "networkpolicy_truth_table",
     lambda d: d.remove(next(x for x in d if x["kind"] == "NetworkPolicy" and x["spec"].get("policyTypes") == ["Egress"]))),
    ("frontend policy dropped", "networkpolicy_truth_table", lambda d: d.remove(_netpol(d, "frontend"))),
    ("selector misses template", "references_resolve",
     lambda d: _w(d, "backend")["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/component": "api"})),
    ("ingress to missing port", "references_resolve",
     lambda d: _k(d, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"].update(name="web")),
    ("database Secret missing", "references_resolve",
     lambda d: d.remove(next(x for x in d if x["kind"] == "Secret" and x.get("type") == "Opaque"))),
]


def run_mutations(docs: list, storage: Manifest | None) -> list[str]:
    """Each mutation must make its named check fail; returns the ones that went unnoticed."""
    missed = []
    for title, check, mutate in MUTATIONS:
        broken = copy.deepcopy(docs)
        mutate(broken)
        results = run_checks(Manifest(broken), storage, quiet=True)
        if results[check] is None:
            missed.append(f"mutation '{title}' was not caught by {check}")
        else:
            print(f"ok   mutation '{title}' caught by {check}")
    return missed
