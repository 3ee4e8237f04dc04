"""What kube-proxy knows of each Service port and its endpoints, derived the way kube-proxy derives it.

Shared by every proxy mode: which Services are proxied at all (not headless, not ExternalName, a
ClusterIP of the node's family), the chain names (a base32 SHA-256 of "ns/name:port" + protocol, cut
to 16 characters), the endpoints behind a port (from EndpointSlices, deduplicated and sorted by
"ip:port" as kube-proxy's endpoint cache does) and the split of those endpoints under the Service's
internal and external traffic policies (kube-proxy's CategorizeEndpoints, including the fallback to
serving-and-terminating endpoints and topology hints).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from k8s_optimizer.domain.objects import EndpointSlice, Labels, Service, ServicePort

IPFamily = Literal["IPv4", "IPv6"]
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True, slots=True)
class ProxyNode:
    """The node kube-proxy runs on: its name decides which endpoints are local."""

    name: str
    ip: str | None = None
    labels: Labels = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """kube-proxy's settings that change the rules it writes (defaults: kubeadm and kind's)."""

    cluster_cidr: str | None = None  # the local-traffic detector; None: not implemented
    masquerade_all: bool = False
    masquerade_bit: int = 14
    localhost_node_ports: bool = True
    # kube-proxy ≥ 1.29 counts localhost NodePort and invalid-conntrack packets with nfacct when the
    # kernel offers it (kind's does).
    nfacct: bool = True
    conntrack_tcp_liberal: bool = False
    ip_family: IPFamily = "IPv4"

    @property
    def masquerade_mark(self) -> str:
        # kube-proxy formats it "%#08x" (0x004000); iptables reads that as 0x4000 and every
        # iptables-save, like kube-proxy's own test tables, prints the short form.
        return f"{1 << self.masquerade_bit:#x}"


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    digest = hashlib.sha256((service_port_name + protocol).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    ip: str
    port: int
    ready: bool
    serving: bool
    terminating: bool
    node_name: str | None
    zone_hints: frozenset[str] = frozenset()
    pod_name: str | None = None

    @property
    def address(self) -> str:
        """ip:port, IPv6 in brackets (Go's net.JoinHostPort)."""
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    def is_local(self, node: ProxyNode) -> bool:
        return self.node_name == node.name


@dataclass(frozen=True, slots=True)
class ServicePortInfo:
    """One Service port as kube-proxy's service map holds it."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int
    external_ips: tuple[str, ...]
    load_balancer_vips: tuple[str, ...]
    load_balancer_source_ranges: tuple[str, ...]
    external_policy_local: bool
    internal_policy_local: bool
    health_check_node_port: int
    sticky_seconds: int | None
    topology_mode: str | None

    @property
    def name_string(self) -> str:
        suffix = f":{self.port_name}" if self.port_name else ""
        return f"{self.namespace}/{self.name}{suffix}"

    @property
    def lower_protocol(self) -> str:
        return self.protocol.lower()

    def _chain(self, prefix: str) -> str:
        return prefix + port_proto_hash(self.name_string, self.lower_protocol)

    @property
    def cluster_policy_chain(self) -> str:
        return self._chain("KUBE-SVC-")

    @property
    def local_policy_chain(self) -> str:
        return self._chain("KUBE-SVL-")

    @property
    def external_chain(self) -> str:
        return self._chain("KUBE-EXT-")

    @property
    def firewall_chain(self) -> str:
        return self._chain("KUBE-FW-")

    def endpoint_chain(self, endpoint: EndpointInfo) -> str:
        digest = hashlib.sha256((self.name_string + self.lower_protocol + endpoint.address).encode()).digest()
        return "KUBE-SEP-" + base64.b32encode(digest).decode()[:16]

    @property
    def externally_accessible(self) -> bool:
        return self.node_port != 0 or bool(self.load_balancer_vips) or bool(self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        return not self.internal_policy_local or (self.externally_accessible and not self.external_policy_local)

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or (self.externally_accessible and self.external_policy_local)


def _family_of(ip: str) -> IPFamily | None:
    try:
        return "IPv4" if ipaddress.ip_address(ip.strip()).version == 4 else "IPv6"
    except ValueError:
        return None


def _of_family(ips: Iterable[str], family: IPFamily) -> tuple[str, ...]:
    return tuple(ip for ip in ips if _family_of(ip) == family)


def _source_ranges(ranges: Iterable[str], family: IPFamily) -> tuple[str, ...]:
    """Valid CIDRs of the family, whitespace trimmed; kube-proxy ignores the invalid ones."""
    parsed: list[str] = []
    for text in ranges:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if (network.version == 4) == (family == "IPv4"):
            parsed.append(str(network))
    return tuple(parsed)


def _externally_accessible_type(service: Service) -> bool:
    return service.type in ("LoadBalancer", "NodePort") or (service.type == "ClusterIP" and bool(service.external_ips))


def _cluster_ip_of(service: Service, family: IPFamily) -> str | None:
    candidates = service.cluster_ips or ((service.cluster_ip,) if service.cluster_ip else ())
    return next((ip for ip in candidates if _family_of(ip) == family), None)


def _port_info(service: Service, port: ServicePort, cluster_ip: str, family: IPFamily) -> ServicePortInfo:
    external_local = _externally_accessible_type(service) and service.external_traffic_policy == "Local"
    needs_health_check = service.type == "LoadBalancer" and external_local
    return ServicePortInfo(
        namespace=service.namespace,
        name=service.name,
        port_name=port.name or "",
        protocol=port.protocol,
        cluster_ip=cluster_ip,
        port=port.port,
        node_port=port.node_port or 0,
        external_ips=_of_family(service.external_ips, family),
        load_balancer_vips=_of_family(service.load_balancer_ips, family) if service.type == "LoadBalancer" else (),
        load_balancer_source_ranges=_source_ranges(service.load_balancer_source_ranges, family),
        external_policy_local=external_local,
        internal_policy_local=service.internal_traffic_policy == "Local",
        health_check_node_port=(service.health_check_node_port or 0) if needs_health_check else 0,
        sticky_seconds=service.session_affinity_timeout_seconds,
        topology_mode=service.topology_mode,
    )


def service_ports(services: Iterable[Service], family: IPFamily = "IPv4") -> list[ServicePortInfo]:
    """Every proxied Service port of one IP family; headless and ExternalName Services get no rules."""
    infos: list[ServicePortInfo] = []
    for service in services:
        if service.type == "ExternalName":
            continue
        cluster_ip = _cluster_ip_of(service, family)
        if cluster_ip is None:
            continue
        infos.extend(_port_info(service, port, cluster_ip, family) for port in service.ports)
    return infos


def _slice_endpoints(endpoint_slice: EndpointSlice, port: int) -> Iterable[EndpointInfo]:
    for endpoint in endpoint_slice.endpoints:
        if not endpoint.addresses:
            continue
        yield EndpointInfo(
            ip=endpoint.addresses[0],
            port=port,
            ready=endpoint.ready,
            serving=endpoint.serving,
            terminating=endpoint.terminating,
            node_name=endpoint.node_name,
            zone_hints=frozenset(endpoint.zone_hints),
            pod_name=endpoint.pod_name,
        )


def endpoints_by_port(
    slices: Iterable[EndpointSlice], family: IPFamily = "IPv4"
) -> dict[tuple[str, str, str, str], tuple[EndpointInfo, ...]]:
    """(namespace, service, port name, protocol) → endpoints, deduplicated by ip:port, sorted by it."""
    found: dict[tuple[str, str, str, str], dict[str, EndpointInfo]] = {}
    for endpoint_slice in slices:
        if endpoint_slice.service_name is None or endpoint_slice.address_type != family:
            continue
        for port in endpoint_slice.ports:
            key = (endpoint_slice.namespace, endpoint_slice.service_name, port.name or "", port.protocol)
            bucket = found.setdefault(key, {})
            for endpoint in _slice_endpoints(endpoint_slice, port.port):
                bucket.setdefault(endpoint.address, endpoint)
    return {key: tuple(bucket[address] for address in sorted(bucket)) for key, bucket in found.items()}


def endpoints_of(
    info: ServicePortInfo, by_port: dict[tuple[str, str, str, str], tuple[EndpointInfo, ...]]
) -> tuple[EndpointInfo, ...]:
    return by_port.get((info.namespace, info.name, info.port_name, info.protocol), ())


@dataclass(frozen=True, slots=True)
class Categorized:
    """Endpoints per traffic policy on one node (kube-proxy's CategorizeEndpoints)."""

    cluster: tuple[EndpointInfo, ...]
    local: tuple[EndpointInfo, ...]
    all_reachable: tuple[EndpointInfo, ...]
    has_any: bool


def _can_use_topology(endpoints: Sequence[EndpointInfo], info: ServicePortInfo, node: ProxyNode) -> bool:
    if info.topology_mode in (None, "", "disabled", "Disabled"):
        return False
    zone = node.labels.get(ZONE_LABEL)
    if not zone:
        return False
    ready = [endpoint for endpoint in endpoints if endpoint.ready]
    if any(not endpoint.zone_hints for endpoint in ready):
        return False
    return any(zone in endpoint.zone_hints for endpoint in ready)


def _cluster_endpoints(
    endpoints: Sequence[EndpointInfo], info: ServicePortInfo, node: ProxyNode
) -> tuple[EndpointInfo, ...]:
    zone = node.labels.get(ZONE_LABEL, "")
    topology = _can_use_topology(endpoints, info, node)
    chosen = tuple(e for e in endpoints if e.ready and (not topology or zone in e.zone_hints))
    if chosen:
        return chosen
    # No ready endpoint anywhere: fall back to the ones still serving while they terminate.
    return tuple(e for e in endpoints if e.serving and e.terminating)


def _local_endpoints(endpoints: Sequence[EndpointInfo], node: ProxyNode) -> tuple[EndpointInfo, ...]:
    ready = tuple(e for e in endpoints if e.is_local(node) and e.ready)
    if ready:
        return ready
    return tuple(e for e in endpoints if e.is_local(node) and not e.ready and e.serving and e.terminating)


def categorize(endpoints: Sequence[EndpointInfo], info: ServicePortInfo, node: ProxyNode) -> Categorized:
    cluster = _cluster_endpoints(endpoints, info, node) if info.uses_cluster_endpoints else ()
    if not info.uses_local_endpoints:
        return Categorized(cluster, (), cluster, bool(cluster))
    usable = any(e.ready or (e.serving and e.terminating) for e in endpoints)
    local = _local_endpoints(endpoints, node)
    if not info.uses_cluster_endpoints:
        return Categorized((), local, local, usable)
    merged = {e.address: e for e in (*cluster, *local)}
    return Categorized(cluster, local, tuple(merged.values()), bool(cluster) or usable)


@dataclass(frozen=True, slots=True)
class PortPlan:
    """One Service port's decisions on one node (the locals of kube-proxy's per-port loop)."""

    info: ServicePortInfo
    split: Categorized
    uses_cluster_chain: bool
    uses_local_chain: bool
    has_internal: bool
    has_external: bool
    uses_fw_chain: bool  # iptables: only with endpoints; nftables decides without them

    @property
    def uses_external_chain(self) -> bool:
        return self.split.has_any and self.info.externally_accessible


def plan_port(info: ServicePortInfo, endpoints: Sequence[EndpointInfo], node: ProxyNode) -> PortPlan:
    split = categorize(endpoints, info, node)
    return PortPlan(
        info=info,
        split=split,
        uses_cluster_chain=bool(split.cluster) and info.uses_cluster_endpoints,
        uses_local_chain=bool(split.local) and info.uses_local_endpoints,
        has_internal=split.has_any and not (info.internal_policy_local and not split.local),
        has_external=split.has_any and not (info.external_policy_local and not split.local),
        uses_fw_chain=split.has_any and bool(info.load_balancer_vips) and bool(info.load_balancer_source_ranges),
    )
