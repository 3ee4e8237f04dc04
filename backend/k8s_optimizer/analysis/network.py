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
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from k8s_optimizer.analysis.ingress import Route, routes_to
from k8s_optimizer.domain.objects import EndpointSlice, Ingress, Node, ObjectRef, Pod, Service, ServicePort
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
    terminating: bool = False  # from the EndpointSlice: still serving while the pod shuts down

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(host_port(self.ip, port) for port in self.ports)


def host_port(ip: str, port: int) -> str:
    """ip:port, an IPv6 address in brackets as every tool writes it ([fd00::9]:80)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


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
    evidence: str | None = None  # the kubectl command listing what the rules come from


HopKind = Literal[
    "client",
    "dns",
    "cluster-ip",
    "kube-proxy",
    "pod",
    "cni",
    "host",
    "port-mapping",
    "node-port",
    "node",
    "load-balancer",
    "external",
    "ingress",
]
PathKind = Literal["cluster-ip", "node-port", "load-balancer", "headless", "external-name", "ingress"]


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
    kind: PathKind
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


def slices_of(snapshot: ClusterSnapshot, service: Service) -> list[EndpointSlice]:
    return [
        e
        for e in snapshot.endpoint_slices.values()
        if (e.namespace, e.service_name) == (service.namespace, service.name)
    ]


def _endpoint_view(
    snapshot: ClusterSnapshot, service: Service, ip: str, ready: bool, pod_name: str | None, node_name: str | None
) -> EndpointView:
    pod = snapshot.pods.get((service.namespace, pod_name)) if pod_name else None
    node_name = node_name or (pod.node_name if pod else None)
    node = snapshot.nodes.get(node_name) if node_name else None
    node_ip = node.internal_ip if node else (pod.host_ip if pod else None)
    return EndpointView(ip=ip, ports=(), ready=ready, pod=pod_name, node=node_name, node_ip=node_ip)


def _slice_views(snapshot: ClusterSnapshot, service: Service, slices: list[EndpointSlice]) -> tuple[EndpointView, ...]:
    """EndpointSlices are the truth kube-proxy reads: ready/terminating, both IP families, many slices.

    One view per address, its ports gathered from every slice naming it (the embedded cluster, like
    the real controller, may cut one slice per port combination): one per (port, protocol, name).
    """
    views: dict[str, EndpointView] = {}
    ports: dict[str, dict[tuple[int, str, str | None], None]] = {}
    for endpoint_slice in sorted(slices, key=lambda e: e.name):
        if endpoint_slice.address_type not in ("IPv4", "IPv6"):
            continue
        for endpoint in endpoint_slice.endpoints:
            for ip in endpoint.addresses[:1]:
                view = _endpoint_view(snapshot, service, ip, endpoint.ready, endpoint.pod_name, endpoint.node_name)
                views.setdefault(ip, replace(view, terminating=endpoint.terminating))
                known = ports.setdefault(ip, {})
                for port in endpoint_slice.ports:
                    known.setdefault((port.port, port.protocol, port.name), None)
    complete = [
        replace(view, ports=tuple(p for p, _, _ in sorted(ports[ip], key=lambda k: (k[0], k[1], k[2] or ""))))
        for ip, view in views.items()
    ]
    return tuple([v for v in complete if v.ready] + [v for v in complete if not v.ready])


def _endpoint_views(
    snapshot: ClusterSnapshot, service: Service, slices: list[EndpointSlice]
) -> tuple[EndpointView, ...]:
    if slices:
        return _slice_views(snapshot, service, slices)
    endpoints = snapshot.endpoints.get((service.namespace, service.name))
    if endpoints is None:
        return ()
    ports = tuple(port.port for port in endpoints.ports)
    return tuple(
        replace(_endpoint_view(snapshot, service, a.ip, a.ready, a.pod_name, a.node_name), ports=ports)
        for a in endpoints.addresses
    )


def _endpoint_port(
    snapshot: ClusterSnapshot, service: Service, port: ServicePort, slices: list[EndpointSlice]
) -> int | None:
    """The endpoints' port for a service port: matched by name (single-port services need none)."""
    if slices:
        candidates = list({(p.port, p.name, p.protocol): p for e in slices for p in e.ports}.values())
    else:
        endpoints = snapshot.endpoints.get((service.namespace, service.name))
        candidates = list(endpoints.ports) if endpoints is not None else []
    if not candidates:
        return port.target_port if isinstance(port.target_port, int) else None
    for endpoint_port in candidates:
        if endpoint_port.name == port.name and endpoint_port.protocol == port.protocol:
            return endpoint_port.port
    return candidates[0].port if len(candidates) == 1 else None


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
    snapshot: ClusterSnapshot, service: Service, endpoints: Sequence[EndpointView], slices: list[EndpointSlice]
) -> tuple[ProxyView, ...]:
    ready = [endpoint for endpoint in endpoints if endpoint.ready]
    evidence = (
        f"{_ns(service)} get endpointslices -l kubernetes.io/service-name={service.name} -o wide" if slices else None
    )
    views: list[ProxyView] = []
    for port in service.ports:
        target_port = _endpoint_port(snapshot, service, port, slices)
        if target_port is None:
            views.append(ProxyView(port.port, port.protocol, (), evidence))
            continue
        rules = tuple(
            ProxyRule(index, host_port(endpoint.ip, target_port), endpoint.pod, endpoint.node, rule, overall)
            for index, (endpoint, (rule, overall)) in enumerate(
                zip(ready, iptables_probabilities(len(ready)), strict=True)
            )
        )
        views.append(ProxyView(port.port, port.protocol, rules, evidence))
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
        endpoint = by_ip.get(rule.target.rsplit(":", 1)[0].strip("[]"))
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


