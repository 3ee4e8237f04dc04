"""NetworkPolicy reachability: may this pod open a connection to that pod's port, and which policies decide?

A denied connection does not answer "connection refused": the packet is dropped and the client
times out, so a user who reads only Services and endpoints never learns why. This module applies
`networking.k8s.io/v1` semantics exactly, from the API objects alone: a pod is isolated in a
direction once any policy of its namespace selects it with that policy type; isolated traffic is
allowed only when some rule of a selecting policy admits it; the source's egress and the
destination's ingress must both allow. Peers follow the API's rules (an absent namespaceSelector
means the policy's own namespace, an empty one means every namespace; podSelector with
namespaceSelector is their intersection; ipBlock with except), ports may be named (resolved on the
destination pod) or ranges (endPort). Pure: the CNI enforces, this explains.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from k8s_optimizer.domain.objects import (
    Labels,
    NetworkPolicy,
    ObjectRef,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)

Direction = str  # "Ingress" or "Egress"


@dataclass(frozen=True, slots=True)
class PodPeer:
    """One end of a connection: a pod, or a hypothetical label-less pod in a namespace."""

    namespace: str
    name: str | None
    labels: Labels
    ip: str | None = None
    named_ports: tuple[tuple[str, str, int], ...] = ()  # (name, protocol, containerPort)

    @classmethod
    def of(cls, pod: Pod) -> PodPeer:
        ports = tuple(
            (port.name, port.protocol, port.container_port)
            for container in pod.containers
            for port in container.ports
            if port.name
        )
        return cls(pod.namespace, pod.name, pod.labels, pod.pod_ip, ports)

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.name else f"any pod in {self.namespace}"

    def port_named(self, name: str, protocol: str) -> int | None:
        return next((number for n, p, number in self.named_ports if n == name and p == protocol), None)


@dataclass(frozen=True, slots=True)
class SideVerdict:
    """One side's decision: egress at the source, or ingress at the destination."""

    direction: Direction
    isolated: bool
    allowed: bool
    selecting: tuple[ObjectRef, ...]  # the policies of this direction that select the pod
    allowing: tuple[ObjectRef, ...]  # those of them with a rule admitting this connection


@dataclass(frozen=True, slots=True)
class Verdict:
    source: PodPeer
    destination: PodPeer
    port: int
    protocol: str
    egress: SideVerdict
    ingress: SideVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def reason(self) -> str:
        if self.allowed:
            return self._allowed_reason()
        side, pod = (self.egress, self.source) if not self.egress.allowed else (self.ingress, self.destination)
        names = ", ".join(ref.name for ref in side.selecting)
        other = self.destination if side.direction == "Egress" else self.source
        subject = f"NetworkPolicy {names} in {pod.namespace} selects"
        if len(side.selecting) > 1:
            subject = f"NetworkPolicies {names} in {pod.namespace} select"
        return (
            f"connections time out: {subject} {pod.label} for {side.direction.lower()} "
            f"and no rule admits {other.label} on {self.protocol}/{self.port}"
        )

    def _allowed_reason(self) -> str:
        parts = []
        for side in (self.egress, self.ingress):
            if side.isolated:
                parts.append(f"{side.direction.lower()} allowed by {', '.join(ref.name for ref in side.allowing)}")
            else:
                parts.append(f"{side.direction.lower()} not isolated")
        return "; ".join(parts)


def _selected(policy: NetworkPolicy, pod: PodPeer, direction: Direction) -> bool:
    return (
        policy.namespace == pod.namespace
        and direction in policy.policy_types
        and policy.pod_selector.matches(pod.labels)
    )


def _ip_in_block(ip: str | None, peer: PolicyPeer) -> bool:
    block = peer.ip_block
    if block is None or ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(block.cidr, strict=False):
            return False
        return not any(address in ipaddress.ip_network(c, strict=False) for c in block.except_cidrs)
    except ValueError:
        return False


def _peer_matches(peer: PolicyPeer, policy_namespace: str, other: PodPeer, namespaces: Mapping[str, Labels]) -> bool:
    if peer.ip_block is not None:
        return _ip_in_block(other.ip, peer)
    if peer.namespace_selector is None:
        namespace_ok = other.namespace == policy_namespace
    else:
        namespace_ok = peer.namespace_selector.matches(namespaces.get(other.namespace, {}))
    pod_ok = peer.pod_selector is None or peer.pod_selector.matches(other.labels)
    return namespace_ok and pod_ok


