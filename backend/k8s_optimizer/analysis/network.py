"""The service network map: how a request reaches a pod, computed live from a ClusterSnapshot.

This is the project's networking model (shared/seed/k8s-networking-learnings.md) made executable:
for every Service its DNS name, virtual IP and ports; the endpoints that are the truth of where
traffic lands (pod IP:targetPort, pod, node, node IP); the workloads and HPAs behind them; the
kube-proxy view (iptables mode: rule i of n matches with probability 1/(n−i), so each endpoint gets
1/n overall); and the request paths as ordered hops — in-cluster (client → CoreDNS → ClusterIP →
kube-proxy DNAT → pod) and from the host (localhost:hostPort → kind port mapping → node IP:nodePort
→ kube-proxy → pod) — each hop with the kubectl command that shows its evidence. Which pods back a
Service and which workloads own them come from the snapshot's `Topology`. Pure: the API layer renders
these dataclasses; tests build snapshots by hand.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from k8s_optimizer.domain.objects import Node, ObjectRef, Pod, Service, ServicePort
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology

# Docker's default bridge networks and kind's pod/service ranges are /16s; a narrower supernet of the
# few IPs we see would understate the plane.
_WIDEST_DERIVED_PREFIX = 16


@dataclass(frozen=True, slots=True)
class PortTarget:
    """A service port resolved on one backing pod (named targetPorts looked up in its containers)."""

    pod: str
    container_port: int | None  # None: a named targetPort that the pod does not declare


@dataclass(frozen=True, slots=True)
class PortView:
    name: str | None
    port: int
    protocol: str
    target_port: int | str
    node_port: int | None
    host_port: int | None  # the kind port mapping that reaches node_port, when configured
    targets: tuple[PortTarget, ...]


@dataclass(frozen=True, slots=True)
class EndpointView:
    ip: str
    ports: tuple[int, ...]
    ready: bool
    pod: str | None
    node: str | None
    node_ip: str | None

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(f"{self.ip}:{port}" for port in self.ports)


@dataclass(frozen=True, slots=True)
class HPAView:
    name: str
    min_replicas: int
    max_replicas: int
    current_replicas: int | None
    desired_replicas: int | None


@dataclass(frozen=True, slots=True)
class BackingWorkload:
    kind: str
    name: str
    replicas: int | None
    ready_replicas: int
    hpa: HPAView | None


@dataclass(frozen=True, slots=True)
class ProxyRule:
    """One KUBE-SVC-* rule: matched with `rule_probability` if reached; `probability` overall."""

    index: int
    target: str  # pod IP:port (the DNAT destination)
    pod: str | None
    node: str | None
    rule_probability: Fraction
    probability: Fraction


@dataclass(frozen=True, slots=True)
class ProxyView:
    service_port: int
    protocol: str
    rules: tuple[ProxyRule, ...]


HopKind = Literal[
    "client", "dns", "cluster-ip", "kube-proxy", "pod", "cni", "host", "port-mapping", "node-port", "node"
]


@dataclass(frozen=True, slots=True)
class Hop:
    kind: HopKind
    label: str
    address: str | None
    note: str
    command: str | None  # what shows the evidence (the design's verification checklist)


@dataclass(frozen=True, slots=True)
class Branch:
    """The end of a path for one endpoint: its probability and the hops from kube-proxy on."""

    target: str
    probability: Fraction
    cross_node: bool | None  # None: the client's node is unknown
    hops: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class RequestPath:
    kind: Literal["cluster-ip", "node-port"]
    service_port: int
    hops: tuple[Hop, ...]  # up to and including kube-proxy
    branches: tuple[Branch, ...]


@dataclass(frozen=True, slots=True)
class ServiceMap:
    namespace: str
    name: str
    dns_name: str
    type: str
    cluster_ip: str | None
    selector: dict[str, str] | None
    ports: tuple[PortView, ...]
    endpoints: tuple[EndpointView, ...]
    workloads: tuple[BackingWorkload, ...]
    kube_proxy: tuple[ProxyView, ...]
    paths: tuple[RequestPath, ...]

    @property
    def ready_endpoints(self) -> tuple[EndpointView, ...]:
        return tuple(e for e in self.endpoints if e.ready)


@dataclass(frozen=True, slots=True)
class NetworkPlane:
    name: Literal["node", "pod", "service"]
    cidr: str | None
    members: tuple[str, ...]  # node IPs, per-node pod CIDRs, or service ClusterIPs
    note: str


@dataclass(frozen=True, slots=True)
class NetworkMap:
    planes: tuple[NetworkPlane, ...]
    dns_service_ip: str | None
    services: tuple[ServiceMap, ...]


# -- ports and endpoints -----------------------------------------------------------------------------


def resolve_target_port(port: ServicePort, pod: Pod) -> int | None:
    """A numeric targetPort is used as is; a named one is the container port of that name and protocol."""
    if isinstance(port.target_port, int):
        return port.target_port
    for container in pod.containers:
        for container_port in container.ports:
            if container_port.name == port.target_port and container_port.protocol == port.protocol:
                return container_port.container_port
    return None


def _port_views(snapshot: ClusterSnapshot, service: Service, pods: Sequence[Pod]) -> tuple[PortView, ...]:
    mappings = snapshot.network.host_port_mappings
    return tuple(
        PortView(
            name=port.name,
            port=port.port,
            protocol=port.protocol,
            target_port=port.target_port,
            node_port=port.node_port,
            host_port=mappings.get(port.node_port) if port.node_port is not None else None,
            targets=tuple(PortTarget(pod.name, resolve_target_port(port, pod)) for pod in pods),
        )
        for port in service.ports
    )


def _endpoint_views(snapshot: ClusterSnapshot, service: Service) -> tuple[EndpointView, ...]:
    endpoints = snapshot.endpoints.get((service.namespace, service.name))
    if endpoints is None:
        return ()
    ports = tuple(port.port for port in endpoints.ports)
    views: list[EndpointView] = []
    for address in endpoints.addresses:
        pod = snapshot.pods.get((service.namespace, address.pod_name)) if address.pod_name else None
        node_name = address.node_name or (pod.node_name if pod else None)
        node = snapshot.nodes.get(node_name) if node_name else None
        views.append(
            EndpointView(
                ip=address.ip,
                ports=ports,
                ready=address.ready,
                pod=address.pod_name,
                node=node_name,
                node_ip=node.internal_ip if node else (pod.host_ip if pod else None),
            )
        )
    return tuple(views)


def _endpoint_port(snapshot: ClusterSnapshot, service: Service, port: ServicePort) -> int | None:
    """The endpoints' port for a service port: matched by name (single-port services need none)."""
    endpoints = snapshot.endpoints.get((service.namespace, service.name))
    if endpoints is None or not endpoints.ports:
        return port.target_port if isinstance(port.target_port, int) else None
    for endpoint_port in endpoints.ports:
        if endpoint_port.name == port.name and endpoint_port.protocol == port.protocol:
            return endpoint_port.port
    return endpoints.ports[0].port if len(endpoints.ports) == 1 else None


