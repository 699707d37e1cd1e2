#!/usr/bin/env python3
"""Asserts every requirement of question 四 on the objects rendered by `helm template`.

Owns: the requirement checks of the ipo-app chart (k8s/charts/ipo-app) and of the storage
chart it depends on (k8s/charts/local-path-storage), and the NetworkPolicy truth table
computed from the rendered policies with netpol.py. With --mutations it also proves that
the checks can fail: it breaks the rendered objects one requirement at a time and expects
the matching check to report it.

Usage: assert_chart.py APP.yaml [--storage STORAGE.yaml] [--mutations]
Prints one line per check and a closing "N passed, N failed"; exit 1 if any failed.

Thread safety: single-threaded script. REQUIRES: PyYAML, openssl on PATH (certificate checks).
"""

from __future__ import annotations

import argparse
import base64
import copy
import os
import subprocess
import sys
import tempfile
from typing import Callable

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netpol import connection_allowed, ingress_allowed, outside, pod  # noqa: E402

HOST = "frontend.example.com"
HEALTH_PORT = 9090
MYSQL_DIR = "/var/lib/mysql"
TIERS = ("frontend", "backend", "database")


class CheckFailed(AssertionError):
    pass


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


class Manifest:
    """The rendered objects, indexed by kind and by component label."""

    def __init__(self, docs: list[dict]):
        self.docs = [d for d in docs if isinstance(d, dict) and d.get("kind")]

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, component: str) -> dict:
        found = [d for d in self.of_kind(kind) if labels(d).get("app.kubernetes.io/component") == component]
        expect(len(found) == 1, f"expected exactly one {kind} of component {component}, found {len(found)}")
        return found[0]

    def named(self, kind: str, name: str) -> dict | None:
        return next((d for d in self.of_kind(kind) if d["metadata"]["name"] == name), None)

    def workload(self, component: str) -> dict:
        found = [d for d in self.docs if d["kind"] in ("Deployment", "StatefulSet")
                 and labels(d).get("app.kubernetes.io/component") == component]
        expect(len(found) == 1, f"expected one workload for {component}, found {len(found)}")
        return found[0]

    def services_selecting(self, workload: dict) -> list[dict]:
        pod_labels = pod_template(workload)["metadata"]["labels"]
        return [s for s in self.of_kind("Service")
                if s["spec"].get("selector") and subset(s["spec"]["selector"], pod_labels)]


def labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def subset(small: dict, big: dict) -> bool:
    return all(big.get(k) == v for k, v in small.items())


def pod_template(workload: dict) -> dict:
    return workload["spec"]["template"]


def containers(workload: dict) -> list[dict]:
    return pod_template(workload)["spec"]["containers"]


def resolve_port(container: dict, port) -> int:
    """A probe/targetPort value (number or name) as a container port number."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise CheckFailed(f"container {container['name']} has no port named {port!r}")


def service_target(m: Manifest, svc: dict, port_index: int = 0) -> int:
    """The container port a Service's port_index-th port reaches on its pods."""
    target = svc["spec"]["ports"][port_index].get("targetPort", svc["spec"]["ports"][port_index]["port"])
    for kind in ("Deployment", "StatefulSet"):
        for w in m.of_kind(kind):
            if subset(svc["spec"]["selector"], pod_template(w)["metadata"]["labels"]):
                return resolve_port(containers(w)[0], target)
    raise CheckFailed(f"Service {svc['metadata']['name']} selects no rendered pods")


# ---------------------------------------------------------------- frontend

