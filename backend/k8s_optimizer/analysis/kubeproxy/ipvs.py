"""What kube-proxy's IPVS mode programs on one node: virtual servers and the ipsets its iptables rules match.

In IPVS mode every Service address (ClusterIP, external IPs, LoadBalancer IPs) is bound to the
`kube-ipvs0` dummy interface and becomes an IPVS virtual server whose real servers are the
endpoints (only the node-local ones where a Local traffic policy applies); NodePorts become a
virtual server per node address. A handful of iptables rules then match Service traffic through
ipsets (KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP, …) instead of one chain per Service. Rendered as
`ipvsadm -Ln` and `ipset save` would print them, with the scheduler and persistence kube-proxy sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from k8s_optimizer.analysis.kubeproxy.model import (
    EndpointInfo,
    PortPlan,
    ProxyConfig,
    ProxyNode,
    endpoints_by_port,
    endpoints_of,
    plan_port,
    service_ports,
)
from k8s_optimizer.domain.objects import EndpointSlice, Service

# ipset name → (type, comment) as kube-proxy's ipvs proxier declares them.
IPSETS: dict[str, tuple[str, str]] = {
    "KUBE-LOOP-BACK": ("hash:ip,port,ip", "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
    "KUBE-CLUSTER-IP": ("hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"),
    "KUBE-EXTERNAL-IP": ("hash:ip,port", "Kubernetes service external ip + port for masquerade and filter purpose"),
    "KUBE-EXTERNAL-IP-LOCAL": (
        "hash:ip,port",
        "Kubernetes service external ip + port with externalTrafficPolicy=local",
    ),
    "KUBE-LOAD-BALANCER": ("hash:ip,port", "Kubernetes service lb portal"),
    "KUBE-LOAD-BALANCER-FW": (
        "hash:ip,port",
        "Kubernetes service load balancer ip + port for load balancer with sourceRange",
    ),
    "KUBE-LOAD-BALANCER-LOCAL": (
        "hash:ip,port",
        "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
    ),
    "KUBE-LOAD-BALANCER-SOURCE-CIDR": (
        "hash:ip,port,net",
        "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
    ),
    "KUBE-NODE-PORT-TCP": ("bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"),
    "KUBE-NODE-PORT-LOCAL-TCP": ("bitmap:port", "Kubernetes nodeport TCP port with externalTrafficPolicy=local"),
    "KUBE-NODE-PORT-UDP": ("bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"),
    "KUBE-NODE-PORT-LOCAL-UDP": ("bitmap:port", "Kubernetes nodeport UDP port with externalTrafficPolicy=local"),
    "KUBE-HEALTH-CHECK-NODE-PORT": ("bitmap:port", "Kubernetes health check node port"),
}


@dataclass(frozen=True, slots=True)
class RealServer:
    address: str  # ip:port ([ip]:port for IPv6)
    weight: int = 1


@dataclass(frozen=True, slots=True)
class VirtualServer:
    protocol: str  # TCP, UDP, SCTP
    address: str
    scheduler: str
    persistent_seconds: int | None
    real_servers: tuple[RealServer, ...]
    service: str  # ns/name:port, for the view's links


@dataclass(slots=True)
class IPVSState:
    virtual_servers: list[VirtualServer] = field(default_factory=list)
    ipsets: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in IPSETS})
    bound_addresses: set[str] = field(default_factory=set)  # on the kube-ipvs0 dummy interface

    def ipvsadm(self) -> str:
        """`ipvsadm -Ln`: the kernel's table, virtual servers sorted as the kernel lists them by address."""
        lines = [
            "IP Virtual Server version 1.2.1 (size=4096)",
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        ]
        for server in sorted(self.virtual_servers, key=lambda s: (s.protocol, _address_key(s.address))):
            flags = f" persistent {server.persistent_seconds}" if server.persistent_seconds is not None else ""
            lines.append(f"{server.protocol:<4} {server.address} {server.scheduler}{flags}")
            lines.extend(
                f"  -> {real.address:<28} {'Masq':<7} {real.weight:<6} {0:<10} {0:<10}".rstrip()
                for real in sorted(server.real_servers, key=lambda r: _address_key(r.address))
            )
        return "\n".join(lines) + "\n"

    def ipset_save(self) -> str:
        """`ipset save` for kube-proxy's sets (members sorted; the kernel keeps hash order)."""
        lines: list[str] = []
        for name, (kind, _) in IPSETS.items():
            options = "range 0-65535" if kind.startswith("bitmap") else "family inet hashsize 1024 maxelem 65536"
            lines.append(f"create {name} {kind} {options}")
            lines.extend(f"add {name} {member}" for member in sorted(self.ipsets[name]))
        return "\n".join(lines) + "\n"