def _workloads(topology: Topology, pods: Iterable[Pod]) -> tuple[BackingWorkload, ...]:
    refs = sorted({ref for ref in (topology.owner(pod) for pod in pods) if ref is not None}, key=ObjectRef.key)
    result: list[BackingWorkload] = []
    for ref in refs:
        workload = topology.snapshot.workloads.get(ref)
        hpa = topology.hpa_for(ref)
        result.append(
            BackingWorkload(
                kind=ref.kind,
                name=ref.name,
                replicas=workload.replicas if workload else None,
                ready_replicas=workload.ready_replicas if workload else 0,
                hpa=HPAView(hpa.name, hpa.min_replicas, hpa.max_replicas, hpa.current_replicas, hpa.desired_replicas)
                if hpa
                else None,
            )
        )
    return tuple(result)


# -- kube-proxy ----------------------------------------------------------------------------------------


def iptables_probabilities(count: int) -> list[tuple[Fraction, Fraction]]:
    """(rule probability, overall probability) per rule: rule i of n matches 1/(n−i) ⇒ each 1/n overall."""
    result: list[tuple[Fraction, Fraction]] = []
    remaining = Fraction(1)
    for index in range(count):
        rule = Fraction(1, count - index)
        result.append((rule, remaining * rule))
        remaining *= 1 - rule
    return result


def _proxy_views(
    snapshot: ClusterSnapshot, service: Service, endpoints: Sequence[EndpointView]
) -> tuple[ProxyView, ...]:
    ready = [endpoint for endpoint in endpoints if endpoint.ready]
    views: list[ProxyView] = []
    for port in service.ports:
        target_port = _endpoint_port(snapshot, service, port)
        probabilities = iptables_probabilities(len(ready)) if target_port is not None else []
        rules = tuple(
            ProxyRule(index, f"{endpoint.ip}:{target_port}", endpoint.pod, endpoint.node, rule, overall)
            for index, (endpoint, (rule, overall)) in enumerate(zip(ready, probabilities, strict=False))
        )
        views.append(ProxyView(port.port, port.protocol, rules))
    return tuple(views)


