"""One Service's (or one node's) kube-proxy rules, in the mode the cluster runs, ready to show.

The Rules tab of a Service shows only the lines that concern it: its own chains (KUBE-SVC/SVL/EXT/FW
and the KUBE-SEP of each endpoint in iptables mode; service-/external-/endpoint-… in nftables) and
the lines of the shared chains and maps that name it. The path view links each DNAT hop to the
endpoint's chain and its DNAT line. The mode and the proxy's settings come from the kube-proxy
ConfigMap (kube-system/kube-proxy, `config.conf`) when the cluster has one, as kind and kubeadm do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from k8s_optimizer.analysis.kubeproxy import iptables, ipvs, nftables, xtables
from k8s_optimizer.analysis.kubeproxy.model import (
    ProxyConfig,
    ProxyNode,
    ServicePortInfo,
    endpoints_by_port,
    endpoints_of,
    service_ports,
)
from k8s_optimizer.analysis.network import common_network
from k8s_optimizer.domain.objects import EndpointSlice, Node, Service
from k8s_optimizer.domain.snapshot import ClusterSnapshot

ProxyMode = Literal["iptables", "nftables", "ipvs"]
MODES: tuple[ProxyMode, ...] = ("iptables", "nftables", "ipvs")


@dataclass(frozen=True, slots=True)
class KubeProxySettings:
    mode: ProxyMode
    config: ProxyConfig
    source: str  # where the settings came from: the ConfigMap, or the optimizer's own setting


def settings_from_config(
    conf: Mapping[str, Any] | None, *, default_mode: ProxyMode, cluster_cidr: str | None
) -> KubeProxySettings:
    """kube-proxy's KubeProxyConfiguration (already parsed) → the settings the renderers need."""
    if not conf:
        return KubeProxySettings(default_mode, ProxyConfig(cluster_cidr=cluster_cidr), "setting")
    raw_mode = str(conf.get("mode") or "iptables")  # "" means iptables on Linux
    mode = next((m for m in MODES if m == raw_mode), default_mode)
    iptables_conf = conf.get("iptables") or {}
    localhost = iptables_conf.get("localhostNodePorts")  # null means kube-proxy's default: true
    config = ProxyConfig(
        cluster_cidr=str(conf.get("clusterCIDR") or "") or cluster_cidr,
        masquerade_all=bool(iptables_conf.get("masqueradeAll", False)),
        masquerade_bit=int(iptables_conf.get("masqueradeBit") or 14),
        localhost_node_ports=True if localhost is None else bool(localhost),
    )
    return KubeProxySettings(mode, config, "kube-system/kube-proxy ConfigMap")


@dataclass(frozen=True, slots=True)
class EndpointRule:
    """The hop kube-proxy adds for one endpoint: its chain and the DNAT line."""

    endpoint: str  # ip:port
    chain: str
    dnat: str


@dataclass(frozen=True, slots=True)
class RulesView:
    mode: ProxyMode
    node: str
    text: str  # what the node's tooling prints for these rules (iptables-save / nft / ipvsadm)
    listing: str | None  # iptables -t nat -L <chain> -n --line-numbers for the Service's chains
    endpoint_rules: tuple[EndpointRule, ...]


def _service_infos(services: Iterable[Service], service: Service, config: ProxyConfig) -> list[ServicePortInfo]:
    return [
        i
        for i in service_ports(services, config.ip_family)
        if (i.namespace, i.name) == (service.namespace, service.name)
    ]


def _iptables_view(
    services: list[Service],
    slices: list[EndpointSlice],
    service: Service | None,
    node: ProxyNode,
    config: ProxyConfig,
    large_cluster: bool | None,
) -> RulesView:
    rules = iptables.render(services, slices, node, config, large_cluster=large_cluster)
    if service is None:
        text = xtables.node_save(rules, "filter") + xtables.node_save(rules, "nat")
        return RulesView("iptables", node.name, text, None, ())
    own = _iptables_chains(services, slices, service, node, config)
    prefix = f"{service.namespace}/{service.name}"
    # In iptables-save's order: table by table, chains sorted, rules in their order within a chain.
    lines = [
        xtables.save_line(xtables.parse(rule))
        for table in (rules.filter, rules.nat)
        for chain in sorted(table.chains)
        for rule in table.rules_of(chain)
        if chain in own or _names_service(rule, prefix)
    ]
    listing = "".join(xtables.list_chain(rules, "nat", chain) for chain in sorted(own & set(rules.nat.chains)))
    endpoint_rules = tuple(
        EndpointRule(r[-1], r[1], xtables.save_line(xtables.parse(r)))
        for r in rules.nat.rules
        if r[1].startswith("KUBE-SEP-") and r[1] in own and "DNAT" in r
    )
    return RulesView("iptables", node.name, "\n".join(lines) + "\n", listing, endpoint_rules)


