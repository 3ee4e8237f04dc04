"""Per-node outcomes under traffic policies, and the Local-policy drop finding."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from k8s_optimizer.analysis.traffic import drops, node_entries
from k8s_optimizer.domain.objects import EndpointPort, EndpointSlice, Node, Service, ServicePort, SliceEndpoint

GI = 1024**3


def _node(name: str, ip: str) -> Node:
    return Node(name, {}, ip, None, 4000, 8 * GI, 4000, 8 * GI, True)


NODES = [_node("k8s-optimizer-control-plane", "172.18.0.2"), _node("k8s-optimizer-worker", "172.18.0.3"),
         _node("k8s-optimizer-worker2", "172.18.0.4")]  # fmt: skip


def _service(**changes: Any) -> Service:
    base = Service(
        namespace="k8s-optimizer", name="dashboard", type="NodePort", cluster_ip="10.96.45.211",
        ports=(ServicePort(80, 8080, "TCP", "http", 30080),), selector={"app": "dashboard"},
        cluster_ips=("10.96.45.211",),
    )  # fmt: skip
    return replace(base, **changes)


SLICE = EndpointSlice(
    "k8s-optimizer",
    "dashboard-abcde",
    "dashboard",
    "IPv4",
    (SliceEndpoint(("10.244.1.5",), node_name="k8s-optimizer-worker", pod_name="dashboard-1"),),
    (EndpointPort(8080, "http", "TCP"),),
)


def test_cluster_policy_forwards_from_every_node() -> None:
    entries = node_entries(_service(), [SLICE], NODES)
    assert [(e.node, e.outcome, e.endpoints) for e in entries] == [
        ("k8s-optimizer-control-plane", "cluster", ("10.244.1.5:8080",)),
        ("k8s-optimizer-worker", "cluster", ("10.244.1.5:8080",)),
        ("k8s-optimizer-worker2", "cluster", ("10.244.1.5:8080",)),
    ]
    assert drops(_service(), [SLICE], NODES) == []


def test_local_policy_drops_on_nodes_without_an_endpoint() -> None:
    service = _service(external_traffic_policy="Local")
    assert [(e.node, e.outcome) for e in node_entries(service, [SLICE], NODES)] == [
        ("k8s-optimizer-control-plane", "dropped"),
        ("k8s-optimizer-worker", "local"),
        ("k8s-optimizer-worker2", "dropped"),
    ]
    assert drops(service, [SLICE], NODES) == [
        "NodePort 30080 on k8s-optimizer-control-plane drops traffic: no local endpoint under "
        "externalTrafficPolicy: Local (clients reaching this node time out)",
        "NodePort 30080 on k8s-optimizer-worker2 drops traffic: no local endpoint under "
        "externalTrafficPolicy: Local (clients reaching this node time out)",
    ]


def test_no_endpoint_anywhere_is_rejected_not_dropped() -> None:
    service = _service(external_traffic_policy="Local")
    assert {e.outcome for e in node_entries(service, [], NODES)} == {"rejected"}
    assert drops(service, [], NODES) == []


def test_internal_local_policy_drops_cluster_ip_traffic_from_nodes_without_an_endpoint() -> None:
    service = _service(type="ClusterIP", ports=(ServicePort(80, 8080, "TCP", "http"),), internal_traffic_policy="Local")
    entries = node_entries(service, [SLICE], NODES)
    assert [(e.node, e.traffic, e.outcome) for e in entries] == [
        ("k8s-optimizer-control-plane", "internal", "dropped"),
        ("k8s-optimizer-worker", "internal", "local"),
        ("k8s-optimizer-worker2", "internal", "dropped"),
    ]
    assert drops(service, [SLICE], NODES)[0] == (
        "ClusterIP port 80 drops traffic from pods on k8s-optimizer-control-plane: no local endpoint "
        "under internalTrafficPolicy: Local"
    )