# -- request paths -------------------------------------------------------------------------------------


def _ns(service: Service) -> str:
    return f"kubectl -n {service.namespace}"


def _branches(
    service: Service, proxy: ProxyView, endpoints: Sequence[EndpointView], from_node: str | None
) -> tuple[Branch, ...]:
    by_ip = {endpoint.ip: endpoint for endpoint in endpoints}
    branches: list[Branch] = []
    for rule in proxy.rules:
        endpoint = by_ip.get(rule.target.rsplit(":", 1)[0])
        node_label = f"{rule.node} ({endpoint.node_ip})" if endpoint and endpoint.node_ip else str(rule.node)
        cross_node = None if from_node is None or rule.node is None else rule.node != from_node
        hops: list[Hop] = []
        if cross_node:
            hops.append(
                Hop(
                    "cni",
                    f"CNI node-to-node delivery {from_node} → {rule.node}",
                    endpoint.node_ip if endpoint else None,
                    "pod IPs are routed between nodes by the CNI (no NAT)",
                    "kubectl get nodes -o wide",
                )
            )
        hops.append(
            Hop(
                "pod",
                f"pod {rule.pod} on {node_label}",
                rule.target,
                "the packet arrives at the pod IP and targetPort",
                f"{_ns(service)} get pod {rule.pod} -o wide" if rule.pod else f"{_ns(service)} get pods -o wide",
            )
        )
        branches.append(Branch(rule.target, rule.probability, cross_node, tuple(hops)))
    return tuple(branches)


def _kube_proxy_hop(service: Service, proxy: ProxyView) -> Hop:
    count = len(proxy.rules)
    note = (
        f"DNAT to one of {count} ready endpoints, each with probability 1/{count}"
        if count
        else "no ready endpoints: the connection is rejected"
    )
    return Hop(
        "kube-proxy",
        "kube-proxy rules (iptables KUBE-SVC → KUBE-SEP, DNAT)",
        None,
        note,
        f"{_ns(service)} get endpoints {service.name} -o wide",
    )


def _cluster_ip_path(
    service: Service, proxy: ProxyView, endpoints: Sequence[EndpointView], dns_ip: str | None, client: Pod | None
) -> RequestPath:
    client_label = f"client pod {client.name} on {client.node_name}" if client else "client pod"
    hops = (
        Hop("client", client_label, client.pod_ip if client else None, "any pod in the cluster", None),
        Hop(
            "dns",
            f"CoreDNS resolves {service.dns_name}",
            f"{dns_ip}:53" if dns_ip else None,
            f"answers {service.cluster_ip}",
            "kubectl -n kube-system get svc kube-dns -o wide",
        ),
        Hop(
            "cluster-ip",
            f"Service {service.name} ClusterIP",
            f"{service.cluster_ip}:{proxy.service_port}",
            "a virtual IP: no interface owns it; kube-proxy rules match it",
            f"{_ns(service)} get svc {service.name} -o wide",
        ),
        _kube_proxy_hop(service, proxy),
    )
    from_node = client.node_name if client else None
    return RequestPath("cluster-ip", proxy.service_port, hops, _branches(service, proxy, endpoints, from_node))


def _node_port_path(
    service: Service, port: PortView, proxy: ProxyView, endpoints: Sequence[EndpointView], entry: Node | None
) -> RequestPath:
    hops: list[Hop] = []
    entry_ip = entry.internal_ip if entry else None
    if port.host_port is not None:
        hops.append(Hop("host", "host", f"localhost:{port.host_port}", "e.g. a browser on the host", None))
        hops.append(
            Hop(
                "port-mapping",
                f"kind port mapping {port.host_port} → {port.node_port}",
                None,
                "Docker NAT from the host port to the node container (kind extraPortMappings)",
                "kubectl get nodes -o wide",
            )
        )
    hops.append(
        Hop(
            "node-port",
            f"NodePort {port.node_port} on {entry.name if entry else 'any node'}",
            f"{entry_ip}:{port.node_port}" if entry_ip else None,
            "every node listens on the NodePort",
            f"{_ns(service)} get svc {service.name} -o wide",
        )
    )
    hops.append(_kube_proxy_hop(service, proxy))
    from_node = entry.name if entry else None
    return RequestPath("node-port", port.port, tuple(hops), _branches(service, proxy, endpoints, from_node))