def _names_service(rule: tuple[str, ...], prefix: str) -> bool:
    if "--comment" not in rule:
        return False
    text = rule[rule.index("--comment") + 1].strip('"')
    return text == prefix or text.startswith((f"{prefix}:", f"{prefix} "))


def _iptables_chains(
    services: list[Service], slices: list[EndpointSlice], service: Service, node: ProxyNode, config: ProxyConfig
) -> set[str]:
    by_port = endpoints_by_port(slices, config.ip_family)
    chains: set[str] = set()
    for info in _service_infos(services, service, config):
        chains |= {info.cluster_policy_chain, info.local_policy_chain, info.external_chain, info.firewall_chain}
        chains |= {info.endpoint_chain(e) for e in endpoints_of(info, by_port)}
    return chains


def _nft_view(
    services: list[Service],
    slices: list[EndpointSlice],
    service: Service | None,
    node: ProxyNode,
    config: ProxyConfig,
    cidrs: tuple[str, ...],
) -> RulesView:
    text = nftables.render(services, slices, node, config, cidrs).text()
    if service is None:
        return RulesView("nftables", node.name, text, None, ())
    marker = f"-{service.namespace}/{service.name}/"
    comment = f'comment "{service.namespace}/{service.name}'
    lines = [line for line in text.splitlines() if marker in line or comment in line]
    endpoint_rules = tuple(
        EndpointRule(line.rsplit(" ", 1)[-1], line.split(" ")[4], line)
        for line in lines
        if line.startswith("add rule") and " dnat to " in line
    )
    return RulesView("nftables", node.name, "\n".join(lines) + "\n", None, endpoint_rules)


def _ipvs_view(
    services: list[Service], slices: list[EndpointSlice], service: Service | None, node: ProxyNode, config: ProxyConfig
) -> RulesView:
    state = ipvs.render(services, slices, node, config)
    if service is not None:
        prefix = f"{service.namespace}/{service.name}"
        state.virtual_servers = [
            s for s in state.virtual_servers if s.service == prefix or s.service.startswith(f"{prefix}:")
        ]
    return RulesView("ipvs", node.name, state.ipvsadm() + "\n" + state.ipset_save(), None, ())


def rules_view(
    settings: KubeProxySettings,
    services: Iterable[Service],
    slices: Iterable[EndpointSlice],
    node: ProxyNode,
    *,
    service: Service | None = None,
    mode: ProxyMode | None = None,
    service_cidrs: tuple[str, ...] = (),
    large_cluster: bool | None = None,
) -> RulesView:
    """The rules kube-proxy keeps on `node`, for one Service or (service=None) for every Service.

    For one Service, pass just it and its slices (the other Services' rules are left out anyway) and
    `large_cluster` from the whole cluster's endpoint count (see `is_large_cluster`).
    """
    chosen = mode or settings.mode
    all_services, all_slices = list(services), list(slices)
    if chosen == "nftables":
        return _nft_view(all_services, all_slices, service, node, settings.config, service_cidrs)
    if chosen == "ipvs":
        return _ipvs_view(all_services, all_slices, service, node, settings.config)
    return _iptables_view(all_services, all_slices, service, node, settings.config, large_cluster)


def is_large_cluster(slices: Iterable[EndpointSlice]) -> bool:
    """kube-proxy drops per-endpoint comments above 1,000 endpoints (an upper bound from the slices)."""
    total = sum(len(s.endpoints) * max(1, len(s.ports)) for s in slices)
    return total > iptables.LARGE_CLUSTER_ENDPOINTS


def settings_for(snapshot: ClusterSnapshot) -> KubeProxySettings:
    """kube-proxy's own configuration when the cluster publishes it, else the optimizer's settings.

    The cluster CIDR falls back to the optimizer's setting, then to the nodes' podCIDRs.
    """
    network = snapshot.network
    cidr = network.cluster_cidr or common_network(node.pod_cidr for node in snapshot.nodes.values() if node.pod_cidr)
    mode: ProxyMode = next((m for m in MODES if m == network.kube_proxy_mode), "iptables")
    if network.kube_proxy_config is not None:
        return settings_from_config(network.kube_proxy_config, default_mode=mode, cluster_cidr=cidr)
    return KubeProxySettings(mode, ProxyConfig(cluster_cidr=cidr), "setting (OPTIMIZER_KUBE_PROXY_MODE)")


def proxy_node(node: Node) -> ProxyNode:
    return ProxyNode(node.name, node.internal_ip, dict(node.labels))
