"""The requirement checks of the three tiers: frontend (HPA, probes, Ingress TLS), backend
(env from the Secret, availability, spread, not exposed), database (storage, internal only).

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

import base64
import os
import subprocess
import tempfile

from chart_model import HEALTH_PORT, HOST, MYSQL_DIR, Manifest, containers, expect, pod_template, resolve_port, subset


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