def check_frontend_hpa(m: Manifest) -> None:
    dep = m.workload("frontend")
    hpas = m.of_kind("HorizontalPodAutoscaler")
    expect(len(hpas) == 1, f"expected one HorizontalPodAutoscaler, found {len(hpas)}")
    hpa = hpas[0]
    expect(hpa["apiVersion"] == "autoscaling/v2", f"HPA apiVersion is {hpa['apiVersion']}, want autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    expect(ref["kind"] == dep["kind"] and ref["name"] == dep["metadata"]["name"],
           f"HPA targets {ref['kind']}/{ref['name']}, not the frontend {dep['kind']}/{dep['metadata']['name']}")
    expect(hpa["spec"]["minReplicas"] == 2, f"HPA minReplicas is {hpa['spec']['minReplicas']}, want 2")
    expect(hpa["spec"]["maxReplicas"] == 10, f"HPA maxReplicas is {hpa['spec']['maxReplicas']}, want 10")
    metrics = hpa["spec"].get("metrics") or []
    expect(len(metrics) == 1, f"HPA has {len(metrics)} metrics, want exactly the CPU one")
    res = metrics[0].get("resource") or {}
    expect(metrics[0]["type"] == "Resource" and res.get("name") == "cpu", "HPA metric is not Resource/cpu")
    target = res.get("target") or {}
    expect(target.get("type") == "Utilization" and target.get("averageUtilization") == 80,
           f"HPA CPU target is {target}, want Utilization 80")
    expect("replicas" not in dep["spec"], "frontend Deployment sets spec.replicas; the HPA must own it")
    for c in containers(dep):
        cpu = ((c.get("resources") or {}).get("requests") or {}).get("cpu")
        expect(bool(cpu), f"frontend container {c['name']} has no CPU request (HPA utilisation needs one)")


def check_frontend_probes(m: Manifest) -> None:
    c = containers(m.workload("frontend"))[0]
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(kind)
        expect(probe is not None, f"frontend has no {kind}")
        http = probe.get("httpGet")
        expect(http is not None, f"frontend {kind} is not an HTTP probe")
        expect(http.get("scheme", "HTTP") == "HTTP", f"frontend {kind} scheme is {http.get('scheme')}")
        port = resolve_port(c, http["port"])
        expect(port == HEALTH_PORT, f"frontend {kind} checks port {port}, want {HEALTH_PORT}")
    declared = {int(p["containerPort"]) for p in c.get("ports") or []}
    expect(HEALTH_PORT in declared, f"frontend does not declare container port {HEALTH_PORT}")


def check_frontend_ingress_tls(m: Manifest) -> None:
    svc = m.one("Service", "frontend")
    ings = m.of_kind("Ingress")
    expect(len(ings) == 1, f"expected one Ingress, found {len(ings)}")
    ing = ings[0]
    expect(ing["spec"].get("ingressClassName") == "nginx", "Ingress does not use ingressClassName nginx")
    rules = ing["spec"]["rules"]
    expect([r.get("host") for r in rules] == [HOST], f"Ingress hosts are {[r.get('host') for r in rules]}")
    backends = [p["backend"]["service"] for p in rules[0]["http"]["paths"]]
    expect(all(b["name"] == svc["metadata"]["name"] for b in backends),
           f"Ingress routes to {backends}, not only to Service {svc['metadata']['name']}")
    tls = ing["spec"].get("tls") or []
    expect(len(tls) == 1 and HOST in tls[0].get("hosts", []), "Ingress has no TLS entry for " + HOST)
    secret_name = tls[0].get("secretName")
    expect(bool(secret_name), "Ingress TLS entry has no secretName")
    secret = m.named("Secret", secret_name)
    expect(secret is not None, f"TLS Secret {secret_name} is not rendered by the chart")
    expect(secret.get("type") == "kubernetes.io/tls", f"Secret {secret_name} type is {secret.get('type')}")
    check_certificate(base64.b64decode(secret["data"]["tls.crt"]), base64.b64decode(secret["data"]["tls.key"]))


def check_certificate(crt: bytes, key: bytes) -> None:
    """openssl: the certificate names HOST and its public key is the key's."""
    with tempfile.TemporaryDirectory() as d:
        cpath, kpath = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        with open(cpath, "wb") as f:
            f.write(crt)
        with open(kpath, "wb") as f:
            f.write(key)
        text = subprocess.run(["openssl", "x509", "-in", cpath, "-noout", "-subject", "-ext", "subjectAltName"],
                              capture_output=True, text=True)
        expect(text.returncode == 0, f"tls.crt is not a PEM certificate: {text.stderr.strip()}")
        expect(f"DNS:{HOST}" in text.stdout, f"certificate has no subjectAltName DNS:{HOST}: {text.stdout!r}")
        cert_pub = subprocess.run(["openssl", "x509", "-in", cpath, "-noout", "-pubkey"], capture_output=True)
        key_pub = subprocess.run(["openssl", "pkey", "-in", kpath, "-pubout"], capture_output=True)
        expect(key_pub.returncode == 0, "tls.key is not a PEM private key")
        expect(cert_pub.stdout == key_pub.stdout, "tls.key does not match tls.crt")


