"""Polls metrics.k8s.io and feeds the history store and the live model.

metrics-server keeps only the latest reading, so anything we do not collect is lost. Each scrape:
reads PodMetrics and NodeMetrics, drops readings whose sample timestamp we already have (the API's
timestamp, never our clock), resolves each container's workload (Pod → ReplicaSet → Deployment,
StatefulSet, DaemonSet) and requests from the watch caches, records container terminations seen in
pod status once per occurrence, records the replica counts of workloads that have an HPA, and hands
the latest readings to the model (which publishes a MetricsTick). A missing or failing metrics API
degrades health with the reason and never stops the loop; the next successful scrape recovers.

At 10,000 pods the CPU-heavy part of a scrape (decoding, translating, deduping, resolving workloads
and building the tick: ~0.3 s of Python) runs in a worker thread on an immutable snapshot, with the
cyclic GC paused; the event loop only publishes the result, so requests are not held up meanwhile.
`last_scrape_seconds` is the wall time of the last successful scrape (exported on /metrics).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from k8s_optimizer.domain.health import ComponentHealth
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import owner_of
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.interpreter import GC_PAUSE
from k8s_optimizer.k8s.errors import ClusterError, ClusterForbiddenError
from k8s_optimizer.k8s.kube import ApiReader, fetch_node_metrics, fetch_pod_metrics
from k8s_optimizer.live.recorder import HistoryRecorder
from k8s_optimizer.live.usage import MetricsTick, usage_tick
from k8s_optimizer.settings import Settings

logger = logging.getLogger(__name__)

# Termination keys remembered to record each occurrence once; far more than a cluster's live containers.
_MAX_REMEMBERED_TERMINATIONS = 100_000


@dataclass(frozen=True, slots=True)
class ScrapeResult:
    containers: tuple[ScrapedContainer, ...]
    nodes: tuple[NodeUsage, ...]
    terminations: tuple[Termination, ...]
    replicas_recorded: int


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One scrape, resolved off the event loop."""

    containers: tuple[ScrapedContainer, ...]
    nodes: tuple[NodeUsage, ...]
    terminations: tuple[Termination, ...]
    usage: dict[ContainerKey, ContainerUsage]
    node_usage: dict[str, NodeUsage]
    tick: MetricsTick


class ScrapedModel(Protocol):
    """What the collector needs from the live model (live/model.py's ClusterModel, which owns the collector)."""

    @property
    def settings(self) -> Settings: ...

    def snapshot(self) -> ClusterSnapshot: ...

    async def wait_synced(self, timeout_seconds: float) -> bool: ...

    def update_usage(
        self,
        containers: dict[ContainerKey, ContainerUsage],
        nodes: dict[str, NodeUsage],
        tick: MetricsTick | None = None,
    ) -> None: ...


def scraped_containers(snapshot: ClusterSnapshot, readings: Sequence[ContainerUsage]) -> list[ScrapedContainer]:
    """Attach workload (by the topology's ownership rules) and requests (from the caches) to each reading."""
    scraped: list[ScrapedContainer] = []
    for reading in readings:
        pod = snapshot.pods.get((reading.key.namespace, reading.key.pod))
        spec = next((c for c in pod.containers if c.name == reading.key.container), None) if pod else None
        scraped.append(
            ScrapedContainer(
                usage=reading,
                workload=owner_of(pod, snapshot.workloads) if pod else None,
                cpu_request_millicores=spec.cpu_request_millicores if spec else None,
                memory_request_bytes=spec.memory_request_bytes if spec else None,
            )
        )
    return scraped


def new_terminations(snapshot: ClusterSnapshot, seen: set[tuple[str, str, str, datetime]]) -> list[Termination]:
    """Terminations in pods' lastState not recorded before; `seen` is updated."""
    found: list[Termination] = []
    for pod in snapshot.pods.values():
        for status in pod.container_statuses:
            if status.last_termination_reason is None or status.last_termination_at is None:
                continue
            marker = (pod.namespace, pod.name, status.name, status.last_termination_at)
            if marker in seen:
                continue
            seen.add(marker)
            found.append(
                Termination(
                    key=ContainerKey(pod.namespace, pod.name, status.name),
                    reason=status.last_termination_reason,
                    finished_at=status.last_termination_at,
                    restart_count=status.restart_count,
                )
            )
    if len(seen) > _MAX_REMEMBERED_TERMINATIONS:
        seen.clear()  # rare; at worst a termination is offered twice and the store dedupes it
    return found


