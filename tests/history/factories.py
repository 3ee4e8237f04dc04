"""Builders for the history tests: scrapes, terminations and times, with the defaults spelled out once."""

from __future__ import annotations

from datetime import UTC, datetime

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage, ScrapedContainer, Termination

DAY = 86400.0
T0 = 19676 * DAY  # 2023-11-15T00:00:00Z: a multiple of 24 h and of 5 min, long before the wall clock
WEB = ObjectRef("Deployment", "shop", "web")
MIB = 2**20


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def scraped(
    pod: str,
    timestamp_seconds: float,
    cpu_millicores: float,
    memory_bytes: int,
    *,
    container: str = "app",
    workload: ObjectRef | None = WEB,
    namespace: str = "shop",
    cpu_request_millicores: int | None = 200,
    memory_request_bytes: int | None = 256 * MIB,
) -> ScrapedContainer:
    usage = ContainerUsage(
        key=ContainerKey(namespace, pod, container),
        timestamp=at(timestamp_seconds),
        window_seconds=15.0,
        cpu_millicores=cpu_millicores,
        memory_bytes=memory_bytes,
    )
    return ScrapedContainer(usage, workload, cpu_request_millicores, memory_request_bytes)


def node(name: str, timestamp_seconds: float, cpu_millicores: float, memory_bytes: int) -> NodeUsage:
    return NodeUsage(name, at(timestamp_seconds), 15.0, cpu_millicores, memory_bytes)


def oom(pod: str, finished_seconds: float, *, container: str = "app", restart_count: int = 1) -> Termination:
    return Termination(ContainerKey("shop", pod, container), "OOMKilled", at(finished_seconds), restart_count)


def two_pod_scrape(timestamp_seconds: float, step: int) -> list[ScrapedContainer]:
    """web-a and web-b with distinct, step-dependent usage (a deterministic workload)."""
    return [
        scraped("web-a", timestamp_seconds, 100.0 + 10 * step, 100 * MIB + step * MIB),
        scraped("web-b", timestamp_seconds, 50.0 + 5 * step, 80 * MIB + step * MIB),
    ]
