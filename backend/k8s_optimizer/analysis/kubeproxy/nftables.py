"""The `kube-proxy` nftables table that kube-proxy's nftables mode programs on one node.

kube-proxy's nftables backend keeps one table with verdict maps (`service-ips`, `service-nodeports`,
`no-endpoint-services`, `firewall-ips`) keyed by destination, and a chain per Service port and per
endpoint named `service-HASH-ns/name/proto/port` and `endpoint-HASH-…__ip/port` (HASH: base32 of
SHA-256, 8 characters). This renders the transaction kube-proxy runs for a full sync, grouped by
object type and name (rules kept in their written order) so the text also loads with `nft -f`.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from k8s_optimizer.analysis.kubeproxy.model import (
    EndpointInfo,
    PortPlan,
    ProxyConfig,
    ProxyNode,
    ServicePortInfo,
    endpoints_by_port,
    endpoints_of,
    plan_port,
    service_ports,
)
from k8s_optimizer.domain.objects import EndpointSlice, Service

TABLE = "kube-proxy"
MARK_MASQ = "mark-for-masquerade"
REJECT_CHAIN = "reject-chain"
# Definitions before use, so the text loads with `nft -f`: sets and maps, then chains, rules, elements.
_OBJECT_ORDER = {"table": 0, "set": 1, "map": 2, "chain": 3, "rule": 4, "element": 5}


def _hash_and_name(name: str) -> str:
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8]
    return f"{digest}-{name}"


def port_base(info: ServicePortInfo) -> str:
    return _hash_and_name(f"{info.namespace}/{info.name}/{info.lower_protocol}/{info.port_name}")


def endpoint_base(info: ServicePortInfo, endpoint: EndpointInfo) -> str:
    # Colons are not allowed in chain names: kube-proxy writes IPv6 endpoints with dots.
    ip = endpoint.ip.replace(":", ".")
    return _hash_and_name(f"{info.namespace}/{info.name}/{info.lower_protocol}/{info.port_name}__{ip}/{endpoint.port}")


@dataclass(slots=True)
class Transaction:
    """The `add …` lines of one nft transaction; `text()` gives them in the canonical order."""

    family: str
    lines: list[str] = field(default_factory=list)

    def add(self, kind: str, rest: str) -> None:
        self.lines.append(f"add {kind} {self.family} {TABLE} {rest}")

    def rule(self, chain: str, rule: str) -> None:
        self.add("rule", f"{chain} {rule}")

    def element(self, container: str, body: str) -> None:
        self.add("element", f"{container} {{ {body} }}")

    def text(self) -> str:
        def key(indexed: tuple[int, str]) -> tuple[int, str, int, str]:
            index, line = indexed
            words = line.split(" ")
            kind = words[1]
            name = words[4] if len(words) > 4 else ""
            # Rules keep their written order inside a chain; other lines of one object sort by text.
            return (_OBJECT_ORDER.get(kind, 9), name, index if kind == "rule" else 0, line)

        return "\n".join(line for _, line in sorted(enumerate(self.lines), key=key)) + "\n"


class _Writer:
    def __init__(self, config: ProxyConfig, node: ProxyNode, service_cidrs: tuple[str, ...]) -> None:
        self.config = config
        self.node = node
        self.service_cidrs = service_cidrs
        self.ip = "ip" if config.ip_family == "IPv4" else "ip6"
        self.addr_type = "ipv4_addr" if config.ip_family == "IPv4" else "ipv6_addr"
        self.tx = Transaction(self.ip)

    def not_local(self) -> str:
        return f" {self.ip} saddr != {self.config.cluster_cidr}" if self.config.cluster_cidr else ""

    def base(self) -> None:
        tx, ip, addr = self.tx, self.ip, self.addr_type
        tx.add("table", '{ comment "rules for kube-proxy" ; }')
        tx.add("set", f'cluster-ips {{ type {addr} ; comment "Active ClusterIPs" ; }}')
        tx.add("set", f'nodeport-ips {{ type {addr} ; comment "IPs that accept NodePort traffic" ; }}')
        verdict3 = f"{addr} . inet_proto . inet_service : verdict"
        for name, key, note in (
            ("firewall-ips", verdict3, "destinations that are subject to LoadBalancerSourceRanges"),
            (
                "no-endpoint-nodeports",
                "inet_proto . inet_service : verdict",
                "vmap to drop or reject packets to service nodeports with no endpoints",
            ),
            ("no-endpoint-services", verdict3, "vmap to drop or reject packets to services with no endpoints"),
            ("service-ips", verdict3, "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
            ("service-nodeports", "inet_proto . inet_service : verdict", "NodePort traffic"),
        ):
            tx.add("map", f'{name} {{ type {key} ; comment "{note}" ; }}')
        for chain, hook in (
            ("cluster-ips-check", ""),
            ("filter-prerouting-pre-dnat", "{ type filter hook prerouting priority -110 ; }"),
            ("filter-output-pre-dnat", "{ type filter hook output priority -110 ; }"),
            ("filter-forward", "{ type filter hook forward priority 0 ; }"),
            ("filter-input", "{ type filter hook input priority 0 ; }"),
            ("filter-output", "{ type filter hook output priority 0 ; }"),
            ("firewall-check", ""),
            (MARK_MASQ, ""),
            ("masquerading", ""),
            ("nat-output", "{ type nat hook output priority -100 ; }"),
            ("nat-postrouting", "{ type nat hook postrouting priority 100 ; }"),
            ("nat-prerouting", "{ type nat hook prerouting priority -100 ; }"),
            ("nodeport-endpoints-check", ""),
            (REJECT_CHAIN, '{ comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }'),
            ("services", ""),
            ("service-endpoints-check", ""),
        ):
            tx.add("chain", f"{chain} {hook}".rstrip())
        self._base_rules(ip)

    def _base_rules(self, ip: str) -> None:
        tx, mark = self.tx, self.config.masquerade_mark
        tx.rule(
            "cluster-ips-check",
            f'{ip} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
        )
        if self.service_cidrs:
            cidrs = ", ".join(self.service_cidrs)
            tx.rule(
                "cluster-ips-check", f'{ip} daddr {{ {cidrs} }} drop comment "Drop traffic to unallocated ClusterIPs"'
            )
        for chain, target in (
            ("filter-prerouting-pre-dnat", "firewall-check"),
            ("filter-forward", "service-endpoints-check"),
            ("filter-forward", "cluster-ips-check"),
            ("filter-input", "nodeport-endpoints-check"),
            ("filter-input", "service-endpoints-check"),
            ("filter-output", "service-endpoints-check"),
            ("filter-output-pre-dnat", "firewall-check"),
            ("filter-output", "cluster-ips-check"),
        ):
            tx.rule(chain, f"ct state new jump {target}")
        tx.rule("firewall-check", f"{ip} daddr . meta l4proto . th dport vmap @firewall-ips")
        tx.rule(MARK_MASQ, f"mark set mark or {mark}")
        tx.rule("masquerading", f"mark and {mark} == 0 return")
        tx.rule("masquerading", f"mark set mark xor {mark}")
        tx.rule("masquerading", "masquerade fully-random")
        tx.rule("nat-output", "jump services")
        tx.rule("nat-postrouting", "jump masquerading")
        tx.rule("nat-prerouting", "jump services")
        tx.rule(
            "nodeport-endpoints-check", f"{ip} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"
        )
        tx.rule(REJECT_CHAIN, "reject")
        tx.rule("services", f"{ip} daddr . meta l4proto . th dport vmap @service-ips")
        tx.rule("services", f"{ip} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
        if self.node.ip:
            tx.element("nodeport-ips", self.node.ip)
        tx.rule("service-endpoints-check", f"{ip} daddr . meta l4proto . th dport vmap @no-endpoint-services")

    # ---------------------------------------------------------------------------------------------- per port

    def service_port(self, port: PortPlan) -> None:
        self.capture(port)
        self.internal(port)
        self.external(port)
        self.firewall(port)
        self.affinity_sets(port)
        base = port_base(port.info)
        if port.uses_cluster_chain:
            self.balance(port, f"service-{base}", port.split.cluster)
        if port.uses_local_chain:
            self.balance(port, f"local-{base}", port.split.local)
        for endpoint in port.split.all_reachable:
            self.endpoint(port, endpoint)

    def _filter_verdict(self, port: PortPlan) -> str:
        return f"goto {REJECT_CHAIN}" if not port.split.has_any else "drop"

    def _key(self, ip: str, port: PortPlan) -> str:
        return f"{ip} . {port.info.lower_protocol} . {port.info.port}"

    def capture(self, port: PortPlan) -> None:
        info, tx, base = port.info, self.tx, port_base(port.info)
        note = f'comment "{info.name_string}"'
        tx.element("cluster-ips", info.cluster_ip)
        internal = f"local-{base}" if info.internal_policy_local else f"service-{base}"
        if port.has_internal:
            tx.element("service-ips", f"{self._key(info.cluster_ip, port)} : goto {internal}")
        else:
            tx.element(
                "no-endpoint-services", f"{self._key(info.cluster_ip, port)} {note} : {self._filter_verdict(port)}"
            )
        for ip in (*info.external_ips, *info.load_balancer_vips):
            if port.split.has_any:
                tx.element("service-ips", f"{self._key(ip, port)} : goto external-{base}")
            if not port.has_external:
                tx.element("no-endpoint-services", f"{self._key(ip, port)} {note} : {self._filter_verdict(port)}")
        if info.load_balancer_vips and info.load_balancer_source_ranges:
            for ip in info.load_balancer_vips:
                tx.element("firewall-ips", f"{self._key(ip, port)} : goto firewall-{base}")
        if info.node_port:
            node_port = f"{info.lower_protocol} . {info.node_port}"
            if port.split.has_any:
                tx.element("service-nodeports", f"{node_port} : goto external-{base}")
            if not port.has_external:
                tx.element("no-endpoint-nodeports", f"{node_port} {note} : {self._filter_verdict(port)}")

    def internal(self, port: PortPlan) -> None:
        if not port.has_internal:
            return
        info, base = port.info, port_base(port.info)
        chain = f"local-{base}" if info.internal_policy_local else f"service-{base}"
        if self.config.masquerade_all:
            self.tx.rule(chain, f"{self.ip} daddr {info.cluster_ip} jump {MARK_MASQ}")
        elif self.config.cluster_cidr:
            self.tx.rule(chain, f"{self.ip} daddr {info.cluster_ip}{self.not_local()} jump {MARK_MASQ}")

    def external(self, port: PortPlan) -> None:
        if not port.uses_external_chain:
            return
        info, base, tx = port.info, port_base(port.info), self.tx
        chain = f"external-{base}"
        tx.add("chain", chain)
        if not info.external_policy_local:
            tx.rule(chain, f"jump {MARK_MASQ}")
        else:
            if self.config.cluster_cidr:
                pods = f"{self.ip} saddr {self.config.cluster_cidr}"
                tx.rule(chain, f'{pods} goto service-{base} comment "short-circuit pod traffic"')
            tx.rule(chain, f'fib saddr type local jump {MARK_MASQ} comment "masquerade local traffic"')
            tx.rule(chain, f'fib saddr type local goto service-{base} comment "short-circuit local traffic"')
        if port.has_external:
            policy = f"local-{base}" if info.external_policy_local else f"service-{base}"
            tx.rule(chain, f"goto {policy}")

    def firewall(self, port: PortPlan) -> None:
        info = port.info
        if not (info.load_balancer_vips and info.load_balancer_source_ranges):
            return
        chain = f"firewall-{port_base(info)}"
        sources = list(info.load_balancer_source_ranges)
        if any(_contains(cidr, self.node.ip) for cidr in sources):
            sources += list(info.load_balancer_vips)
        self.tx.add("chain", chain)
        self.tx.rule(chain, f"{self.ip} saddr != {{ {', '.join(sources)} }} drop")

    def affinity_sets(self, port: PortPlan) -> None:
        seconds = port.info.sticky_seconds
        if seconds is None:
            return
        for endpoint in port.split.all_reachable:
            name = f"affinity-{endpoint_base(port.info, endpoint)}"
            self.tx.add("set", f"{name} {{ type {self.addr_type} ; flags dynamic,timeout ; timeout {seconds}s ; }}")

    def balance(self, port: PortPlan, chain: str, endpoints: Iterable[EndpointInfo]) -> None:
        chosen = list(endpoints)
        self.tx.add("chain", chain)
        if port.info.sticky_seconds is not None:
            for endpoint in chosen:
                base = endpoint_base(port.info, endpoint)
                self.tx.rule(chain, f"{self.ip} saddr @affinity-{base} goto endpoint-{base}")
        entries = " , ".join(f"{i} : goto endpoint-{endpoint_base(port.info, e)}" for i, e in enumerate(chosen))
        self.tx.rule(chain, f"numgen random mod {len(chosen)} vmap {{ {entries} }}")

    def endpoint(self, port: PortPlan, endpoint: EndpointInfo) -> None:
        base = endpoint_base(port.info, endpoint)
        chain = f"endpoint-{base}"
        self.tx.add("chain", chain)
        self.tx.rule(chain, f"{self.ip} saddr {endpoint.ip} jump {MARK_MASQ}")
        if port.info.sticky_seconds is not None:
            self.tx.rule(chain, f"update @affinity-{base} {{ {self.ip} saddr }}")
        self.tx.rule(chain, f"meta l4proto {port.info.lower_protocol} dnat to {endpoint.address}")


def _contains(cidr: str, ip: str | None) -> bool:
    if ip is None:
        return False
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def render(
    services: Iterable[Service],
    slices: Iterable[EndpointSlice],
    node: ProxyNode,
    config: ProxyConfig | None = None,
    service_cidrs: tuple[str, ...] = (),
) -> Transaction:
    """The full-sync transaction kube-proxy's nftables mode runs on `node`."""
    config = config or ProxyConfig()
    writer = _Writer(config, node, service_cidrs)
    writer.base()
    by_port = endpoints_by_port(slices, config.ip_family)
    for info in sorted(service_ports(services, config.ip_family), key=lambda i: i.name_string):
        writer.service_port(plan_port(info, endpoints_of(info, by_port), node))
    return writer.tx