class MetricsCollector:
    """One scrape per interval; `collect_once` is the whole logic, `run` only loops."""

    def __init__(self, connection: ApiReader, model: ScrapedModel, history: HistoryRecorder | None) -> None:
        self.connection = connection
        self.model = model
        self.history = history
        self.health = ComponentHealth.degraded("no scrape yet")
        self.history_health = ComponentHealth.ok()
        self.scrape_count = 0
        self.last_scrape_seconds: float | None = None
        self._last_container_timestamp: dict[ContainerKey, datetime] = {}
        self._last_node_timestamp: dict[str, datetime] = {}
        self._seen_terminations: set[tuple[str, str, str, datetime]] = set()
        self._last_replica_timestamp: datetime | None = None

    async def run(self, interval_seconds: float) -> None:
        # Workload resolution needs the caches, and a cold list of 10,000 pods should not compete
        # with a 10,000-pod metrics read: scrape once the model has synced.
        await self.model.wait_synced(timeout_seconds=max(interval_seconds, 30.0))
        while True:
            try:
                await self.collect_once()
            except Exception as error:  # a bug in one scrape must not end collection for good
                self.health = ComponentHealth.degraded(f"scrape failed: {error!r}")
                logger.exception("metrics scrape failed")
            await asyncio.sleep(interval_seconds)

    async def collect_once(self) -> ScrapeResult | None:
        """One scrape; None when the metrics API failed (health says why)."""
        started = time.perf_counter()
        try:
            readings = await fetch_pod_metrics(self.connection, self.model.settings.namespaces)
            nodes = await self._fetch_nodes()
        except ClusterError as error:
            self.health = ComponentHealth.degraded(f"metrics.k8s.io unavailable: {error.message}")
            return None
        self.health = ComponentHealth.ok()
        self.scrape_count += 1
        snapshot = self.model.snapshot()  # immutable: safe to read from the worker thread
        prepared = await asyncio.to_thread(self._prepare, snapshot, readings, nodes)
        self.model.update_usage(prepared.usage, prepared.node_usage, prepared.tick)
        replicas = await self._record(snapshot, prepared.containers, prepared.nodes, prepared.terminations, readings)
        self.last_scrape_seconds = time.perf_counter() - started
        return ScrapeResult(prepared.containers, prepared.nodes, prepared.terminations, replicas)

    def _prepare(
        self, snapshot: ClusterSnapshot, readings: Sequence[ContainerUsage], nodes: Sequence[NodeUsage]
    ) -> _Prepared:
        """Dedupe, resolve and total one scrape (worker thread; only this collector touches its state)."""
        with GC_PAUSE.paused():
            fresh = [r for r in readings if self._is_new_container(r)]
            usage = {r.key: r for r in readings}
            node_usage = {n.node: n for n in nodes}
            return _Prepared(
                containers=tuple(scraped_containers(snapshot, fresh)),
                nodes=tuple(n for n in nodes if self._is_new_node(n)),
                terminations=tuple(new_terminations(snapshot, self._seen_terminations)),
                usage=usage,
                node_usage=node_usage,
                tick=usage_tick(usage, node_usage),
            )

    async def _fetch_nodes(self) -> list[NodeUsage]:
        try:
            return await fetch_node_metrics(self.connection)
        except ClusterForbiddenError:
            return []  # namespace-scoped credentials: node usage is simply not ours to read

    def _is_new_container(self, reading: ContainerUsage) -> bool:
        key = reading.key
        last = self._last_container_timestamp.get(key)
        if last is not None and reading.timestamp <= last:
            return False
        self._last_container_timestamp[key] = reading.timestamp
        return True

    def _is_new_node(self, reading: NodeUsage) -> bool:
        last = self._last_node_timestamp.get(reading.node)
        if last is not None and reading.timestamp <= last:
            return False
        self._last_node_timestamp[reading.node] = reading.timestamp
        return True

    async def _record(
        self,
        snapshot: ClusterSnapshot,
        containers: tuple[ScrapedContainer, ...],
        nodes: tuple[NodeUsage, ...],
        terminations: tuple[Termination, ...],
        readings: Sequence[ContainerUsage],
    ) -> int:
        if self.history is None:
            return 0
        try:
            if containers or nodes:
                await self.history.record_scrape(containers, nodes)
            if terminations:
                await self.history.record_terminations(terminations)
            recorded = await self._record_replicas(snapshot, readings)
        except Exception as error:  # any store failure (sqlite3, disk) must not stop live metrics
            self.history_health = ComponentHealth.degraded(f"history store failed: {error}")
            logger.exception("history store failed")
            return 0
        self.history_health = ComponentHealth.ok()
        return recorded

    async def _record_replicas(self, snapshot: ClusterSnapshot, readings: Sequence[ContainerUsage]) -> int:
        """Replica counts of HPA-scaled workloads, stamped with the scrape's newest sample time."""
        if not readings or self.history is None:
            return 0
        timestamp = max(r.timestamp for r in readings)
        if self._last_replica_timestamp is not None and timestamp <= self._last_replica_timestamp:
            return 0
        self._last_replica_timestamp = timestamp
        recorded = 0
        for hpa in snapshot.hpas.values():
            workload = snapshot.workloads.get(hpa.target)
            replicas = hpa.current_replicas if hpa.current_replicas is not None else None
            if replicas is None and workload is not None:
                replicas = workload.replicas
            if replicas is None:
                continue
            await self.history.record_replicas(hpa.target, timestamp, replicas, hpa.desired_replicas)
            recorded += 1
        return recorded
