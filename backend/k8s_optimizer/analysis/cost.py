"""OpenCost's allocation model on our snapshot: what each pod, service and namespace costs a month.

The original product returned $0 for every real service. Here a container costs
max(request, usage) × hours × rate per resource (OpenCost spec v01), summed up to pods, services and
namespaces; the cluster's idle cost is allocatable capacity minus everything workloads hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from k8s_optimizer.domain.objects import Node, Pod
from k8s_optimizer.domain.usage import ContainerKey

GIB = 2**30


@dataclass(frozen=True, slots=True)
class Prices:
    """OpenCost's default price book (GCP us-central1); the API maps settings.PriceBook onto it."""

    cpu_core_hour_usd: float = 0.031611
    memory_gib_hour_usd: float = 0.004237
    hours_per_month: float = 730.0

    def cpu_monthly_usd(self, millicores: float) -> float:
        return millicores / 1000 * self.cpu_core_hour_usd * self.hours_per_month

    def memory_monthly_usd(self, memory_bytes: float) -> float:
        return memory_bytes / GIB * self.memory_gib_hour_usd * self.hours_per_month

    def pod_hour_usd(self, cpu_millicores: float, memory_bytes: float) -> float:
        """What one replica holding these requests costs per hour (for replica-hour costing)."""
        return cpu_millicores / 1000 * self.cpu_core_hour_usd + memory_bytes / GIB * self.memory_gib_hour_usd


@dataclass(frozen=True, slots=True)
class Usage:
    """Average usage of one container over the analysis window."""

    cpu_millicores: float
    memory_bytes: float


@dataclass(frozen=True, slots=True)
class CostLine:
    """Monthly cost of a group of containers, with the requests and usage it was computed from."""

    cpu_monthly_usd: float = 0.0
    memory_monthly_usd: float = 0.0
    cpu_request_millicores: float = 0.0
    cpu_usage_millicores: float = 0.0
    memory_request_bytes: float = 0.0
    memory_usage_bytes: float = 0.0

    @property
    def total_monthly_usd(self) -> float:
        return self.cpu_monthly_usd + self.memory_monthly_usd

    def __add__(self, other: CostLine) -> CostLine:
        return CostLine(
            self.cpu_monthly_usd + other.cpu_monthly_usd,
            self.memory_monthly_usd + other.memory_monthly_usd,
            self.cpu_request_millicores + other.cpu_request_millicores,
            self.cpu_usage_millicores + other.cpu_usage_millicores,
            self.memory_request_bytes + other.memory_request_bytes,
            self.memory_usage_bytes + other.memory_usage_bytes,
        )

    def rounded(self) -> CostLine:
        return CostLine(
            round(self.cpu_monthly_usd, 4),
            round(self.memory_monthly_usd, 4),
            round(self.cpu_request_millicores, 3),
            round(self.cpu_usage_millicores, 3),
            round(self.memory_request_bytes),
            round(self.memory_usage_bytes),
        )


@dataclass(frozen=True, slots=True)
class ClusterCost:
    workloads_monthly_usd: float = 0.0
    allocatable_monthly_usd: float = 0.0
    idle_monthly_usd: float = 0.0
    savings_monthly_usd: float = 0.0


def container_cost(
    cpu_request_millicores: float, memory_request_bytes: float, usage: Usage, prices: Prices
) -> CostLine:
    """OpenCost: each resource costs max(request, usage) × hours × rate."""
    return CostLine(
        cpu_monthly_usd=prices.cpu_monthly_usd(max(cpu_request_millicores, usage.cpu_millicores)),
        memory_monthly_usd=prices.memory_monthly_usd(max(memory_request_bytes, usage.memory_bytes)),
        cpu_request_millicores=cpu_request_millicores,
        cpu_usage_millicores=usage.cpu_millicores,
        memory_request_bytes=memory_request_bytes,
        memory_usage_bytes=usage.memory_bytes,
    )


def pod_cost(pod: Pod, usage: Mapping[ContainerKey, Usage], prices: Prices) -> CostLine:
    """A running pod's cost; pods that hold nothing (Succeeded/Failed, or unscheduled) cost nothing."""
    if pod.phase in ("Succeeded", "Failed") or pod.node_name is None:
        return CostLine()
    total = CostLine()
    for container in pod.containers:
        reading = usage.get(ContainerKey(pod.namespace, pod.name, container.name), Usage(0.0, 0.0))
        total += container_cost(
            container.cpu_request_millicores or 0, container.memory_request_bytes or 0, reading, prices
        )
    return total


def total(lines: Iterable[CostLine]) -> CostLine:
    result = CostLine()
    for line in lines:
        result += line
    return result


def allocatable_monthly_usd(nodes: Iterable[Node], prices: Prices) -> float:
    return sum(
        prices.cpu_monthly_usd(node.allocatable_cpu_millicores)
        + prices.memory_monthly_usd(node.allocatable_memory_bytes)
        for node in nodes
    )


def cluster_cost(
    nodes: Iterable[Node], workloads: CostLine, prices: Prices, savings_monthly_usd: float = 0.0
) -> ClusterCost:
    """Idle = allocatable − Σ workloads (never negative: overcommitted usage is not negative idle)."""
    allocatable = allocatable_monthly_usd(nodes, prices)
    used = workloads.total_monthly_usd
    return ClusterCost(
        workloads_monthly_usd=round(used, 4),
        allocatable_monthly_usd=round(allocatable, 4),
        idle_monthly_usd=round(max(allocatable - used, 0.0), 4),
        savings_monthly_usd=round(savings_monthly_usd, 4),
    )