def _kube_proxy_hop(service: Service, proxy: ProxyView, dropped_on: str | None = None) -> Hop:
    """The DNAT hop; its evidence is the EndpointSlices when the Service has them, else its Endpoints."""
    count = len(proxy.rules)
    if dropped_on is not None:
        note = f"externalTrafficPolicy: Local and no endpoint on {dropped_on}: the packet is dropped (clients time out)"
    elif count:
        note = f"DNAT to one of {count} ready endpoints, each with probability 1/{count}"
    else:
        note = "no ready endpoints: the connection is rejected"
    return Hop(
        "kube-proxy",
        "kube-proxy rules (iptables KUBE-SVC → KUBE-SEP, DNAT)",
        None,
        note,
        proxy.evidence or f"{_ns(service)} get endpoints {service.name} -o wide",
    )


def _dns_hop(service: Service, dns_ip: str | None, answer: str) -> Hop:
    return Hop(
        "dns",
        f"CoreDNS resolves {service.dns_name}",
        f"{dns_ip}:53" if dns_ip else None,
        answer,
        "kubectl -n kube-system get svc kube-dns -o wide",
    )


def _client_hop(client: Pod | None) -> Hop:
    client_label = f"client pod {client.name} on {client.node_name}" if client else "client pod"
    return Hop("client", client_label, client.pod_ip if client else None, "any pod in the cluster", None)


def _cluster_ip_path(
    service: Service,
    cluster_ip: str,
    proxy: ProxyView,
    endpoints: Sequence[EndpointView],
    dns_ip: str | None,
    client: Pod | None,
) -> RequestPath:
    hops = (
        _client_hop(client),
        _dns_hop(service, dns_ip, f"answers {cluster_ip}"),
        Hop(
            "cluster-ip",
            f"Service {service.name} ClusterIP",
            host_port(cluster_ip, proxy.service_port),
            "a virtual IP: no interface owns it; kube-proxy rules match it",
            f"{_ns(service)} get svc {service.name} -o wide",
        ),
        _kube_proxy_hop(service, proxy),
    )
    from_node = client.node_name if client else None
    return RequestPath("cluster-ip", proxy.service_port, hops, _branches(service, proxy, endpoints, from_node))


def _local_only(proxy: ProxyView, node: Node | None) -> ProxyView:
    """Under externalTrafficPolicy: Local only the entry node's endpoints are chosen, each 1/k."""
    local = [rule for rule in proxy.rules if node is not None and rule.node == node.name]
    shares = iptables_probabilities(len(local))
    rules = tuple(
        replace(rule, index=i, rule_probability=share, probability=overall)
        for i, (rule, (share, overall)) in enumerate(zip(local, shares, strict=True))
    )
    return replace(proxy, rules=rules)


def _external_tail(
    service: Service, proxy: ProxyView, endpoints: Sequence[EndpointView], entry: Node | None
) -> tuple[Hop, tuple[Branch, ...]]:
    """kube-proxy's hop and branches for traffic entering on `entry` (NodePort, LoadBalancer)."""
    if service.external_traffic_policy == "Local":
        proxy = _local_only(proxy, entry)
        dropped = entry.name if entry is not None and not proxy.rules else None
        return _kube_proxy_hop(service, proxy, dropped), _branches(
            service, proxy, endpoints, entry.name if entry else None
        )
    return _kube_proxy_hop(service, proxy), _branches(service, proxy, endpoints, entry.name if entry else None)


