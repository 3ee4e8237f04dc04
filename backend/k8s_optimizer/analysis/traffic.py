"""What happens to traffic that enters a Service on each node, under its traffic policies.

`externalTrafficPolicy: Local` keeps the client's source IP by sending NodePort and LoadBalancer
traffic only to endpoints on the node it arrived at, so a node without one drops it — a timeout
that no endpoint count explains. `internalTrafficPolicy: Local` does the same for ClusterIP traffic
from pods on that node. This module answers, per node, where a Service's traffic goes (local
endpoints, any endpoint, dropped, rejected) with kube-proxy's own endpoint selection, and states
each drop as a finding. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from k8s_optimizer.analysis.kubeproxy.model import (
    EndpointInfo,
    ProxyNode,
    categorize,
    endpoints_by_port,
    endpoints_of,
    service_ports,
)
from k8s_optimizer.domain.objects import EndpointSlice, Node, Service

Outcome = Literal["local", "cluster", "dropped", "rejected"]


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """One node's handling of one Service port for one kind of traffic."""

    node: str
    node_ip: str | None
    traffic: Literal["external", "internal"]
    service_port: int
    node_port: int | None
    outcome: Outcome
    endpoints: tuple[str, ...]  # where it goes from this node

    @property
    def message(self) -> str | None:
        if self.outcome != "dropped":
            return None
        if self.traffic == "external":
            entry = f"NodePort {self.node_port}" if self.node_port else f"port {self.service_port}"
            return (
                f"{entry} on {self.node} drops traffic: no local endpoint under externalTrafficPolicy: Local "
                "(clients reaching this node time out)"
            )
        return (
            f"ClusterIP port {self.service_port} drops traffic from pods on {self.node}: no local endpoint "
            "under internalTrafficPolicy: Local"
        )


def _proxy_node(node: Node) -> ProxyNode:
    return ProxyNode(node.name, node.internal_ip, dict(node.labels))


def _outcome(local_policy: bool, chosen: Sequence[EndpointInfo], any_endpoint: bool) -> Outcome:
    if not any_endpoint:
        return "rejected"
    if not chosen:
        return "dropped"
    return "local" if local_policy else "cluster"


def node_entries(service: Service, slices: Iterable[EndpointSlice], nodes: Iterable[Node]) -> list[NodeEntry]:
    """Per node and port: external traffic (NodePort/LB/external IPs) and, under a Local internal policy, ClusterIP."""
    by_port = endpoints_by_port(list(slices))
    entries: list[NodeEntry] = []
    for node in sorted(nodes, key=lambda n: n.name):
        proxy_node = _proxy_node(node)
        for info in service_ports([service]):
            split = categorize(endpoints_of(info, by_port), info, proxy_node)
            if info.externally_accessible:
                chosen = split.local if info.external_policy_local else split.cluster
                outcome = _outcome(info.external_policy_local, chosen, split.has_any)
                entries.append(
                    NodeEntry(node.name, node.internal_ip, "external", info.port, info.node_port or None, outcome,
                              tuple(e.address for e in chosen))
                )  # fmt: skip
            if info.internal_policy_local:
                outcome = _outcome(True, split.local, split.has_any)
                entries.append(
                    NodeEntry(node.name, node.internal_ip, "internal", info.port, None, outcome,
                              tuple(e.address for e in split.local))
                )  # fmt: skip
    return entries


def drops(service: Service, slices: Iterable[EndpointSlice], nodes: Iterable[Node]) -> list[str]:
    """The diagnosis lines for nodes that drop the Service's traffic under a Local policy."""
    return [message for entry in node_entries(service, slices, nodes) if (message := entry.message) is not None]
