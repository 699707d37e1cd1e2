"""Unit tests of the NetworkPolicy evaluator (netpol.py) on hand-written policies.

Owns: the semantics the chart's truth table relies on (isolation, peer and port matching).
Thread safety: single-threaded unittest. REQUIRES: Python 3.9+, no third-party modules.
"""

import unittest

from netpol import SelectorError, connection_allowed, outside, pod, selector_matches


def np(name, ns, pod_selector, types=None, ingress=None, egress=None):
    spec = {"podSelector": pod_selector}
    if types is not None:
        spec["policyTypes"] = types
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


WEB = pod("web", "10.0.0.1", "app", {"tier": "web"}, {"http": (8080, "TCP")})
API = pod("api", "10.0.0.2", "app", {"tier": "api"}, {"http": (9000, "TCP")})
OTHER_NS_WEB = pod("web-elsewhere", "10.0.1.1", "other", {"tier": "web"})
MONITOR = pod("prom", "10.0.2.1", "monitoring", {"app": "prom"}, namespace_labels={"team": "ops"})
NET = outside("internet", "198.51.100.7")


class EvaluatorTest(unittest.TestCase):
    def test_no_policy_allows_everything(self):
        self.assertTrue(connection_allowed([], WEB, API, 9000)[0])
        self.assertTrue(connection_allowed([], NET, API, 9000)[0])

    def test_default_deny_isolates_both_directions(self):
        pols = [np("deny", "app", {}, ["Ingress", "Egress"])]
        ok, why = connection_allowed(pols, WEB, API, 9000)
        self.assertFalse(ok)
        self.assertIn("egress of web denied (isolated by deny)", why)
        self.assertFalse(connection_allowed(pols, MONITOR, API, 9000)[0])
        self.assertTrue(connection_allowed(pols, MONITOR, OTHER_NS_WEB, 80)[0])

    def test_policy_types_default_to_ingress_only(self):
        pols = [np("deny-in", "app", {})]
        self.assertTrue(connection_allowed(pols, WEB, NET, 443)[0])
        self.assertFalse(connection_allowed(pols, NET, WEB, 8080)[0])

    def test_pod_selector_peer_is_limited_to_the_policy_namespace(self):
        pols = [np("api", "app", {"matchLabels": {"tier": "api"}}, ["Ingress"],
                   ingress=[{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}}]}])]
        self.assertTrue(connection_allowed(pols, WEB, API, 9000)[0])
        self.assertFalse(connection_allowed(pols, OTHER_NS_WEB, API, 9000)[0])

    def test_namespace_and_pod_selector_must_both_match(self):
        peer = {"namespaceSelector": {"matchLabels": {"team": "ops"}},
                "podSelector": {"matchLabels": {"app": "prom"}}}
        pols = [np("api", "app", {"matchLabels": {"tier": "api"}}, ["Ingress"], ingress=[{"from": [peer]}])]
        self.assertTrue(connection_allowed(pols, MONITOR, API, 9000)[0])
        impostor = pod("prom2", "10.0.3.1", "other", {"app": "prom"})
        self.assertFalse(connection_allowed(pols, impostor, API, 9000)[0])

    def test_ports_named_numbered_ranges_and_protocols(self):
        pols = [np("api", "app", {}, ["Ingress"], ingress=[{"ports": [{"port": "http"}]}])]
        self.assertTrue(connection_allowed(pols, WEB, API, 9000)[0])
        self.assertFalse(connection_allowed(pols, WEB, API, 9001)[0])
        pols = [np("api", "app", {}, ["Ingress"], ingress=[{"ports": [{"port": 9000, "endPort": 9010}]}])]
        self.assertTrue(connection_allowed(pols, WEB, API, 9005)[0])
        self.assertFalse(connection_allowed(pols, WEB, API, 9005, "UDP")[0])

    def test_ip_block_with_except(self):
        pols = [np("api", "app", {}, ["Ingress"], ingress=[{"from": [
            {"ipBlock": {"cidr": "198.51.100.0/24", "except": ["198.51.100.7/32"]}}]}])]
        self.assertFalse(connection_allowed(pols, NET, API, 9000)[0])
        self.assertTrue(connection_allowed(pols, outside("near", "198.51.100.8"), API, 9000)[0])

    def test_empty_rule_allows_all_peers(self):
        pols = [np("open", "app", {}, ["Ingress"], ingress=[{}])]
        self.assertTrue(connection_allowed(pols, NET, API, 1)[0])

    def test_match_expressions(self):
        sel = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                                    {"key": "canary", "operator": "DoesNotExist"}]}
        self.assertTrue(selector_matches(sel, {"tier": "api"}))
        self.assertFalse(selector_matches(sel, {"tier": "api", "canary": "1"}))
        with self.assertRaisesRegex(SelectorError, "unknown matchExpressions operator 'Near'"):
            selector_matches({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {})


if __name__ == "__main__":
    unittest.main()