# ---------------------------------------------------------------- backend

def check_backend_env(m: Manifest) -> None:
    c = containers(m.workload("backend"))[0]
    env = {e["name"]: e for e in c.get("env") or []}
    for key in ("DB_HOST", "DB_NAME", "DB_USER", "DB_PASS"):
        expect(key in env, f"backend has no environment variable {key}")
    db_svc = [s for s in m.services_selecting(m.workload("database")) if s["spec"].get("clusterIP") != "None"]
    expect(len(db_svc) == 1, "expected one non-headless database Service for DB_HOST")
    host = env["DB_HOST"].get("value", "")
    name = db_svc[0]["metadata"]["name"]
    expect(host == name or host.startswith(name + "."), f"DB_HOST {host!r} is not the database Service {name}")
    expect(bool(env["DB_NAME"].get("value")) or "valueFrom" in env["DB_NAME"], "DB_NAME is empty")
    expect(bool(env["DB_USER"].get("value")) or "valueFrom" in env["DB_USER"], "DB_USER is empty")
    expect("value" not in env["DB_PASS"], "DB_PASS is given in clear text, not from a Secret")
    ref = (env["DB_PASS"].get("valueFrom") or {}).get("secretKeyRef")
    expect(ref is not None, "DB_PASS does not come from a secretKeyRef")
    secret = m.named("Secret", ref["name"])
    expect(secret is not None, f"Secret {ref['name']} of DB_PASS is not rendered")
    expect(ref["key"] in (secret.get("data") or {}), f"Secret {ref['name']} has no key {ref['key']}")
    db_env = {e["name"]: e for e in containers(m.workload("database"))[0].get("env") or []}
    expect(db_env.get("MYSQL_DATABASE", {}).get("value") == env["DB_NAME"].get("value"),
           "the database creates a different database than DB_NAME")
    expect(db_env.get("MYSQL_USER", {}).get("value") == env["DB_USER"].get("value"),
           "the database creates a different user than DB_USER")


def check_backend_availability(m: Manifest) -> None:
    dep = m.workload("backend")
    expect(dep["kind"] == "Deployment", "backend is not a Deployment")
    replicas = dep["spec"].get("replicas", 1)
    expect(replicas >= 3, f"backend replicas is {replicas}, want >= 3")
    strategy = dep["spec"].get("strategy") or {}
    expect(strategy.get("type", "RollingUpdate") == "RollingUpdate", "backend strategy is not RollingUpdate")
    expect((strategy.get("rollingUpdate") or {}).get("maxUnavailable") == 0,
           "backend rollingUpdate.maxUnavailable is not 0")
    pod_labels = pod_template(dep)["metadata"]["labels"]
    pdbs = [p for p in m.of_kind("PodDisruptionBudget")
            if subset(p["spec"]["selector"].get("matchLabels") or {}, pod_labels)]
    expect(len(pdbs) == 1, f"expected one PodDisruptionBudget selecting backend pods, found {len(pdbs)}")
    pdb = pdbs[0]
    expect(pdb["apiVersion"] == "policy/v1", f"PDB apiVersion is {pdb['apiVersion']}")
    expect(pdb["spec"].get("minAvailable") == 3, f"backend PDB minAvailable is {pdb['spec'].get('minAvailable')}, want 3")
    for other in ("frontend", "database"):
        other_labels = pod_template(m.workload(other))["metadata"]["labels"]
        expect(not subset(pdb["spec"]["selector"]["matchLabels"], other_labels),
               f"backend PDB also selects {other} pods")
    expect(replicas > pdb["spec"]["minAvailable"],
           f"backend replicas ({replicas}) must exceed PDB minAvailable so node drains can evict a pod")


