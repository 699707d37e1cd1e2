"""A small evaluator of Kubernetes NetworkPolicy (networking.k8s.io/v1) semantics.

Owns: deciding whether one connection (source endpoint -> destination endpoint, port,
protocol) is allowed by a set of NetworkPolicy objects, following the API's rules:
  - a pod is isolated for ingress (egress) when at least one policy in its namespace
    selects it and lists Ingress (Egress) in policyTypes; an unisolated direction allows all;
  - policyTypes defaults to [Ingress] plus Egress when the policy has an egress section;
  - a rule's peers (from/to) and ports are ORed lists, and an absent or empty list means all;
  - a peer with podSelector only matches pods of the policy's namespace; namespaceSelector
    alone matches every pod of the selected namespaces; both together must both match;
    ipBlock matches by address (cidr minus except);
  - a named port resolves against the destination pod's container ports; endPort is honoured;
  - a connection needs the source's egress AND the destination's ingress to allow it.
Endpoints outside the cluster have no labels and no policies of their own.

Thread safety: pure functions over immutable inputs; safe from any thread.
REQUIRES: policies are dicts as parsed from YAML (the rendered manifests).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Iterable, Mapping


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One side of a connection: a pod (namespace set) or an address outside the cluster."""

    name: str
    ip: str
    namespace: str | None = None  # None: outside the cluster
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    namespace_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # named container ports: name -> (port, protocol)
    ports: Mapping[str, tuple[int, str]] = dataclasses.field(default_factory=dict)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def pod(name: str, ip: str, namespace: str, labels: Mapping[str, str],
        ports: Mapping[str, tuple[int, str]] | None = None,
        namespace_labels: Mapping[str, str] | None = None) -> Endpoint:
    """A pod endpoint; its namespace carries the automatic kubernetes.io/metadata.name label."""
    ns_labels = {"kubernetes.io/metadata.name": namespace}
    ns_labels.update(namespace_labels or {})
    return Endpoint(name, ip, namespace, dict(labels), ns_labels, dict(ports or {}))


def outside(name: str, ip: str) -> Endpoint:
    """An address outside the cluster (no labels, no policies)."""
    return Endpoint(name, ip)


class SelectorError(ValueError):
    """A label selector the evaluator does not understand (names the operator)."""


def selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise SelectorError(f"unknown matchExpressions operator {op!r}")
    return True


def policy_types(policy: Mapping) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


def _peer_matches(peer: Mapping, policy_ns: str, ep: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        addr = ipaddress.ip_address(ep.ip)
        if addr not in ipaddress.ip_network(block["cidr"], strict=False):
            return False
        return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
    if not ep.is_pod:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None and pod_sel is None:
        raise SelectorError("a NetworkPolicy peer needs podSelector, namespaceSelector or ipBlock")
    if ns_sel is None:
        if ep.namespace != policy_ns:
            return False
    elif not selector_matches(ns_sel, ep.namespace_labels):
        return False
    return pod_sel is None or selector_matches(pod_sel, ep.labels)


def _port_matches(rule_port: Mapping, dst: Endpoint, port: int, protocol: str) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    want = rule_port.get("port")
    if want is None:
        return True
    if isinstance(want, str) and not want.isdigit():
        named = dst.ports.get(want)
        return named is not None and named == (port, protocol)
    low = int(want)
    high = int(rule_port.get("endPort", low))
    return low <= port <= high


def _rule_allows(rule: Mapping, peers_key: str, policy_ns: str, peer: Endpoint,
                 dst: Endpoint, port: int, protocol: str) -> bool:
    peers = rule.get(peers_key) or []
    if peers and not any(_peer_matches(p, policy_ns, peer) for p in peers):
        return False
    ports = rule.get("ports") or []
    return not ports or any(_port_matches(p, dst, port, protocol) for p in ports)


def _direction_allows(policies: Iterable[Mapping], direction: str, subject: Endpoint,
                      peer: Endpoint, dst: Endpoint, port: int, protocol: str) -> tuple[bool, list[str]]:
    """(allowed, names of the policies that isolate `subject` in `direction`)."""
    if not subject.is_pod:
        return True, []
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating: list[str] = []
    allowed = False
    for pol in policies:
        meta = pol.get("metadata") or {}
        pol_ns = meta.get("namespace")
        if pol_ns != subject.namespace or direction not in policy_types(pol):
            continue
        spec = pol.get("spec") or {}
        if not selector_matches(spec.get("podSelector"), subject.labels):
            continue
        isolating.append(meta.get("name", "?"))
        for rule in spec.get(rules_key) or []:
            if _rule_allows(rule, peers_key, pol_ns, peer, dst, port, protocol):
                allowed = True
    return (allowed if isolating else True), isolating


def ingress_allowed(policies: Iterable[Mapping], src: Endpoint, dst: Endpoint,
                    port: int, protocol: str = "TCP") -> bool:
    """Whether dst's own ingress policies admit the connection, whatever src's egress says."""
    policies = [p for p in policies if p.get("kind") == "NetworkPolicy"]
    return _direction_allows(policies, "Ingress", dst, src, dst, port, protocol)[0]


def connection_allowed(policies: Iterable[Mapping], src: Endpoint, dst: Endpoint,
                       port: int, protocol: str = "TCP") -> tuple[bool, str]:
    """Whether src may open port/protocol on dst; the string explains the verdict."""
    policies = [p for p in policies if p.get("kind") == "NetworkPolicy"]
    eg_ok, eg_pols = _direction_allows(policies, "Egress", src, dst, dst, port, protocol)
    in_ok, in_pols = _direction_allows(policies, "Ingress", dst, src, dst, port, protocol)
    if not eg_ok:
        return False, f"egress of {src.name} denied (isolated by {', '.join(eg_pols)})"
    if not in_ok:
        return False, f"ingress to {dst.name} denied (isolated by {', '.join(in_pols)})"
    names = list(dict.fromkeys(eg_pols + in_pols))
    return True, "allowed" + (f" by {', '.join(names)}" if names else " (not isolated)")
