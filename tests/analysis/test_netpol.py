"""The upstream NetworkPolicy conformance truth tables, transcribed.

Source: kubernetes test/e2e/network/netpol/network_policy.go. Each upstream case creates pods x/a,
x/b, … (label pod=<name>) in namespaces x, y, z (label kubernetes.io/metadata.name=<ns>) serving
the case's ports as named container ports serve-<port>-<proto>, applies policies, and checks every
pod pair against a reachability table that starts all-true and is edited with ExpectPeer /
ExpectAllIngress / ExpectAllEgress / Expect. Loopback pairs are ignored there, as here. The
policies are written as API JSON and go through our translation, so policyTypes defaulting and
absent-vs-empty selectors are exercised end to end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from k8s_optimizer.analysis.netpol import PodPeer, evaluate
from k8s_optimizer.domain.objects import NetworkPolicy
from k8s_optimizer.k8s.translate import translate_network_policy

NS_LABEL = "kubernetes.io/metadata.name"
TCP, UDP, SCTP = "TCP", "UDP", "SCTP"


def _ip(pod: str) -> str:
    namespace, name = pod.split("/")
    return f"10.244.{'xyz'.index(namespace) + 1}.{'abc'.index(name) + 1}"


class Cluster:
    def __init__(self, pods: Iterable[str], ports: Iterable[int] = (80,), protocols: Iterable[str] = (TCP,)) -> None:
        self.names = list(pods)
        named = tuple((f"serve-{port}-{proto.lower()}", proto, port) for port in ports for proto in protocols)
        self.pods = {
            name: PodPeer(name.split("/")[0], name.split("/")[1], {"pod": name.split("/")[1]}, _ip(name), named)
            for name in self.names
        }
        self.namespaces: dict[str, dict[str, str]] = {ns: {NS_LABEL: ns} for ns in "xyz"}
        self.policies: dict[tuple[str, str], NetworkPolicy] = {}

    def create(self, namespace: str, policy: dict[str, Any]) -> None:
        body = {"metadata": {"namespace": namespace, "name": policy["name"]}, "spec": policy["spec"]}
        self.policies[(namespace, policy["name"])] = translate_network_policy(body)

    def label(self, pod: str, labels: dict[str, str]) -> None:
        peer = self.pods[pod]
        self.pods[pod] = PodPeer(peer.namespace, peer.name, {**peer.labels, **labels}, peer.ip, peer.named_ports)

    def actual(self, port: int, protocol: str) -> dict[tuple[str, str], bool]:
        policies = list(self.policies.values())
        return {
            (a, b): evaluate(self.pods[a], self.pods[b], port, protocol, policies, self.namespaces).allowed
            for a in self.names
            for b in self.names
            if a != b  # upstream ignores loopback
        }


class Reachability:
    """Upstream's Reachability: all-true, then edited; `None` in a peer matches anything."""

    def __init__(self, cluster: Cluster) -> None:
        self.cells = {(a, b): True for a in cluster.names for b in cluster.names if a != b}

    def expect_peer(
        self, source: tuple[str | None, str | None], destination: tuple[str | None, str | None], v: bool
    ) -> None:
        for a, b in self.cells:
            if _peer(a, *source) and _peer(b, *destination):
                self.cells[(a, b)] = v

    def expect_all_ingress(self, pod: str, v: bool) -> None:
        for a, b in self.cells:
            if b == pod:
                self.cells[(a, b)] = v

    def expect_all_egress(self, pod: str, v: bool) -> None:
        for a, b in self.cells:
            if a == pod:
                self.cells[(a, b)] = v

    def expect(self, source: str, destination: str, v: bool) -> None:
        if (source, destination) in self.cells:
            self.cells[(source, destination)] = v


def _peer(pod: str, namespace: str | None, name: str | None) -> bool:
    ns, pod_name = pod.split("/")
    return (namespace is None or namespace == ns) and (name is None or name == pod_name)


ALL: tuple[None, None] = (None, None)


def ns(namespace: str) -> tuple[str, None]:
    return (namespace, None)


def pod(name: str) -> tuple[str, str]:
    namespace, pod_name = name.split("/")
    return (namespace, pod_name)


def policy(
    name: str,
    pod_selector: dict[str, Any] | None = None,
    *,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
    policy_types: list[str] | None = None,
) -> dict[str, Any]:
    """GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules."""
    spec: dict[str, Any] = {"podSelector": pod_selector or {}}
    types: list[str] = []
    if ingress is not None:
        spec["ingress"] = ingress
        types.append("Ingress")
    if egress is not None:
        spec["egress"] = egress
        types.append("Egress")
    spec["policyTypes"] = policy_types or types
    return {"name": name, "spec": spec}