def entry_node(snapshot: ClusterSnapshot) -> Node | None:
    """Where kind's port mappings land: the control-plane node (kind maps ports on it), else the first node."""
    nodes = sorted(snapshot.nodes.values(), key=lambda node: node.name)
    return next((node for node in nodes if "control-plane" in node.roles), nodes[0] if nodes else None)


def dns_service_ip(snapshot: ClusterSnapshot) -> str | None:
    service = snapshot.services.get(("kube-system", "kube-dns")) or snapshot.services.get(("kube-system", "coredns"))
    return service.cluster_ip if service else None


def service_map(topology: Topology, service: Service, *, client: Pod | None = None) -> ServiceMap:
    snapshot = topology.snapshot
    pods = topology.backing_pods(service)
    endpoints = _endpoint_views(snapshot, service)
    ports = _port_views(snapshot, service, pods)
    proxy = _proxy_views(snapshot, service, endpoints)
    dns_ip = dns_service_ip(snapshot)
    paths: list[RequestPath] = []
    entry = entry_node(snapshot)
    for port, proxy_view in zip(ports, proxy, strict=True):
        if service.cluster_ip is not None:
            paths.append(_cluster_ip_path(service, proxy_view, endpoints, dns_ip, client))
        if port.node_port is not None:
            paths.append(_node_port_path(service, port, proxy_view, endpoints, entry))
    endpoint_pods = [
        snapshot.pods[(service.namespace, e.pod)]
        for e in endpoints
        if e.pod and (service.namespace, e.pod) in snapshot.pods
    ]
    return ServiceMap(
        namespace=service.namespace,
        name=service.name,
        dns_name=f"{service.name}.{service.namespace}.svc.{snapshot.network.cluster_domain}",
        type=service.type,
        cluster_ip=service.cluster_ip,
        selector=dict(service.selector) if service.selector is not None else None,
        ports=ports,
        endpoints=endpoints,
        workloads=_workloads(topology, [*pods, *endpoint_pods]),
        kube_proxy=proxy,
        paths=tuple(paths),
    )


# -- network planes ------------------------------------------------------------------------------------


def common_network(addresses: Iterable[str], *, widest_prefix: int = _WIDEST_DERIVED_PREFIX) -> str | None:
    """The smallest network holding every address/CIDR given, widened to `widest_prefix` (e.g. /16)."""
    networks = []
    for address in addresses:
        try:
            networks.append(ipaddress.ip_network(address, strict=False))
        except ValueError:
            continue
    if not networks or len({network.version for network in networks}) != 1:
        return None
    candidate = networks[0].supernet(new_prefix=min(widest_prefix, networks[0].prefixlen))
    while not all(network.subnet_of(candidate) for network in networks):  # type: ignore[arg-type]
        if candidate.prefixlen == 0:
            return None
        candidate = candidate.supernet()
    return str(candidate)


def network_planes(snapshot: ClusterSnapshot) -> tuple[NetworkPlane, ...]:
    nodes = sorted(snapshot.nodes.values(), key=lambda node: node.name)
    node_ips = tuple(node.internal_ip for node in nodes if node.internal_ip)
    pod_cidrs = tuple(node.pod_cidr for node in nodes if node.pod_cidr)
    pod_ips = [pod.pod_ip for pod in snapshot.pods.values() if pod.pod_ip and pod.pod_ip not in node_ips]
    cluster_ips = tuple(sorted({s.cluster_ip for s in snapshot.services.values() if s.cluster_ip}))
    return (
        NetworkPlane(
            "node",
            snapshot.network.node_network_cidr or common_network(node_ips),
            node_ips,
            "node-to-node traffic (kind: the Docker network)",
        ),
        NetworkPlane(
            "pod",
            common_network(pod_cidrs or pod_ips),
            pod_cidrs,
            "real pod IPs, routed between nodes by the CNI",
        ),
        NetworkPlane(
            "service",
            snapshot.network.service_cidr,
            cluster_ips,
            "virtual ClusterIPs, implemented by kube-proxy rules",
        ),
    )


def network_map(topology: Topology, *, client: Pod | None = None) -> NetworkMap:
    """The whole map: planes, the cluster DNS address and every Service (sorted by namespace, name)."""
    snapshot = topology.snapshot
    services = tuple(service_map(topology, snapshot.services[key], client=client) for key in sorted(snapshot.services))
    return NetworkMap(network_planes(snapshot), dns_service_ip(snapshot), services)
