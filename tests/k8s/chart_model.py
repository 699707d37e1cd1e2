"""The rendered chart as the checks see it: Manifest (objects by kind and component), the
helpers that follow a Service to its pods' ports, expect/CheckFailed, and load().

Part of tests/k8s/assert_chart.py (see there).
"""
from __future__ import annotations

import yaml


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


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]