def _node_port_hop(service: Service, port: PortView, entry: Node | None) -> Hop:
    entry_ip = entry.internal_ip if entry else None
    return Hop(
        "node-port",
        f"NodePort {port.node_port} on {entry.name if entry else 'any node'}",
        host_port(entry_ip, port.node_port or 0) if entry_ip else None,
        "every node listens on the NodePort",
        f"{_ns(service)} get svc {service.name} -o wide",
    )


def _node_port_path(
    service: Service, port: PortView, proxy: ProxyView, endpoints: Sequence[EndpointView], entry: Node | None
) -> RequestPath:
    hops: list[Hop] = []
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
    hops.append(_node_port_hop(service, port, entry))
    proxy_hop, branches = _external_tail(service, proxy, endpoints, entry)
    hops.append(proxy_hop)
    return RequestPath("node-port", port.port, tuple(hops), branches)


def _load_balancer_path(
    service: Service, ip: str, port: PortView, proxy: ProxyView, endpoints: Sequence[EndpointView], entry: Node | None
) -> RequestPath:
    hops: list[Hop] = [
        Hop("client", "client outside the cluster", None, "any client that reaches the load balancer", None),
        Hop(
            "load-balancer",
            f"LoadBalancer ingress {ip}",
            host_port(ip, port.port),
            "status.loadBalancer.ingress: the provider's load balancer (or kube-proxy on a node, for VIP-style "
            "balancers) forwards to the NodePort of a node",
            f"{_ns(service)} get svc {service.name} -o wide",
        ),
    ]
    if port.node_port is not None:
        hops.append(_node_port_hop(service, port, entry))
    proxy_hop, branches = _external_tail(service, proxy, endpoints, entry)
    hops.append(proxy_hop)
    return RequestPath("load-balancer", port.port, tuple(hops), branches)


def _headless_path(
    service: Service, port: PortView, endpoints: Sequence[EndpointView], dns_ip: str | None, client: Pod | None
) -> RequestPath:
    """No ClusterIP, no DNAT: DNS answers the ready pods' IPs and the client connects to one of them."""
    ready = [e for e in endpoints if e.ready or service.publish_not_ready_addresses]
    target = port.target_port if isinstance(port.target_port, int) else port.port
    answer = ", ".join(e.ip for e in ready) or "no addresses (no ready endpoints)"
    hops = (
        _client_hop(client),
        _dns_hop(service, dns_ip, f"headless: answers the pod IPs {answer}; no virtual IP, no kube-proxy"),
    )
    share = Fraction(1, len(ready)) if ready else Fraction(0)
    branches = tuple(
        Branch(
            host_port(e.ip, e.ports[0] if e.ports else target),
            share,
            None if client is None or e.node is None else e.node != client.node_name,
            (
                Hop(
                    "pod",
                    f"pod {e.pod} on {e.node}" + (f" — also {e.pod}.{service.dns_name}" if e.pod else ""),
                    host_port(e.ip, e.ports[0] if e.ports else target),
                    "the client picks an address from the DNS answer (per-pod names for StatefulSet pods)",
                    f"{_ns(service)} get pod {e.pod} -o wide" if e.pod else None,
                ),
            ),
        )
        for e in ready
    )
    return RequestPath("headless", port.port, hops, branches)


def _external_name_path(service: Service, dns_ip: str | None, client: Pod | None) -> RequestPath:
    name = service.external_name or "(no externalName)"
    hops = (
        _client_hop(client),
        _dns_hop(service, dns_ip, f"ExternalName: answers a CNAME to {name}; nothing in the cluster proxies"),
        Hop(
            "external", name, None, "resolved and reached outside the cluster", f"{_ns(service)} get svc {service.name}"
        ),
    )
    port = service.ports[0].port if service.ports else 0
    return RequestPath("external-name", port, hops, ())


def entry_node(snapshot: ClusterSnapshot) -> Node | None:
    """Where kind's port mappings land: the control-plane node (kind maps ports on it), else the first node."""
    nodes = sorted(snapshot.nodes.values(), key=lambda node: node.name)
    return next((node for node in nodes if "control-plane" in node.roles), nodes[0] if nodes else None)


def dns_service_ip(snapshot: ClusterSnapshot) -> str | None:
    service = snapshot.services.get(("kube-system", "kube-dns")) or snapshot.services.get(("kube-system", "coredns"))
    return service.cluster_ip if service else None


