"""NetworkPolicies in the connectivity diagnosis: which pods of the cluster can no longer reach a Service.

A NetworkPolicy that isolates a Service's pods makes denied clients time out (packets dropped), not
get refused, so nothing in the Service or its endpoints explains it. When the Service's pods are
isolated for ingress, every group of pods in the cluster (pods with the same namespace and labels,
so one replica set is one question) is checked against the policies on both sides. Denied clients
in the Service's own namespace are the likely intended callers and make the finding a warning;
denied clients elsewhere are reported as information, since isolation is usually on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

from k8s_optimizer.analysis import netpol
from k8s_optimizer.analysis.network import resolve_target_port
from k8s_optimizer.domain.objects import Pod, Service
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.recommend.model import Diagnosis

# Bounds the work per Service on large clusters: one evaluation per distinct (namespace, labels).
MAX_CLIENT_GROUPS = 300
_SHOWN = 3


def _client_groups(topology: Topology, backends: list[Pod]) -> list[Pod]:
    """One representative pod per (namespace, labels), backends excluded, in name order."""
    backend_names = {(pod.namespace, pod.name) for pod in backends}
    seen: dict[tuple[str, frozenset[tuple[str, str]]], Pod] = {}
    for (namespace, name), pod in sorted(topology.snapshot.pods.items()):
        if (namespace, name) in backend_names or pod.deleting:
            continue
        seen.setdefault((namespace, frozenset(pod.labels.items())), pod)
        if len(seen) >= MAX_CLIENT_GROUPS:
            break
    return list(seen.values())


def policy_findings(service: Service, topology: Topology) -> Iterator[Diagnosis]:
    snapshot = topology.snapshot
    policies = [p for p in snapshot.network_policies.values() if p.namespace == service.namespace]
    backends = topology.live_selected_pods(service)
    if not policies or not backends or not service.ports:
        return
    target_pod = backends[0]
    port = service.ports[0]
    target = resolve_target_port(port, target_pod)
    if target is None:
        return
    namespaces = {name: dict(ns.labels) for name, ns in snapshot.namespaces.items()}
    every_policy = list(snapshot.network_policies.values())
    destination = netpol.PodPeer.of(target_pod)
    verdicts = [
        netpol.evaluate(netpol.PodPeer.of(client), destination, target, port.protocol, every_policy, namespaces)
        for client in _client_groups(topology, backends)
    ]
    denied = [v for v in verdicts if not v.allowed]
    if not denied:
        return
    local = [v for v in denied if v.source.namespace == service.namespace]
    ordered = local + [v for v in denied if v.source.namespace != service.namespace]
    first = ordered[0]
    more = len(denied) - 1
    message = first.reason + (f" (and {more} more pod group{'s' if more > 1 else ''})" if more else "")
    yield Diagnosis(
        "networkPolicyDenies",
        service.ref(),
        "warning" if local else "info",
        message,
        f"kubectl -n {service.namespace} get networkpolicy -o wide",
        "add an ingress rule admitting the client, or label the client to match an existing rule",
        pods=tuple(v.source.name for v in ordered[:_SHOWN] if v.source.name),
    )
