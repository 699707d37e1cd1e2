"""Checks across the release: the storage chart's StorageClass and every reference between
objects (selectors, ports, Secrets, PodDisruptionBudgets).

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

from chart_model import CheckFailed, Manifest, expect, pod_template, service_target, subset


def check_storage_class(m: Manifest, storage: Manifest | None) -> None:
    if storage is None:
        raise CheckFailed("no storage chart render given (--storage)")
    name = m.workload("database")["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]
    sc = storage.named("StorageClass", name)
    expect(sc is not None, f"the storage chart renders no StorageClass {name!r} for the database claim")
    expect(sc.get("reclaimPolicy") == "Retain", f"StorageClass {name} reclaimPolicy is {sc.get('reclaimPolicy')}")
    expect(sc.get("volumeBindingMode") == "WaitForFirstConsumer",
           f"StorageClass {name} binds {sc.get('volumeBindingMode')}, want WaitForFirstConsumer (node-local volumes)")
    expect(storage.of_kind("Deployment"), "the storage chart renders no provisioner Deployment")


def check_references(m: Manifest) -> None:
    """What the API server or the controllers would reject or silently ignore, and JSON
    schemas do not see: selectors that miss their pod templates, Services selecting no or
    several workloads, references to ports and objects that are not there."""
    workloads = m.of_kind("Deployment") + m.of_kind("StatefulSet")
    for w in workloads:
        sel = w["spec"]["selector"].get("matchLabels") or {}
        expect(bool(sel) and subset(sel, pod_template(w)["metadata"]["labels"]),
               f"{w['kind']} {w['metadata']['name']}: selector does not match its pod template labels")
    for s in m.of_kind("Service"):
        hits = [w for w in workloads if subset(s["spec"].get("selector") or {"-": "-"}, pod_template(w)["metadata"]["labels"])]
        expect(len(hits) == 1, f"Service {s['metadata']['name']} selects {len(hits)} workloads, want 1")
        for i, _ in enumerate(s["spec"]["ports"]):
            service_target(m, s, i)
    for ing in m.of_kind("Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                ref = path["backend"]["service"]
                svc = m.named("Service", ref["name"])
                expect(svc is not None, f"Ingress routes to missing Service {ref['name']}")
                names = {p.get("name") for p in svc["spec"]["ports"]} | {p["port"] for p in svc["spec"]["ports"]}
                want = ref["port"].get("name", ref["port"].get("number"))
                expect(want in names, f"Ingress routes to port {want!r} that Service {ref['name']} lacks")
    for w in workloads:
        spec = pod_template(w)["spec"]
        vols = {v["name"] for v in spec.get("volumes") or []}
        vols |= {v["metadata"]["name"] for v in w["spec"].get("volumeClaimTemplates") or []}
        for c in spec["containers"]:
            for vm in c.get("volumeMounts") or []:
                expect(vm["name"] in vols, f"{w['metadata']['name']}: volumeMount {vm['name']} has no volume")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not m.named("Secret", ref["name"]):
                    raise CheckFailed(f"{w['metadata']['name']}: env {e['name']} refers to missing Secret {ref['name']}")
        for v in spec.get("volumes") or []:
            if "secret" in v:
                expect(m.named("Secret", v["secret"]["secretName"]) is not None,
                       f"{w['metadata']['name']}: volume {v['name']} refers to missing Secret {v['secret']['secretName']}")
    for p in m.of_kind("PodDisruptionBudget"):
        hits = [w for w in workloads if subset(p["spec"]["selector"]["matchLabels"], pod_template(w)["metadata"]["labels"])]
        expect(len(hits) == 1, f"PodDisruptionBudget {p['metadata']['name']} selects {len(hits)} workloads")