def match(**labels: str) -> dict[str, Any]:
    return {"matchLabels": labels}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


def check(cluster: Cluster, reachability: Reachability, port: int = 80, protocol: str = TCP) -> None:
    actual = cluster.actual(port, protocol)
    wrong = {pair: actual[pair] for pair, expected in reachability.cells.items() if actual[pair] != expected}
    assert not wrong, f"pairs that differ on {protocol}/{port} (actual values): {wrong}"


def test_default_deny_ingress() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "y/b"])
    c.create("x", policy("deny-ingress", {}, ingress=[]))
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r)


def test_default_deny_all() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    c.create("x", policy("deny-all", {}, ingress=[], egress=[]))
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    r.expect_peer(ns("x"), ALL, False)
    check(c, r)


def test_allow_from_pods_within_namespace_by_pod_selector() -> None:
    c = Cluster(["x/a", "x/b", "x/c", "y/a"])
    c.create("x", policy("x-a-allows-x-b", match(pod="a"), ingress=[{"from": [{"podSelector": match(pod="b")}]}]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    check(c, r)


def test_allow_ingress_for_a_target() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    c.create("x", policy("deny-all", {}, ingress=[]))
    everyone: dict[str, Any] = {"from": [{"podSelector": {}, "namespaceSelector": {}}]}
    c.create("x", policy("allow-all-to-a", match(pod="a"), ingress=[everyone]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", True)
    r.expect_all_ingress("x/b", False)
    check(c, r)


def test_allow_ingress_from_pods_in_all_namespaces() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    c.create("x", policy("allow-from-another-ns", match(pod="a"), ingress=[{"from": [{"namespaceSelector": match()}]}]))
    check(c, Reachability(c))


def test_allow_only_from_a_different_namespace_by_namespace_selector() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    rule = {"from": [{"namespaceSelector": match(**{NS_LABEL: "y"})}]}
    c.create("x", policy("allow-client-a-via-ns-selector", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_peer(ns("x"), pod("x/a"), False)
    r.expect_peer(ns("z"), pod("x/a"), False)
    check(c, r)


def test_pod_selector_with_match_expressions() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    rule = {"from": [{"podSelector": expr("pod", "In", "b")}]}
    c.create("x", policy("x-a-allows-x-b", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    check(c, r)


def test_namespace_selector_with_match_expressions() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    rule = {"from": [{"namespaceSelector": expr(NS_LABEL, "In", "y")}]}
    c.create("x", policy("allow-ns-y-match-selector", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_peer(ns("x"), pod("x/a"), False)
    r.expect_peer(ns("z"), pod("x/a"), False)
    check(c, r)


def test_pod_selector_or_namespace_selector() -> None:
    c = Cluster(["x/a", "x/b", "x/c", "y/a"])
    rule = {"from": [{"namespaceSelector": expr(NS_LABEL, "NotIn", "x")}, {"podSelector": match(pod="b")}]}
    c.create("x", policy("allow-ns-y-match-selector", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect("x/a", "x/a", False)
    r.expect("x/c", "x/a", False)
    check(c, r)


def test_pod_selector_and_namespace_selector() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "y/b", "z/b"])
    rule = {"from": [{"namespaceSelector": expr(NS_LABEL, "NotIn", "x"), "podSelector": match(pod="b")}]}
    c.create("x", policy("allow-ns-y-podselector-and-nsselector", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect("y/b", "x/a", True)
    r.expect("z/b", "x/a", True)
    check(c, r)


def test_multiple_pod_selectors_and_namespace_selectors() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "y/b", "y/c"])
    rule = {"from": [{"namespaceSelector": expr(NS_LABEL, "NotIn", "x"), "podSelector": expr("pod", "In", "b", "c")}]}
    c.create("x", policy("allow-ns-y-z-pod-b-c", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_peer(ns("x"), pod("x/a"), False)
    r.expect("y/a", "x/a", False)
    check(c, r)


def test_any_pod_selectors() -> None:
    c = Cluster(["x/a", "x/b", "x/c"])
    rule = {"from": [{"podSelector": match(pod="b")}, {"podSelector": match(pod="c")}]}
    c.create("x", policy("allow-ns-x-pod-b-c", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    r.expect("x/c", "x/a", True)
    check(c, r)


def test_only_from_a_pod_in_a_different_namespace() -> None:
    for protocol in (TCP, UDP, SCTP):  # upstream repeats this case for UDP and SCTP
        c = Cluster(["x/a", "x/b", "y/a", "y/b", "z/a"], protocols=[protocol])
        rule = {"from": [{"namespaceSelector": match(**{NS_LABEL: "y"}), "podSelector": match(pod="a")}]}
        c.create("x", policy("allow-ns-y-pod-a-via-namespace-pod-selector", match(pod="a"), ingress=[rule]))
        r = Reachability(c)
        r.expect_all_ingress("x/a", False)
        r.expect("y/a", "x/a", True)
        check(c, r, 80, protocol)


def test_ports() -> None:
    for protocol in (TCP, UDP, SCTP):
        c = Cluster(["x/a", "x/b", "y/a", "y/b", "z/a"], ports=[81], protocols=[protocol])
        rule = {
            "from": [{"namespaceSelector": match(**{NS_LABEL: "y"})}],
            "ports": [{"port": 81, "protocol": protocol}],
        }
        c.create("x", policy("allow-client-a-via-ns-selector", match(pod="a"), ingress=[rule]))
        r = Reachability(c)
        r.expect_peer(ns("x"), pod("x/a"), False)
        r.expect_peer(ns("y"), pod("x/a"), True)
        r.expect_peer(ns("z"), pod("x/a"), False)
        check(c, r, 81, protocol)


def test_multiple_stacked_policies_with_overlapping_pod_selectors() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "y/b", "z/a"], ports=[80, 81])
    from_y = [{"namespaceSelector": match(**{NS_LABEL: "y"})}]
    c.create(
        "x",
        policy(
            "allow-client-a-via-ns-selector",
            match(pod="a"),
            ingress=[{"from": from_y, "ports": [{"port": 81, "protocol": TCP}]}],
        ),
    )
    allow = Reachability(c)
    allow.expect_peer(ns("x"), pod("x/a"), False)
    allow.expect_peer(ns("y"), pod("x/a"), True)
    allow.expect_peer(ns("z"), pod("x/a"), False)
    check(c, allow, 81)
    deny = Reachability(c)
    deny.expect_all_ingress("x/a", False)
    check(c, deny, 80)
    c.create(
        "x",
        policy(
            "allow-client-a-via-ns-selector-80",
            match(pod="a"),
            ingress=[{"from": from_y, "ports": [{"port": 80, "protocol": TCP}]}],
        ),
    )
    check(c, allow, 80)


def test_allow_all_policy() -> None:
    c = Cluster(["x/a", "x/b", "y/a"], ports=[80, 81])
    c.create("x", policy("allow-all", match(), ingress=[{}]))
    check(c, Reachability(c), 80)
    check(c, Reachability(c), 81)


def test_ingress_on_one_named_port() -> None:
    c = Cluster(["x/a", "x/b", "y/a"], ports=[80, 81])
    c.create("x", policy("allow-all", match(), ingress=[{"ports": [{"port": "serve-81-tcp"}]}]))
    check(c, Reachability(c), 81)
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r, 80)


def test_ingress_from_namespace_on_one_named_port() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"], ports=[80, 81])
    rule = {
        "from": [{"namespaceSelector": match(**{NS_LABEL: "y"})}],
        "ports": [{"port": "serve-80-tcp", "protocol": TCP}],
    }
    c.create("x", policy("allow-client-a-via-ns-selector-80", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_peer(ns("x"), pod("x/a"), False)
    r.expect_peer(ns("z"), pod("x/a"), False)
    check(c, r, 80)
    fail = Reachability(c)
    fail.expect_all_ingress("x/a", False)
    check(c, fail, 81)


def test_egress_on_one_named_port() -> None:
    c = Cluster(["x/a", "y/a"], ports=[80, 81])
    c.create("x", policy("allow-egress", match(), egress=[{"ports": [{"port": "serve-80-tcp"}]}]))
    check(c, Reachability(c), 80)
    r = Reachability(c)
    r.expect_peer(ns("x"), ALL, False)
    check(c, r, 81)


def test_updated_policy() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create("x", policy("allow-all-mutate-to-deny-all", match(), ingress=[{}]))
    check(c, Reachability(c), 81)
    c.create("x", policy("allow-all-mutate-to-deny-all", match(), ingress=[]))
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r, 81)


def test_ingress_from_updated_namespace() -> None:
    c = Cluster(["x/a", "y/a"])
    c.create(
        "x",
        policy(
            "allow-client-a-via-ns-selector",
            match(pod="a"),
            ingress=[{"from": [{"namespaceSelector": match(ns2="updated")}]}],
        ),
    )
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r)
    c.namespaces["y"] = {**c.namespaces["y"], "ns2": "updated"}
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect_peer(ns("y"), ALL, True)
    check(c, r)


def test_ingress_from_updated_pod() -> None:
    c = Cluster(["x/a", "x/b"])
    labels = {"pod": "b", "pod2": "updated"}
    c.create(
        "x",
        policy(
            "allow-client-a-via-pod-selector", match(pod="a"), ingress=[{"from": [{"podSelector": match(**labels)}]}]
        ),
    )
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r)
    c.label("x/b", labels)
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    check(c, r)


def test_deny_ingress_from_pods_on_other_namespaces() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    c.create("x", policy("deny-empty-policy", {}, ingress=[{"from": [{"podSelector": match()}]}]))
    r = Reachability(c)
    r.expect_peer(ns("y"), ns("x"), False)
    r.expect_peer(ns("z"), ns("x"), False)
    check(c, r)


def test_deny_ingress_to_updated_pod() -> None:
    c = Cluster(["x/a", "y/a"])
    c.create("x", policy("deny-ingress-via-label-selector", match(target="isolated"), ingress=[]))
    check(c, Reachability(c))
    c.label("x/a", {"target": "isolated"})
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r)


def test_deny_egress_by_pod_selector() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    c.create("x", policy("deny-egress-pod-a", match(pod="a"), egress=[]))
    r = Reachability(c)
    r.expect_all_egress("x/a", False)
    check(c, r)


def test_deny_egress_from_all_pods_in_a_namespace() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    c.create("x", policy("deny-egress-ns-x", {}, egress=[]))
    r = Reachability(c)
    r.expect_peer(ns("x"), ALL, False)
    check(c, r)


def test_ingress_and_egress_together() -> None:
    c = Cluster(["x/a", "x/b", "x/c", "y/a"], ports=[80, 81])
    spec = policy(
        "allow-client-a-via-pod-selector",
        match(pod="a"),
        ingress=[{"from": [{"podSelector": match(pod="b")}]}],
        egress=[{"ports": [{"port": 80}]}],
        policy_types=["Egress", "Ingress"],
    )
    c.create("x", spec)
    r80 = Reachability(c)
    r80.expect_all_ingress("x/a", False)
    r80.expect("x/b", "x/a", True)
    check(c, r80, 80)
    r81 = Reachability(c)
    r81.expect_all_ingress("x/a", False)
    r81.expect_all_egress("x/a", False)
    r81.expect("x/b", "x/a", True)
    check(c, r81, 81)


def test_client_side_egress_denies_even_if_the_server_allows() -> None:
    c = Cluster(["x/a", "y/a", "y/b"])
    to_y_a = {"to": [{"namespaceSelector": match(**{NS_LABEL: "y"}), "podSelector": match(pod="a")}]}
    c.create("x", policy("allow-to-ns-y-pod-a", match(pod="a"), egress=[to_y_a]))
    from_x_a = {"from": [{"namespaceSelector": match(**{NS_LABEL: "x"}), "podSelector": match(pod="a")}]}
    c.create("y", policy("allow-from-xa-on-ya-match-selector", match(pod="a"), ingress=[from_x_a]))
    c.create("y", policy("allow-from-xa-on-yb-match-selector", match(pod="b"), ingress=[from_x_a]))
    r = Reachability(c)
    r.expect_peer(pod("x/a"), ALL, False)
    r.expect_peer(ALL, pod("y/a"), False)
    r.expect_peer(pod("x/a"), pod("y/a"), True)
    r.expect_peer(ALL, pod("y/b"), False)
    check(c, r)


def test_egress_to_a_server_in_another_namespace_by_pod_and_namespace_selector() -> None:
    c = Cluster(["x/a", "y/a", "y/b"])
    to_y_a = {"to": [{"namespaceSelector": match(**{NS_LABEL: "y"}), "podSelector": match(pod="a")}]}
    c.create("x", policy("allow-to-ns-y-pod-a", match(pod="a"), egress=[to_y_a]))
    r = Reachability(c)
    r.expect_all_egress("x/a", False)
    r.expect("x/a", "y/a", True)
    check(c, r)


def test_ingress_any_port_on_a_protocol() -> None:
    c = Cluster(["x/a", "y/a"], protocols=[TCP, UDP])
    c.create("x", policy("allow-ingress-by-proto", match(pod="a"), ingress=[{"ports": [{"protocol": TCP}]}]))
    check(c, Reachability(c), 80, TCP)
    r = Reachability(c)
    r.expect_peer(ALL, pod("x/a"), False)
    check(c, r, 80, UDP)


def test_ingress_allow_all_takes_precedence() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create("x", policy("allow-ingress-port-80", match(), ingress=[{"ports": [{"port": 80}]}]))
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r, 81)
    c.create("x", policy("allow-ingress", match(), ingress=[{}]))
    check(c, Reachability(c), 81)


def test_egress_allow_all_takes_precedence() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create("x", policy("allow-egress-port-80", match(), egress=[{"ports": [{"port": 80}]}]))
    r = Reachability(c)
    r.expect_peer(ns("x"), ALL, False)
    check(c, r, 81)
    c.create("x", policy("allow-egress", match(), egress=[{}]))
    check(c, Reachability(c), 81)


def test_policies_stop_applying_once_deleted() -> None:
    c = Cluster(["x/a", "y/a"])
    c.create("x", policy("deny-all", {}, ingress=[], egress=[]))
    r = Reachability(c)
    r.expect_peer(ns("x"), ALL, False)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r)
    c.policies.clear()
    check(c, Reachability(c))


def test_egress_to_server_in_cidr_block() -> None:
    c = Cluster(["x/a", "y/a", "y/b"])
    rule = {"to": [{"ipBlock": {"cidr": f"{_ip('y/b')}/32"}}]}
    c.create("x", policy("allow-client-a-via-cidr-egress-rule", match(pod="a"), egress=[rule]))
    r = Reachability(c)
    r.expect_all_egress("x/a", False)
    r.expect("x/a", "y/b", True)
    check(c, r)


def _large_cidr(ip: str) -> str:
    """makeLargeCIDRForIP: the /4 around the address."""
    first = int(ip.split(".")[0]) & 0xF0
    return f"{first}.0.0.0/4"


def test_except_clause_in_cidr_block() -> None:
    c = Cluster(["x/a", "x/b", "x/c"])
    rule = {"to": [{"ipBlock": {"cidr": _large_cidr(_ip("x/b")), "except": [f"{_ip('x/b')}/32"]}}]}
    c.create("x", policy("allow-client-a-via-cidr-egress-rule", match(pod="a"), egress=[rule]))
    r = Reachability(c)
    r.expect("x/a", "x/b", False)
    check(c, r)


def test_ip_in_both_cidr_and_except_is_allowed_by_another_policy() -> None:
    c = Cluster(["x/a", "x/b", "x/c"])
    rule = {"to": [{"ipBlock": {"cidr": _large_cidr(_ip("x/b")), "except": [f"{_ip('x/b')}/32"]}}]}
    c.create("x", policy("allow-client-a-via-cidr-egress-rule", match(pod="a"), egress=[rule]))
    r = Reachability(c)
    r.expect("x/a", "x/b", False)
    check(c, r)
    # Upstream "updates" the same-named policy, replacing it with a /32 allow for x/b.
    c.create(
        "x",
        policy(
            "allow-client-a-via-cidr-egress-rule",
            match(pod="a"),
            egress=[{"to": [{"ipBlock": {"cidr": f"{_ip('x/b')}/32"}}]}],
        ),
    )
    allow = Reachability(c)
    allow.expect_all_egress("x/a", False)
    allow.expect("x/a", "x/b", True)
    check(c, allow)


def test_ingress_and_egress_controlled_independently() -> None:
    c = Cluster(["x/a", "x/b", "y/a"])
    c.create("x", policy("allow-egress-for-target", match(pod="a"), egress=[{}]))
    check(c, Reachability(c))
    c.create("x", policy("deny-ingress-via-label-selector", match(pod="a"), ingress=[]))
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r)


def test_sctp_is_not_tcp() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create("x", policy("deny-ingress", {}, ingress=[]))
    c.create(
        "x",
        policy(
            "allow-only-sctp-ingress-on-port-81", match(pod="a"), ingress=[{"ports": [{"port": 81, "protocol": SCTP}]}]
        ),
    )
    r = Reachability(c)
    r.expect_peer(ALL, ns("x"), False)
    check(c, r, 81)


def test_sctp_only_policy_still_isolates() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create(
        "x",
        policy(
            "allow-only-sctp-ingress-on-port-80", match(pod="a"), ingress=[{"ports": [{"port": 80, "protocol": SCTP}]}]
        ),
    )
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r, 81)


def test_udp_only_policy_does_not_admit_tcp() -> None:
    c = Cluster(["x/a", "y/a"], ports=[81])
    c.create(
        "x",
        policy(
            "allow-only-udp-ingress-on-port-81", match(pod="a"), ingress=[{"ports": [{"port": 81, "protocol": UDP}]}]
        ),
    )
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r, 81)


def test_namespace_selector_with_default_namespace_label() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    rule = {"from": [{"namespaceSelector": match(**{NS_LABEL: "y"})}]}
    c.create("x", policy("allow-client-a-via-ns-selector-for-immutable-ns-label", match(pod="a"), ingress=[rule]))
    r = Reachability(c)
    r.expect_peer(ns("x"), pod("x/a"), False)
    r.expect_peer(ns("z"), pod("x/a"), False)
    check(c, r)


def test_egress_namespace_selector_not_in_with_default_namespace_label() -> None:
    c = Cluster(["x/a", "x/b", "y/a", "z/a"])
    rule = {"to": [{"namespaceSelector": expr(NS_LABEL, "NotIn", "y")}]}
    c.create("x", policy("allow-ns-y-match-selector-for-immutable-ns-label", match(pod="a"), egress=[rule]))
    r = Reachability(c)
    r.expect_peer(pod("x/a"), ns("y"), False)
    check(c, r)


# ----------------------------------------------------------------------------- beyond the upstream tables


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist() -> None:
    only_ingress = translate_network_policy({"metadata": {"namespace": "x", "name": "p"}, "spec": {"podSelector": {}}})
    both = translate_network_policy(
        {"metadata": {"namespace": "x", "name": "q"}, "spec": {"podSelector": {}, "egress": [{"to": []}]}}
    )
    assert only_ingress.policy_types == ("Ingress",)
    assert both.policy_types == ("Ingress", "Egress")


def test_end_port_range() -> None:
    c = Cluster(["x/a", "y/a"], ports=[8080, 9090])
    c.create(
        "x", policy("range", match(pod="a"), ingress=[{"ports": [{"port": 8000, "endPort": 8999, "protocol": TCP}]}])
    )
    check(c, Reachability(c), 8080)
    r = Reachability(c)
    r.expect_all_ingress("x/a", False)
    check(c, r, 9090)


def test_the_reason_names_the_deciding_policy_and_the_client() -> None:
    c = Cluster(["x/a", "y/a"])
    c.create("x", policy("default-deny", {}, ingress=[]))
    verdict = evaluate(c.pods["y/a"], c.pods["x/a"], 80, TCP, list(c.policies.values()), c.namespaces)
    assert not verdict.allowed
    assert verdict.reason == (
        "connections time out: NetworkPolicy default-deny in x selects x/a for ingress and no rule admits y/a on TCP/80"
    )


def test_namespace_matrix_summarises_the_pod_groups() -> None:
    from k8s_optimizer.analysis.netpol import namespace_matrix
    from k8s_optimizer.domain.objects import ContainerPort, ContainerSpec, Pod

    def pod(namespace: str, name: str, labels: dict[str, str]) -> Pod:
        container = ContainerSpec("c", "img", ports=(ContainerPort(8080, "http"),))
        ip = f"10.244.{'xyz'.index(namespace) + 1}.{len(name)}"
        return Pod(namespace, name, name, labels, None, "n1", ip, None, "Running", True, (container,))

    pods = [pod("x", "a", {"pod": "a"}), pod("x", "b", {"pod": "b"}), pod("y", "a", {"pod": "a"})]
    policies = [
        translate_network_policy(
            {"metadata": {"namespace": "x", "name": "deny"}, "spec": {"podSelector": match(pod="a")}}
        )
    ]
    cells = {
        (c.source_namespace, c.destination_namespace): c
        for c in namespace_matrix(pods, policies, {n: {NS_LABEL: n} for n in "xyz"})
    }
    assert (cells[("x", "x")].verdict, cells[("x", "x")].denied_pairs, cells[("x", "x")].pairs) == ("partial", 1, 2)
    assert (cells[("y", "x")].verdict, cells[("y", "x")].denied_pairs) == (
        "partial",
        1,
    )  # y/a → x/a denied, → x/b allowed
    assert cells[("x", "y")].verdict == "allowed"
    assert [ref.name for ref in cells[("y", "x")].deciding] == ["deny"]
