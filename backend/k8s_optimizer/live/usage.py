"""What the model publishes after each metrics scrape: per-pod usage totals (a `MetricsTick`).

Why a module of its own: the collector builds the tick in a worker thread (10,000 containers take
tens of milliseconds to total and sort, which the event loop must not spend), and the model, which
imports the collector, publishes it; both need these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage


@dataclass(frozen=True, slots=True)
class PodUsageTotal:
    namespace: str
    pod: str
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class MetricsTick:
    timestamp: datetime | None  # the newest sample timestamp of the scrape (the API's clock)
    pods: tuple[PodUsageTotal, ...]
    nodes: tuple[NodeUsage, ...]


def usage_tick(containers: dict[ContainerKey, ContainerUsage], nodes: dict[str, NodeUsage]) -> MetricsTick:
    """The per-pod totals of one scrape (pure, so the collector can build it off the event loop)."""
    totals: dict[tuple[str, str], tuple[float, int]] = {}
    for usage in containers.values():
        cpu, memory = totals.get((usage.key.namespace, usage.key.pod), (0.0, 0))
        totals[(usage.key.namespace, usage.key.pod)] = (cpu + usage.cpu_millicores, memory + usage.memory_bytes)
    timestamps = [u.timestamp for u in containers.values()] + [n.timestamp for n in nodes.values()]
    return MetricsTick(
        timestamp=max(timestamps) if timestamps else None,
        pods=tuple(PodUsageTotal(ns, pod, cpu, memory) for (ns, pod), (cpu, memory) in sorted(totals.items())),
        nodes=tuple(nodes[name] for name in sorted(nodes)),
    )


def superseded_tick(timestamp: datetime | None) -> MetricsTick:
    """What an older tick becomes in the change ring once a newer one exists: its time, no totals."""
    return MetricsTick(timestamp=timestamp, pods=(), nodes=())