def check_backend_spread(m: Manifest) -> None:
    dep = m.workload("backend")
    spec = pod_template(dep)["spec"]
    pod_labels = pod_template(dep)["metadata"]["labels"]
    anti = ((spec.get("affinity") or {}).get("podAntiAffinity") or {})
    expect(not anti.get("requiredDuringSchedulingIgnoredDuringExecution"),
           "backend uses required anti-affinity: pods could stay Pending ('as far as possible' means preferred)")
    preferred = anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    expect(any(t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
               and subset(t["podAffinityTerm"]["labelSelector"]["matchLabels"], pod_labels)
               and t["weight"] >= 1 for t in preferred),
           "backend has no preferred pod anti-affinity on kubernetes.io/hostname selecting its own pods")
    tsc = spec.get("topologySpreadConstraints") or []
    expect(any(t["topologyKey"] == "kubernetes.io/hostname" for t in tsc),
           "backend has no topologySpreadConstraint on kubernetes.io/hostname")
    for t in tsc:
        expect(t["whenUnsatisfiable"] == "ScheduleAnyway",
               f"backend spread constraint on {t['topologyKey']} is {t['whenUnsatisfiable']}, want ScheduleAnyway")
        expect(subset(t["labelSelector"]["matchLabels"], pod_labels), "spread constraint does not select backend pods")


def check_backend_not_exposed(m: Manifest) -> None:
    dep = m.workload("backend")
    svcs = m.services_selecting(dep)
    expect(len(svcs) == 1, f"expected one backend Service, found {len(svcs)}")
    expect(svcs[0]["spec"].get("type", "ClusterIP") == "ClusterIP", "backend Service is not ClusterIP")
    for ing in m.of_kind("Ingress"):
        for rule in ing["spec"].get("rules") or []:
            for path in rule["http"]["paths"]:
                expect(path["backend"]["service"]["name"] != svcs[0]["metadata"]["name"],
                       f"Ingress {ing['metadata']['name']} exposes the backend")


# ---------------------------------------------------------------- database

def check_database_storage(m: Manifest) -> None:
    sts = m.workload("database")
    expect(sts["kind"] == "StatefulSet", f"database is a {sts['kind']}, want StatefulSet")
    vcts = sts["spec"].get("volumeClaimTemplates") or []
    expect(len(vcts) >= 1, "database StatefulSet has no volumeClaimTemplates")
    mounts = {vm["mountPath"]: vm["name"] for vm in containers(sts)[0].get("volumeMounts") or []}
    expect(MYSQL_DIR in mounts, f"database does not mount anything at {MYSQL_DIR}")
    expect(mounts[MYSQL_DIR] in {v["metadata"]["name"] for v in vcts},
           f"{MYSQL_DIR} is mounted from {mounts[MYSQL_DIR]!r}, not from a volumeClaimTemplate")
    pod_volumes = {v["name"] for v in pod_template(sts)["spec"].get("volumes") or []}
    expect(mounts[MYSQL_DIR] not in pod_volumes, f"a pod volume shadows the claim {mounts[MYSQL_DIR]!r}")
    policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
    expect(policy.get("whenDeleted") == "Retain" and policy.get("whenScaled") == "Retain",
           f"PVC retention policy is {policy}, want Retain/Retain")
    vct = next(v for v in vcts if v["metadata"]["name"] == mounts[MYSQL_DIR])
    expect(bool(vct["spec"].get("storageClassName")), "data claim names no StorageClass (the fresh cluster has no default)")
    expect("ReadWriteOnce" in vct["spec"]["accessModes"] or "ReadWriteOncePod" in vct["spec"]["accessModes"],
           "data claim is not ReadWriteOnce")
    headless = m.named("Service", sts["spec"].get("serviceName", ""))
    expect(headless is not None and headless["spec"].get("clusterIP") == "None",
           f"StatefulSet serviceName {sts['spec'].get('serviceName')!r} is not a rendered headless Service")