def _address_key(address: str) -> tuple[int, ...]:
    host, _, port = address.rpartition(":")
    return (*(int(part) for part in host.strip("[]").split(".") if part.isdigit()), int(port))


class _Builder:
    def __init__(self, node: ProxyNode, scheduler: str) -> None:
        self.node = node
        self.scheduler = scheduler
        self.state = IPVSState()

    def virtual(self, port: PortPlan, ip: str, number: int, endpoints: Iterable[EndpointInfo]) -> None:
        info = port.info
        address = f"[{ip}]:{number}" if ":" in ip else f"{ip}:{number}"
        self.state.virtual_servers.append(
            VirtualServer(
                protocol=info.protocol,
                address=address,
                scheduler=self.scheduler,
                persistent_seconds=info.sticky_seconds,
                real_servers=tuple(RealServer(e.address) for e in endpoints),
                service=info.name_string,
            )
        )

    def member(self, ipset: str, value: str) -> None:
        self.state.ipsets[ipset].add(value)

    def service_port(self, port: PortPlan) -> None:
        info = port.info
        proto = info.lower_protocol
        internal = port.split.local if info.internal_policy_local else port.split.cluster
        external = port.split.local if info.external_policy_local else port.split.cluster
        self.state.bound_addresses.add(info.cluster_ip)
        self.member("KUBE-CLUSTER-IP", f"{info.cluster_ip},{proto}:{info.port}")
        self.virtual(port, info.cluster_ip, info.port, internal)
        for endpoint in port.split.all_reachable:
            if endpoint.is_local(self.node):
                self.member("KUBE-LOOP-BACK", f"{endpoint.ip},{proto}:{endpoint.port},{endpoint.ip}")
        for ip in info.external_ips:
            self.state.bound_addresses.add(ip)
            self.member("KUBE-EXTERNAL-IP", f"{ip},{proto}:{info.port}")
            if info.external_policy_local:
                self.member("KUBE-EXTERNAL-IP-LOCAL", f"{ip},{proto}:{info.port}")
            self.virtual(port, ip, info.port, external)
        self.load_balancers(port, external)
        self.node_port(port, external)

    def load_balancers(self, port: PortPlan, external: Iterable[EndpointInfo]) -> None:
        info = port.info
        proto = info.lower_protocol
        chosen = tuple(external)
        for ip in info.load_balancer_vips:
            self.state.bound_addresses.add(ip)
            self.member("KUBE-LOAD-BALANCER", f"{ip},{proto}:{info.port}")
            if info.external_policy_local:
                self.member("KUBE-LOAD-BALANCER-LOCAL", f"{ip},{proto}:{info.port}")
            if info.load_balancer_source_ranges:
                self.member("KUBE-LOAD-BALANCER-FW", f"{ip},{proto}:{info.port}")
                for cidr in info.load_balancer_source_ranges:
                    self.member("KUBE-LOAD-BALANCER-SOURCE-CIDR", f"{ip},{proto}:{info.port},{cidr}")
            self.virtual(port, ip, info.port, chosen)

    def node_port(self, port: PortPlan, external: Iterable[EndpointInfo]) -> None:
        info = port.info
        if not info.node_port:
            return
        suffix = info.protocol.upper()
        if suffix in ("TCP", "UDP"):
            self.member(f"KUBE-NODE-PORT-{suffix}", str(info.node_port))
            if info.external_policy_local:
                self.member(f"KUBE-NODE-PORT-LOCAL-{suffix}", str(info.node_port))
        if self.node.ip:
            self.virtual(port, self.node.ip, info.node_port, tuple(external))
        if info.health_check_node_port:
            self.member("KUBE-HEALTH-CHECK-NODE-PORT", str(info.health_check_node_port))


def render(
    services: Iterable[Service],
    slices: Iterable[EndpointSlice],
    node: ProxyNode,
    config: ProxyConfig | None = None,
    scheduler: str = "rr",
) -> IPVSState:
    """The IPVS table and ipsets kube-proxy in IPVS mode keeps on `node` (scheduler: its --ipvs-scheduler)."""
    config = config or ProxyConfig()
    builder = _Builder(node, scheduler)
    by_port = endpoints_by_port(slices, config.ip_family)
    for info in sorted(service_ports(services, config.ip_family), key=lambda i: i.name_string):
        builder.service_port(plan_port(info, endpoints_of(info, by_port), node))
    return builder.state
