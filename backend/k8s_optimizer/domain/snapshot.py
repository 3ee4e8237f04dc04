"""A consistent, read-only view of the cluster handed from the live model to the pure core.

The live model (`k8s_optimizer.live`) owns the watch caches and builds one of these on demand; the
analysis and recommendation code take it as plain data, so they can be tested with hand-built
snapshots and never touch I/O. Maps of one kind are keyed by (namespace, name) (cluster-scoped
objects by name); workloads, several kinds in one map, by their `ObjectRef`. Who owns and selects
what is `k8s_optimizer.domain.topology`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from k8s_optimizer.domain.objects import (
    HPA,
    Endpoints,
    EndpointSlice,
    Event,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Node,
    ObjectRef,
    Pod,
    PodDisruptionBudget,
    Service,
    Workload,
)
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage

NamespacedKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """What the cluster does not say about itself: the service CIDR and kind's host port mappings."""

    service_cidr: str = "10.96.0.0/12"
    node_network_cidr: str | None = None  # derived from node IPs when None
    host_port_mappings: dict[int, int] = field(default_factory=dict)  # nodePort -> host port
    cluster_domain: str = "cluster.local"
    kube_proxy_mode: str = "iptables"
    cluster_cidr: str | None = None  # kube-proxy's clusterCIDR; None: derived from the nodes' podCIDRs
    # kube-system/kube-proxy's config.conf (a KubeProxyConfiguration), when the cluster has one.
    kube_proxy_config: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    taken_at: datetime
    namespaces: dict[str, Namespace]
    nodes: dict[str, Node]
    pods: dict[NamespacedKey, Pod]
    services: dict[NamespacedKey, Service]
    endpoints: dict[NamespacedKey, Endpoints]
    workloads: dict[ObjectRef, Workload]
    hpas: dict[NamespacedKey, HPA]
    pdbs: dict[NamespacedKey, PodDisruptionBudget]
    events: dict[NamespacedKey, Event]
    endpoint_slices: dict[NamespacedKey, EndpointSlice] = field(default_factory=dict)
    network_policies: dict[NamespacedKey, NetworkPolicy] = field(default_factory=dict)
    ingresses: dict[NamespacedKey, Ingress] = field(default_factory=dict)
    ingress_classes: dict[str, IngressClass] = field(default_factory=dict)
    container_usage: dict[ContainerKey, ContainerUsage] = field(default_factory=dict)
    node_usage: dict[str, NodeUsage] = field(default_factory=dict)
    network: NetworkSettings = field(default_factory=NetworkSettings)

    def pods_in(self, namespace: str) -> Iterable[Pod]:
        return (pod for (ns, _), pod in self.pods.items() if ns == namespace)