def check_database_internal_only(m: Manifest) -> None:
    sts = m.workload("database")
    svcs = m.services_selecting(sts)
    expect(len(svcs) >= 1, "database has no Service")
    for s in svcs:
        expect(s["spec"].get("type", "ClusterIP") == "ClusterIP",
               f"database Service {s['metadata']['name']} is {s['spec'].get('type')}, only ClusterIP allowed")
        expect(not s["spec"].get("externalIPs"), f"database Service {s['metadata']['name']} has externalIPs")
    names = {s["metadata"]["name"] for s in svcs}
    for ing in m.of_kind("Ingress"):
        for rule in ing["spec"].get("rules") or []:
            for path in rule["http"]["paths"]:
                expect(path["backend"]["service"]["name"] not in names, "an Ingress exposes the database")
    spec = pod_template(sts)["spec"]
    expect(not spec.get("hostNetwork"), "database pod uses hostNetwork")
    for c in spec["containers"]:
        expect(not any(p.get("hostPort") for p in c.get("ports") or []), "database container uses a hostPort")


def check_no_external_services(m: Manifest) -> None:
    for s in m.of_kind("Service"):
        expect(s["spec"].get("type", "ClusterIP") == "ClusterIP",
               f"Service {s['metadata']['name']} is {s['spec']['type']}; only the Ingress faces outside")


def check_namespaced(m: Manifest) -> None:
    cluster_scoped = {"StorageClass", "ClusterRole", "ClusterRoleBinding", "Namespace"}
    namespaces = {d["metadata"].get("namespace") for d in m.docs if d["kind"] not in cluster_scoped}
    expect(len(namespaces) == 1 and None not in namespaces,
           f"objects are not all in the release namespace: {sorted(map(str, namespaces))}")


# ---------------------------------------------------------------- NetworkPolicies

