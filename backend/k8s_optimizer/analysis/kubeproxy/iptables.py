"""The rules kube-proxy's iptables mode writes on one node, as `iptables-restore` input.

Follows kube-proxy's `syncProxyRules` rule by rule: the filter table (REJECT for Services without
endpoints, DROP for external traffic without local endpoints, the LoadBalancer source-range firewall,
health-check NodePorts, forwarding), and the nat table (KUBE-SERVICES → KUBE-SVC/KUBE-SVL →
KUBE-SEP → DNAT, KUBE-EXT for NodePort/external/LoadBalancer traffic, KUBE-FW, KUBE-NODEPORTS,
masquerading). kube-proxy walks Services in Go's random map order; the output is put in the
canonical order kube-proxy's own tests compare in (chains sorted, rules grouped per chain in their
written order, KUBE-SERVICES and KUBE-NODEPORTS sorted by Service name with the NodePort jump
last), so one cluster state always renders to the same text.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
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

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBELET_FIREWALL = "KUBE-FIREWALL"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
LOCALHOST_NODEPORT_COUNTER = "localhost_nps_accepted_pkts"
INVALID_CONNTRACK_COUNTER = "ct_state_invalid_dropped_pkts"
# Above this many endpoints kube-proxy stops writing per-endpoint comments, to keep restores small.
LARGE_CLUSTER_ENDPOINTS = 1000
_NODEPORTS_LAST = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"


def comment(text: str) -> tuple[str, ...]:
    """`-m comment --comment X`, quoted the way kube-proxy quotes it (only when it holds a space)."""
    return ("-m", "comment", "--comment", f'"{text}"' if " " in text else text)


@dataclass(slots=True)
class Table:
    """One table of the restore input: chain declarations and `-A` rules in written order."""

    name: str
    chains: list[str] = field(default_factory=list)
    rules: list[tuple[str, ...]] = field(default_factory=list)  # each starts with "-A", chain

    def chain(self, name: str) -> None:
        if name not in self.chains:
            self.chains.append(name)

    def add(self, chain: str, *args: str) -> None:
        self.rules.append(("-A", chain, *args))

    def rules_of(self, chain: str) -> list[tuple[str, ...]]:
        return [rule for rule in self.rules if rule[1] == chain]


@dataclass(frozen=True, slots=True)
class RuleSet:
    filter: Table
    nat: Table

    def table(self, name: str) -> Table:
        return self.filter if name == "filter" else self.nat

    def restore_input(self) -> str:
        """The canonical `iptables-restore` text (the form kube-proxy's tests compare)."""
        lines: list[str] = []
        for table in (self.filter, self.nat):
            lines.append(f"*{table.name}")
            ordered = sorted(table.chains, key=_chain_sort_key)
            lines.extend(f":{chain} - [0:0]" for chain in ordered)
            for chain in ordered:
                lines.extend(" ".join(rule) for rule in _sorted_rules(table, chain))
            lines.append("COMMIT")
        return "\n".join(lines) + "\n"


def _chain_sort_key(chain: str) -> tuple[int, str]:
    if chain == KUBE_NODEPORTS:
        return (0, chain)
    if chain == KUBE_SERVICES:
        return (1, chain)
    return (2 if chain.startswith("KUBE-") else 3, chain)


def _comment_service(rule: Sequence[str]) -> str | None:
    if "--comment" not in rule:
        return None
    text = rule[rule.index("--comment") + 1].strip('"')
    cut = min((i for i in (text.find(" "), text.find(":")) if i != -1), default=len(text))
    return text[:cut]


def _sorted_rules(table: Table, chain: str) -> list[tuple[str, ...]]:
    rules = table.rules_of(chain)
    if chain not in (KUBE_SERVICES, KUBE_NODEPORTS):
        return rules
    # Stable sort by the Service named in the comment; the NodePort jump stays last.
    last = [rule for rule in rules if _NODEPORTS_LAST in " ".join(rule)]
    rest = [rule for rule in rules if rule not in last]
    return sorted(rest, key=lambda rule: _comment_service(rule) or "") + last


class _Writer:
    """Writes one node's rules; methods mirror the blocks of kube-proxy's syncProxyRules."""

    def __init__(self, config: ProxyConfig, node: ProxyNode, large_cluster: bool) -> None:
        self.config = config
        self.node = node
        self.large_cluster = large_cluster
        self.filter = Table("filter")
        self.nat = Table("nat")
        mark = config.masquerade_mark
        self.mark_match = f"{mark}/{mark}"

    @property
    def ipv4(self) -> bool:
        return self.config.ip_family == "IPv4"

    def local_detector(self, *, negate: bool) -> tuple[str, ...]:
        if self.config.cluster_cidr is None:
            return ()
        return ("!", "-s", self.config.cluster_cidr) if negate else ("-s", self.config.cluster_cidr)

    def service_comment(self, text: str) -> tuple[str, ...]:
        return () if self.large_cluster else comment(text)

    def preamble(self) -> None:
        for chain in (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL):
            self.filter.chain(chain)
        for chain in (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ):
            self.nat.chain(chain)
        mark = self.config.masquerade_mark
        self.nat.add(KUBE_POSTROUTING, "-m", "mark", "!", "--mark", self.mark_match, "-j", "RETURN")
        self.nat.add(KUBE_POSTROUTING, "-j", "MARK", "--xor-mark", mark)
        self.nat.add(KUBE_POSTROUTING, *comment("kubernetes service traffic requiring SNAT"), "-j", "MASQUERADE")
        self.nat.add(KUBE_MARK_MASQ, "-j", "MARK", "--or-mark", mark)
        if self.ipv4 and self.config.localhost_node_ports:
            self.filter.chain(KUBELET_FIREWALL)
            self.filter.add(
                KUBELET_FIREWALL,
                *comment("block incoming localnet connections"),
                *("-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8"),
                *("-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP"),
            )

    def service_port(self, port: PortPlan) -> None:
        self.capture_cluster_ip(port)
        self.capture_external_ips(port)
        self.capture_load_balancers(port)
        self.capture_node_port(port)
        self.capture_health_check(port)
        self.internal_masquerade(port)
        self.external_chain(port)
        self.firewall_chain(port)
        if port.uses_cluster_chain:
            self.policy_chain(port, port.info.cluster_policy_chain, port.split.cluster)
        if port.uses_local_chain:
            self.policy_chain(port, port.info.local_policy_chain, port.split.local)
        for endpoint in port.split.all_reachable:
            self.endpoint_chain(port, endpoint)

    @staticmethod
    def _dest(port: PortPlan, ip: str) -> tuple[str, ...]:
        return (*_protocol(port), "-d", ip, "--dport", str(port.info.port))

    def capture_cluster_ip(self, port: PortPlan) -> None:
        name = port.info.name_string
        if port.has_internal:
            self.nat.add(
                KUBE_SERVICES,
                *comment(f"{name} cluster IP"),
                *self._dest(port, port.info.cluster_ip),
                "-j",
                _internal_chain(port),
            )
            return
        note, target = _filter_rule(port)
        self.filter.add(KUBE_SERVICES, *note, *self._dest(port, port.info.cluster_ip), "-j", target)

    def capture_external_ips(self, port: PortPlan) -> None:
        name = port.info.name_string
        for ip in port.info.external_ips:
            if port.split.has_any:
                self.nat.add(
                    KUBE_SERVICES,
                    *comment(f"{name} external IP"),
                    *self._dest(port, ip),
                    "-j",
                    port.info.external_chain,
                )
            if not port.has_external:
                note, target = _filter_rule(port)
                self.filter.add(KUBE_EXTERNAL_SERVICES, *note, *self._dest(port, ip), "-j", target)

    def capture_load_balancers(self, port: PortPlan) -> None:
        info = port.info
        for ip in info.load_balancer_vips:
            if port.split.has_any:
                self.nat.add(
                    KUBE_SERVICES,
                    *comment(f"{info.name_string} loadbalancer IP"),
                    *self._dest(port, ip),
                    "-j",
                    (port.info.firewall_chain if port.uses_fw_chain else port.info.external_chain),
                )
            if port.uses_fw_chain:
                self.filter.add(
                    KUBE_PROXY_FIREWALL,
                    *comment(f"{info.name_string} traffic not accepted by {info.firewall_chain}"),
                    *self._dest(port, ip),
                    "-j",
                    "DROP",
                )
        if not port.has_external:
            note, target = _filter_rule(port)
            for ip in info.load_balancer_vips:
                self.filter.add(KUBE_EXTERNAL_SERVICES, *note, *self._dest(port, ip), "-j", target)

    def capture_node_port(self, port: PortPlan) -> None:
        info = port.info
        if info.node_port == 0:
            return
        node_port = ("--dport", str(info.node_port))
        if port.split.has_any:
            if self.config.localhost_node_ports and self.ipv4 and self.config.nfacct:
                self.nat.add(
                    KUBE_NODEPORTS,
                    *comment(info.name_string),
                    *_protocol(port),
                    *("-d", "127.0.0.0/8", *node_port),
                    *("-m", "nfacct", "--nfacct-name", LOCALHOST_NODEPORT_COUNTER),
                    *("-j", info.external_chain),
                )
            self.nat.add(
                KUBE_NODEPORTS, *comment(info.name_string), *_protocol(port), *node_port, "-j", info.external_chain
            )
        if not port.has_external:
            note, target = _filter_rule(port)
            self.filter.add(
                KUBE_EXTERNAL_SERVICES,
                *note,
                *("-m", "addrtype", "--dst-type", "LOCAL"),
                *_protocol(port),
                *node_port,
                *("-j", target),
            )

    def capture_health_check(self, port: PortPlan) -> None:
        info = port.info
        if info.health_check_node_port:
            self.filter.add(
                KUBE_NODEPORTS,
                *comment(f"{info.name_string} health check node port"),
                *("-m", "tcp", "-p", "tcp", "--dport", str(info.health_check_node_port), "-j", "ACCEPT"),
            )

    def internal_masquerade(self, port: PortPlan) -> None:
        if not port.has_internal:
            return
        info = port.info
        match = (*comment(f"{info.name_string} cluster IP"), *self._dest(port, info.cluster_ip))
        if self.config.masquerade_all:
            self.nat.add(_internal_chain(port), *match, "-j", KUBE_MARK_MASQ)
        elif self.config.cluster_cidr is not None:
            # Off-cluster traffic to the VIP may be bridged to another node: masquerade it.
            self.nat.add(_internal_chain(port), *match, *self.local_detector(negate=True), "-j", KUBE_MARK_MASQ)

    def external_chain(self, port: PortPlan) -> None:
        info = port.info
        if not port.uses_external_chain:
            return
        chain, name = info.external_chain, info.name_string
        self.nat.chain(chain)
        if not info.external_policy_local:
            self.nat.add(chain, *comment(f"masquerade traffic for {name} external destinations"), "-j", KUBE_MARK_MASQ)
        else:
            if self.config.cluster_cidr is not None:
                # Pod → external IP of the Service behaves as if it went out and came back: Cluster policy.
                self.nat.add(
                    chain,
                    *comment(f"pod traffic for {name} external destinations"),
                    *self.local_detector(negate=False),
                    *("-j", info.cluster_policy_chain),
                )
            local = ("-m", "addrtype", "--src-type", "LOCAL")
            self.nat.add(
                chain,
                *comment(f"masquerade LOCAL traffic for {name} external destinations"),
                *local,
                "-j",
                KUBE_MARK_MASQ,
            )
            self.nat.add(
                chain,
                *comment(f"route LOCAL traffic for {name} external destinations"),
                *local,
                "-j",
                info.cluster_policy_chain,
            )
        if port.has_external:
            self.nat.add(chain, "-j", _external_policy_chain(port))

    def firewall_chain(self, port: PortPlan) -> None:
        if not port.uses_fw_chain:
            return
        info = port.info
        chain = info.firewall_chain
        self.nat.chain(chain)
        head = (*comment(f"{info.name_string} loadbalancer IP"),)
        allow_from_node = False
        for cidr in info.load_balancer_source_ranges:
            self.nat.add(chain, *head, "-s", cidr, "-j", info.external_chain)
            allow_from_node = allow_from_node or _contains(cidr, self.node.ip)
        if allow_from_node:
            for ip in info.load_balancer_vips:
                self.nat.add(chain, *head, "-s", ip, "-j", info.external_chain)
        self.nat.add(chain, *comment(f"other traffic to {info.name_string} will be dropped by KUBE-PROXY-FIREWALL"))

    def policy_chain(self, port: PortPlan, chain: str, endpoints: Sequence[EndpointInfo]) -> None:
        info = port.info
        self.nat.chain(chain)
        if info.sticky_seconds is not None:
            for endpoint in endpoints:
                sep = info.endpoint_chain(endpoint)
                self.nat.add(
                    chain,
                    *self.service_comment(f"{info.name_string} -> {endpoint.address}"),
                    *("-m", "recent", "--name", sep, "--rcheck", "--seconds", str(info.sticky_seconds), "--reap"),
                    *("-j", sep),
                )
        count = len(endpoints)
        for index, endpoint in enumerate(endpoints):
            statistic: tuple[str, ...] = ()
            if index < count - 1:
                # Rule i of n matches with probability 1/(n−i), so each endpoint gets 1/n overall.
                statistic = ("-m", "statistic", "--mode", "random", "--probability", probability(count - index))
            self.nat.add(
                chain,
                *self.service_comment(f"{info.name_string} -> {endpoint.address}"),
                *statistic,
                *("-j", info.endpoint_chain(endpoint)),
            )

    def endpoint_chain(self, port: PortPlan, endpoint: EndpointInfo) -> None:
        info = port.info
        chain = info.endpoint_chain(endpoint)
        self.nat.chain(chain)
        head = self.service_comment(info.name_string)
        # Traffic that loops back to the pod it came from needs SNAT to return.
        self.nat.add(chain, *head, "-s", endpoint.ip, "-j", KUBE_MARK_MASQ)
        affinity = ("-m", "recent", "--name", chain, "--set") if info.sticky_seconds is not None else ()
        self.nat.add(chain, *head, *affinity, *_protocol(port), "-j", "DNAT", "--to-destination", endpoint.address)

    def closing(self) -> None:
        destinations: tuple[str, ...] = ("-m", "addrtype", "--dst-type", "LOCAL")
        if not self.ipv4:
            destinations += ("!", "-d", "::1/128")
        elif not self.config.localhost_node_ports:
            destinations += ("!", "-d", "127.0.0.0/8")
        self.nat.add(KUBE_SERVICES, *comment(_NODEPORTS_LAST), *destinations, "-j", KUBE_NODEPORTS)
        if not self.config.conntrack_tcp_liberal:
            counter = ("-m", "nfacct", "--nfacct-name", INVALID_CONNTRACK_COUNTER) if self.config.nfacct else ()
            self.filter.add(KUBE_FORWARD, "-m", "conntrack", "--ctstate", "INVALID", *counter, "-j", "DROP")
        self.filter.add(
            KUBE_FORWARD,
            *comment("kubernetes forwarding rules"),
            "-m",
            "mark",
            "--mark",
            self.mark_match,
            "-j",
            "ACCEPT",
        )
        self.filter.add(
            KUBE_FORWARD,
            *comment("kubernetes forwarding conntrack rule"),
            *("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
        )


def _filter_rule(port: PortPlan) -> tuple[tuple[str, ...], str]:
    """(comment, target) for traffic with nowhere to go: REJECT without any endpoint, else DROP."""
    name = port.info.name_string
    if not port.split.has_any:
        return comment(f"{name} has no endpoints"), "REJECT"
    return comment(f"{name} has no local endpoints"), "DROP"


def _internal_chain(port: PortPlan) -> str:
    info = port.info
    return info.local_policy_chain if info.internal_policy_local else info.cluster_policy_chain


def _external_policy_chain(port: PortPlan) -> str:
    info = port.info
    return info.local_policy_chain if info.external_policy_local else info.cluster_policy_chain


def _protocol(port: PortPlan) -> tuple[str, ...]:
    proto = port.info.lower_protocol
    return ("-m", proto, "-p", proto)


def probability(n: int) -> str:
    """Go's "%0.10f" of 1/n, as kube-proxy precomputes it."""
    return f"{1.0 / n:0.10f}"


def _contains(cidr: str, ip: str | None) -> bool:
    if ip is None:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def render(
    services: Iterable[Service],
    slices: Iterable[EndpointSlice],
    node: ProxyNode,
    config: ProxyConfig | None = None,
    *,
    large_cluster: bool | None = None,
) -> RuleSet:
    """What kube-proxy in iptables mode programs on `node` for these Services and EndpointSlices.

    `large_cluster` overrides the endpoint count kube-proxy decides it from, for renders of a part
    of the cluster (one Service) that must still write what the whole cluster's size dictates.
    """
    config = config or ProxyConfig()
    infos = service_ports(services, config.ip_family)
    by_port = endpoints_by_port(slices, config.ip_family)
    if large_cluster is None:
        large_cluster = sum(len(endpoints_of(info, by_port)) for info in infos) > LARGE_CLUSTER_ENDPOINTS
    writer = _Writer(config, node, large_cluster=large_cluster)
    writer.preamble()
    for info in sorted(infos, key=lambda i: i.name_string):
        writer.service_port(plan_port(info, endpoints_of(info, by_port), node))
    writer.closing()
    return RuleSet(filter=writer.filter, nat=writer.nat)