def _port_matches(rule_port: PolicyPort, port: int, protocol: str, destination: PodPeer) -> bool:
    if rule_port.protocol != protocol:
        return False
    if rule_port.port is None:
        return True
    if isinstance(rule_port.port, str):
        return destination.port_named(rule_port.port, protocol) == port
    return rule_port.port <= port <= (rule_port.end_port or rule_port.port)


def _rule_admits(rule: PolicyRule, policy: NetworkPolicy, other: PodPeer, connection: _Connection) -> bool:
    peers_ok = not rule.peers or any(
        _peer_matches(p, policy.namespace, other, connection.namespaces) for p in rule.peers
    )
    ports_ok = not rule.ports or any(
        _port_matches(p, connection.port, connection.protocol, connection.destination) for p in rule.ports
    )
    return peers_ok and ports_ok


@dataclass(frozen=True, slots=True)
class _Connection:
    destination: PodPeer
    port: int
    protocol: str
    namespaces: Mapping[str, Labels]


def _side(
    direction: Direction, pod: PodPeer, other: PodPeer, policies: Sequence[NetworkPolicy], connection: _Connection
) -> SideVerdict:
    selecting = [p for p in policies if _selected(p, pod, direction)]
    allowing = [
        p
        for p in selecting
        if any(_rule_admits(rule, p, other, connection) for rule in (p.ingress if direction == "Ingress" else p.egress))
    ]
    return SideVerdict(
        direction=direction,
        isolated=bool(selecting),
        allowed=not selecting or bool(allowing),
        selecting=tuple(p.ref() for p in selecting),
        allowing=tuple(p.ref() for p in allowing),
    )


def evaluate(
    source: PodPeer,
    destination: PodPeer,
    port: int,
    protocol: str,
    policies: Iterable[NetworkPolicy],
    namespaces: Mapping[str, Labels],
) -> Verdict:
    """Whether `source` may connect to `destination` on protocol/port, with the deciding policies."""
    ordered = sorted(policies, key=lambda p: (p.namespace, p.name))
    connection = _Connection(destination, port, protocol, namespaces)
    return Verdict(
        source=source,
        destination=destination,
        port=port,
        protocol=protocol,
        egress=_side("Egress", source, destination, ordered, connection),
        ingress=_side("Ingress", destination, source, ordered, connection),
    )


@dataclass(frozen=True, slots=True)
class MatrixCell:
    source_namespace: str
    destination_namespace: str
    verdict: str  # allowed, denied, partial
    denied_pairs: int
    pairs: int
    deciding: tuple[ObjectRef, ...]  # the policies that isolate the denied destinations


def _groups(pods: Iterable[Pod], limit: int) -> dict[str, list[PodPeer]]:
    """One representative per (namespace, labels) — a replica set is one question — per namespace."""
    seen: dict[tuple[str, frozenset[tuple[str, str]]], PodPeer] = {}
    for pod in sorted(pods, key=lambda p: (p.namespace, p.name)):
        if len(seen) >= limit:
            break
        seen.setdefault((pod.namespace, frozenset(pod.labels.items())), PodPeer.of(pod))
    grouped: dict[str, list[PodPeer]] = {}
    for peer in seen.values():
        grouped.setdefault(peer.namespace, []).append(peer)
    return grouped


def _any_port(peer: PodPeer) -> tuple[int, str]:
    """The port a matrix cell asks about: the destination's first declared port (80/TCP without one)."""
    return (peer.named_ports[0][2], peer.named_ports[0][1]) if peer.named_ports else (80, "TCP")


def namespace_matrix(
    pods: Iterable[Pod], policies: Iterable[NetworkPolicy], namespaces: Mapping[str, Labels], *, group_limit: int = 200
) -> list[MatrixCell]:
    """Namespace × namespace: may pods of one reach pods of the other (per pod group, on its first port)."""
    ordered = sorted(policies, key=lambda p: (p.namespace, p.name))
    groups = _groups(pods, group_limit)
    cells: list[MatrixCell] = []
    for source_ns, sources in sorted(groups.items()):
        for destination_ns, destinations in sorted(groups.items()):
            verdicts = [
                evaluate(source, destination, *_any_port(destination), ordered, namespaces)
                for source in sources
                for destination in destinations
                if source != destination
            ]
            if not verdicts:
                continue
            denied = [v for v in verdicts if not v.allowed]
            verdict = "allowed" if not denied else "denied" if len(denied) == len(verdicts) else "partial"
            deciding = {
                ref for v in denied for side in (v.egress, v.ingress) if not side.allowed for ref in side.selecting
            }
            cells.append(
                MatrixCell(
                    source_ns,
                    destination_ns,
                    verdict,
                    len(denied),
                    len(verdicts),
                    tuple(sorted(deciding, key=ObjectRef.key)),
                )
            )
    return cells