def check_default_deny(m: Manifest) -> None:
    found = [p for p in m.of_kind("NetworkPolicy")
             if p["spec"].get("podSelector") in ({}, None)
             and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
             and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    expect(len(found) == 1, "no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")


def endpoints(m: Manifest) -> dict:
    """Pods of the release (from the workloads) and the actors around them."""
    ns = m.workload("frontend")["metadata"]["namespace"]
    eps = {}
    for i, comp in enumerate(("frontend", "backend", "database")):
        w = m.workload(comp)
        c = containers(w)[0]
        ports = {p["name"]: (int(p["containerPort"]), p.get("protocol", "TCP")) for p in c.get("ports") or [] if p.get("name")}
        eps[comp] = pod(comp, f"10.244.1.{i + 10}", w["metadata"]["namespace"], pod_template(w)["metadata"]["labels"], ports)
    eps["ingress-controller"] = pod("ingress-controller", "10.244.2.5", "ingress-nginx", {
        "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/component": "controller"})
    eps["coredns"] = pod("coredns", "10.244.0.3", "kube-system", {"k8s-app": "kube-dns"}, {"dns": (53, "UDP")})
    eps["stranger-same-ns"] = pod("stranger-same-ns", "10.244.1.99", ns, {"app": "debug"})
    eps["pod-other-ns"] = pod("pod-other-ns", "10.244.3.7", "default", {"app": "other"})
    fe_labels = pod_template(m.workload("frontend"))["metadata"]["labels"]
    eps["fake-frontend-other-ns"] = pod("fake-frontend-other-ns", "10.244.3.8", "default", fe_labels)
    eps["outside"] = outside("outside", "198.51.100.7")
    return eps


def truth_table(m: Manifest) -> list[tuple[str, str, int, str, bool]]:
    """(source, destination, port, protocol, expected) with ports taken from the Services."""
    fe = service_target(m, m.one("Service", "frontend"))
    be = service_target(m, m.one("Service", "backend"))
    db_svc = [s for s in m.services_selecting(m.workload("database")) if s["spec"].get("clusterIP") != "None"][0]
    db = service_target(m, db_svc)
    rows = [
        ("ingress-controller", "frontend", fe, "TCP", True),
        ("frontend", "backend", be, "TCP", True),
        ("backend", "database", db, "TCP", True),
        ("outside", "frontend", fe, "TCP", False),
        ("outside", "backend", be, "TCP", False),
        ("outside", "database", db, "TCP", False),
        ("ingress-controller", "backend", be, "TCP", False),
        ("ingress-controller", "database", db, "TCP", False),
        ("frontend", "database", db, "TCP", False),
        ("frontend", "backend", 22, "TCP", False),
        ("backend", "frontend", fe, "TCP", False),
        ("database", "backend", be, "TCP", False),
        ("database", "frontend", fe, "TCP", False),
        ("stranger-same-ns", "backend", be, "TCP", False),
        ("stranger-same-ns", "database", db, "TCP", False),
        ("pod-other-ns", "frontend", fe, "TCP", False),
        ("pod-other-ns", "backend", be, "TCP", False),
        ("pod-other-ns", "database", db, "TCP", False),
        ("fake-frontend-other-ns", "backend", be, "TCP", False),
        ("frontend", "outside", 443, "TCP", False),
        ("backend", "outside", 443, "TCP", False),
        ("database", "outside", 443, "TCP", False),
        ("backend", "coredns", 80, "TCP", False),
        ("frontend", "stranger-same-ns", 8080, "TCP", False),
    ]
    for comp in ("frontend", "backend", "database"):
        rows += [(comp, "coredns", 53, "UDP", True), (comp, "coredns", 53, "TCP", True)]
    return rows


def check_network_truth_table(m: Manifest, verbose: bool = False) -> None:
    eps = endpoints(m)
    policies = m.of_kind("NetworkPolicy")
    wrong = []
    for src, dst, port, proto, want in truth_table(m):
        got, why = connection_allowed(policies, eps[src], eps[dst], port, proto)
        if verbose:
            print(f"    {src:>24} -> {dst:<18} {port:>5}/{proto:<3} {'ALLOW' if got else 'deny ':5}  ({why})")
        if got != want:
            wrong.append(f"{src} -> {dst}:{port}/{proto} is {'allowed' if got else 'denied'} "
                         f"but must be {'allowed' if want else 'denied'} ({why})")
        # Defence in depth: a denied flow into a tier must be refused by that tier's own
        # ingress rules too, not only by the source's egress (a pod added later to the
        # namespace may come with an egress policy of its own).
        if not want and dst in TIERS and ingress_allowed(policies, eps[src], eps[dst], port, proto):
            wrong.append(f"{src} -> {dst}:{port}/{proto} is refused only by the egress side; "
                         f"the ingress policy of {dst} admits it")
    expect(not wrong, "; ".join(wrong))


# ---------------------------------------------------------------- storage chart

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


# ---------------------------------------------------------------- mutations

def _w(docs, comp):
    return next(d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
                and labels(d).get("app.kubernetes.io/component") == comp)


def _k(docs, kind, comp=None):
    return next(d for d in docs if d["kind"] == kind and (comp is None or labels(d).get("app.kubernetes.io/component") == comp))


def _env(docs, comp, name):
    return next(e for e in _w(docs, comp)["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == name)


def _netpol(docs, comp):
    return next(d for d in docs if d["kind"] == "NetworkPolicy" and labels(d).get("app.kubernetes.io/component") == comp)


MUTATIONS: list[tuple[str, str, Callable[[list], None]]] = [
    ("hpa max 11", "frontend_hpa_2_10_cpu80", lambda d: _k(d, "HorizontalPodAutoscaler")["spec"].update(maxReplicas=11)),
    ("hpa cpu 90", "frontend_hpa_2_10_cpu80",
     lambda d: _k(d, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"].update(averageUtilization=90)),
    ("no cpu request", "frontend_hpa_2_10_cpu80",
     lambda d: _w(d, "frontend")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].pop("cpu")),
    ("liveness on 8080", "frontend_probes_http_9090",
     lambda d: _w(d, "frontend")["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"].update(port=8080)),
    ("no startup probe", "frontend_probes_http_9090",
     lambda d: _w(d, "frontend")["spec"]["template"]["spec"]["containers"][0].pop("startupProbe")),
    ("ingress without tls", "frontend_ingress_https_host", lambda d: _k(d, "Ingress")["spec"].pop("tls")),
    ("wrong host", "frontend_ingress_https_host",
     lambda d: _k(d, "Ingress")["spec"]["rules"][0].update(host="www.example.com")),
    ("DB_PASS in clear", "backend_env_db_secret", lambda d: _env(d, "backend", "DB_PASS").update(value="secret")),
    ("no DB_HOST", "backend_env_db_secret",
     lambda d: _w(d, "backend")["spec"]["template"]["spec"]["containers"][0]["env"].remove(_env(d, "backend", "DB_HOST"))),
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
     lambda d: _w(d, "database")["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0].update(name="tmp")),
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


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


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
