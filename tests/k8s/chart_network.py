"""The NetworkPolicy checks: default deny and the truth table evaluated with netpol.py.

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

from netpol import connection_allowed, ingress_allowed, outside, pod
from chart_model import Manifest, TIERS, containers, expect, pod_template, service_target


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


# The truth table over TCP: source, destination, port ("fe", "be", "db": the port the tier's
# Service reaches on its pods; otherwise a number), expected verdict. DNS to coredns (53/UDP,
# 53/TCP) from every tier is added by truth_table.
TRUTH_TABLE = """
ingress-controller      frontend          fe    allow
frontend                backend           be    allow
backend                 database          db    allow
outside                 frontend          fe    deny
outside                 backend           be    deny
outside                 database          db    deny
ingress-controller      backend           be    deny
ingress-controller      database          db    deny
frontend                database          db    deny
frontend                backend           22    deny
backend                 frontend          fe    deny
database                backend           be    deny
database                frontend          fe    deny
stranger-same-ns        backend           be    deny
stranger-same-ns        database          db    deny
pod-other-ns            frontend          fe    deny
pod-other-ns            backend           be    deny
pod-other-ns            database          db    deny
fake-frontend-other-ns  backend           be    deny
frontend                outside           443   deny
backend                 outside           443   deny
database                outside           443   deny
backend                 coredns           80    deny
frontend                stranger-same-ns  8080  deny
"""


def truth_table(m: Manifest) -> list[tuple[str, str, int, str, bool]]:
    """(source, destination, port, protocol, expected) with ports taken from the Services."""
    fe = service_target(m, m.one("Service", "frontend"))
    be = service_target(m, m.one("Service", "backend"))
    db_svc = [s for s in m.services_selecting(m.workload("database")) if s["spec"].get("clusterIP") != "None"][0]
    db = service_target(m, db_svc)
    ports = {"fe": fe, "be": be, "db": db}
    rows = []
    for line in TRUTH_TABLE.strip().splitlines():
        source, destination, port, expected = line.split()
        rows.append((source, destination, ports[port] if port in ports else int(port), "TCP", expected == "allow"))
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