def _ingress_path(
    service: Service, route: Route, proxy: ProxyView, endpoints: Sequence[EndpointView], ingress: Ingress
) -> RequestPath:
    where = f"{route.host or '*'}{route.path or ' (default backend)'}"
    entry = ", ".join(ingress.load_balancer_ips) or "the ingress controller's Service"
    hops = (
        Hop("client", "client outside the cluster", None, f"HTTP(S) to {where}", None),
        Hop(
            "ingress",
            f"Ingress {ingress.name} ({ingress.ingress_class or 'default class'}): {where}",
            entry,
            f"the {route.path_type or 'default'} rule routes to Service {service.name} port "
            f"{route.backend.service_port}; TLS for {', '.join(ingress.tls_hosts) or 'no host'}",
            f"{_ns(service)} get ingress {ingress.name} -o wide",
        ),
        Hop(
            "cluster-ip",
            f"Service {service.name}",
            host_port(service.cluster_ip, proxy.service_port) if service.cluster_ip else None,
            "the controller proxies to the Service (or straight to its endpoints, as ingress-nginx does)",
            f"{_ns(service)} get svc {service.name} -o wide",
        ),
        _kube_proxy_hop(service, proxy),
    )
    return RequestPath("ingress", proxy.service_port, hops, _branches(service, proxy, endpoints, None))


def _ingress_paths(
    service: Service, ingresses: Sequence[Ingress], proxy: Sequence[ProxyView], endpoints: Sequence[EndpointView]
) -> list[RequestPath]:
    by_name = {ingress.name: ingress for ingress in ingresses}
    paths: list[RequestPath] = []
    for route in routes_to(service, ingresses):
        port = route.backend.service_port
        matching = [(view, p) for view, p in zip(proxy, service.ports, strict=True) if port in (p.port, p.name)]
        for view, _ in matching[:1]:
            paths.append(_ingress_path(service, route, view, endpoints, by_name[route.ingress.name]))
    return paths


def _paths(
    service: Service,
    ports: Sequence[PortView],
    proxy: Sequence[ProxyView],
    endpoints: Sequence[EndpointView],
    context: tuple[str | None, Pod | None, Node | None],
) -> list[RequestPath]:
    dns_ip, client, entry = context
    if service.type == "ExternalName":
        return [_external_name_path(service, dns_ip, client)]
    if service.cluster_ip is None:
        return [_headless_path(service, port, endpoints, dns_ip, client) for port in ports]
    paths: list[RequestPath] = []
    for port, proxy_view in zip(ports, proxy, strict=True):
        for cluster_ip in service.cluster_ips or (service.cluster_ip,):
            paths.append(_cluster_ip_path(service, cluster_ip, proxy_view, endpoints, dns_ip, client))
        if port.node_port is not None:
            paths.append(_node_port_path(service, port, proxy_view, endpoints, entry))
        if service.type == "LoadBalancer":
            paths.extend(
                _load_balancer_path(service, ip, port, proxy_view, endpoints, entry) for ip in service.load_balancer_ips
            )
    return paths


def service_map(
    topology: Topology, service: Service, *, client: Pod | None = None, slices: list[EndpointSlice] | None = None
) -> ServiceMap:
    """One Service's map; `slices` are its EndpointSlices when the caller has them grouped already."""
    snapshot = topology.snapshot
    own_slices = slices_of(snapshot, service) if slices is None else slices
    pods = topology.backing_pods(service)
    endpoints = _endpoint_views(snapshot, service, own_slices)
    ports = _port_views(snapshot, service, pods)
    proxy = _proxy_views(snapshot, service, endpoints, own_slices)
    paths = _paths(service, ports, proxy, endpoints, (dns_service_ip(snapshot), client, entry_node(snapshot)))
    ingresses = [i for i in snapshot.ingresses.values() if i.namespace == service.namespace]
    paths.extend(_ingress_paths(service, ingresses, proxy, endpoints))
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
    grouped: dict[tuple[str, str], list[EndpointSlice]] = {}
    for endpoint_slice in snapshot.endpoint_slices.values():
        if endpoint_slice.service_name is not None:
            grouped.setdefault((endpoint_slice.namespace, endpoint_slice.service_name), []).append(endpoint_slice)
    services = tuple(
        service_map(topology, snapshot.services[key], client=client, slices=grouped.get(key, []))
        for key in sorted(snapshot.services)
    )
    return NetworkMap(network_planes(snapshot), dns_service_ip(snapshot), services)
