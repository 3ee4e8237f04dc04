"""The live cluster model: watch caches, the change feed and the snapshot every reader uses.

Why it exists: the original product queried the API server on every HTTP request. Here informers
keep caches current, requests read a `ClusterSnapshot` built from them (cached until the next
change), and the WebSocket hub streams the change feed. Besides raw add/modify/delete the model
derives what a person watching services cares about:

- `ServiceEndpoints` — a Service's set of endpoint addresses changed (object: the new `Endpoints`),
- `ServiceReadiness` — its ready count changed (object: `ServiceReadiness`),
- `HPAReplicas` — an HPA's current/desired replicas changed (object: `HPAReplicas`),
- `MetricsTick` — a metrics scrape finished (object: `MetricsTick`, the per-pod totals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar, cast

from k8s_optimizer.domain.changes import Change
from k8s_optimizer.domain.health import ComponentHealth
from k8s_optimizer.domain.objects import (
    HPA,
    Endpoints,
    EndpointSlice,
    Event,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Node,
    ObjectRef,
    Pod,
    PodDisruptionBudget,
    Service,
    Workload,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot, NetworkSettings
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage
from k8s_optimizer.k8s.errors import ClusterError
from k8s_optimizer.k8s.informer import Backoff, EventType, Informer, ObjectKey
from k8s_optimizer.k8s.kube import KubeConnection, build_informers, connect, read_kube_proxy_config
from k8s_optimizer.live.collector import MetricsCollector
from k8s_optimizer.live.feed import ChangeLog, ChangeSubscription
from k8s_optimizer.live.recorder import HistoryRecorder
from k8s_optimizer.live.usage import (
    MetricsTick as MetricsTick,
    PodUsageTotal as PodUsageTotal,
    superseded_tick,
    usage_tick,
)
from k8s_optimizer.settings import Settings

logger = logging.getLogger(__name__)

_CACHE_KINDS = (
    "Namespace",
    "Node",
    "Pod",
    "Service",
    "Endpoints",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Event",
    "EndpointSlice",
    "NetworkPolicy",
    "Ingress",
    "IngressClass",
)
_WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
PROXY_CONFIG_REFRESH_SECONDS = 300.0

Connector = Callable[[Settings], Awaitable[KubeConnection]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceReadiness:
    namespace: str
    name: str
    ready_count: int
    not_ready_count: int


@dataclass(frozen=True, slots=True)
class HPAReplicas:
    namespace: str
    name: str
    target: ObjectRef
    current_replicas: int | None
    desired_replicas: int | None


def _address_set(endpoints: Endpoints | None) -> frozenset[tuple[str, bool, str | None, str | None]]:
    if endpoints is None:
        return frozenset()
    return frozenset((a.ip, a.ready, a.pod_name, a.node_name) for a in endpoints.addresses)


def _readiness(endpoints: Endpoints | None) -> tuple[int, int]:
    if endpoints is None:
        return 0, 0
    ready = endpoints.ready_count
    return ready, len(endpoints.addresses) - ready


class ClusterModel:
    """Owns the caches, the change feed, the metrics collector and the connection's lifetime."""

    def __init__(
        self,
        settings: Settings,
        *,
        history: HistoryRecorder | None = None,
        connector: Connector = connect,
        backoff_factory: Callable[[], Backoff] = Backoff,
        on_synced: Callable[[], None] | None = None,
    ) -> None:
        """`on_synced` runs once, when every cache has been listed and before `synced` turns true (the
        application tunes the interpreter there: k8s_optimizer/interpreter.py)."""
        self.settings = settings
        self._on_synced = on_synced
        self.history = history
        self._connector = connector
        self._backoff_factory = backoff_factory
        self._caches: dict[str, dict[ObjectKey, object]] = {kind: {} for kind in _CACHE_KINDS}
        self._log = ChangeLog()
        self._snapshot: ClusterSnapshot | None = None
        self._connection: KubeConnection | None = None
        self._informers: list[Informer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = asyncio.Event()
        self._connect_error: str | None = "not started"
        self.collector: MetricsCollector | None = None
        self.container_usage: dict[ContainerKey, ContainerUsage] = {}
        self.node_usage: dict[str, NodeUsage] = {}
        self._last_tick_seq: int | None = None
        self._last_tick_timestamp: datetime | None = None
        self._network = NetworkSettings(
            service_cidr=settings.service_cidr,
            host_port_mappings=dict(settings.host_port_mappings),
            kube_proxy_mode=settings.kube_proxy_mode,
            cluster_cidr=settings.cluster_cidr,
        )

    # -- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start connecting, listing and watching in the background; returns at once."""
        self._connect_error = "connecting"
        for namespace in self.settings.namespaces:
            self.apply("Namespace", "added", ("", namespace), Namespace(name=namespace))
        self._tasks.append(asyncio.create_task(self._run(), name="cluster-model"))

    async def _run(self) -> None:
        backoff = self._backoff_factory()
        while self._connection is None:
            try:
                self._connection = await self._connector(self.settings)
            except ClusterError as error:
                self._connect_error = error.message
                await asyncio.sleep(backoff.next_delay())
            except Exception as error:  # an auth plugin or loader bug: report it and keep trying
                self._connect_error = f"{type(error).__name__}: {error}"
                logger.exception("connecting to the cluster failed")
                await asyncio.sleep(backoff.next_delay())
        self._connect_error = None
        # Read before the caches fill, so the first view already knows kube-proxy's mode.
        self._network = replace(self._network, kube_proxy_config=await read_kube_proxy_config(self._connection))
        self._tasks.append(asyncio.create_task(self._watch_proxy_config(), name="kube-proxy-config"))
        self._informers = build_informers(self._connection, self, self.settings.namespaces)
        for informer in self._informers:
            informer.backoff = self._backoff_factory()
        self.collector = MetricsCollector(self._connection, self, self.history)
        for informer in self._informers:
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer-{informer.name}"))
        self._tasks.append(
            asyncio.create_task(self.collector.run(self.settings.metrics_interval_seconds), name="metrics")
        )

    async def _watch_proxy_config(self) -> None:
        """kube-proxy's configuration changes only when an admin edits it: re-read every few minutes."""
        while self._connection is not None:
            await asyncio.sleep(PROXY_CONFIG_REFRESH_SECONDS)
            conf = await read_kube_proxy_config(self._connection)
            if conf != self._network.kube_proxy_config:
                self._network = replace(self._network, kube_proxy_config=conf)
                self._snapshot = None

    async def stop(self) -> None:
        # Cancel until every task has ended: on Python 3.11 a cancellation that lands while an inner
        # asyncio.wait_for (aiohttp, kubernetes_asyncio) completes is swallowed, and the task would go on
        # to its next sleep (an hour for a long scrape interval) instead of ending.
        pending = {task for task in self._tasks if not task.done()}
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def wait_synced(self, timeout_seconds: float) -> bool:
        """True once every cache has been listed (False on timeout)."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout_seconds)
        except TimeoutError:
            return False
        return True

    # -- InformerSink --------------------------------------------------------------------------------
    def informer_synced(self, informer: Informer) -> None:
        if self._informers and all(each.synced for each in self._informers) and not self._synced.is_set():
            if self._on_synced is not None:
                self._on_synced()
            self._synced.set()

    def apply(self, kind: str, event_type: EventType, key: ObjectKey, obj: object | None) -> None:
        """Apply one cache change; unchanged objects (a relist) publish nothing."""
        cache = self._caches[kind]
        old = cache.get(key)
        if event_type == "deleted" or obj is None:
            if old is None:
                return
            del cache[key]
            published: EventType = "deleted"
        else:
            if old == obj:
                return
            cache[key] = obj
            published = "added" if old is None else "modified"
        self._snapshot = None
        self._log.publish(published, kind, key[0], key[1], obj if published != "deleted" else None)
        self._derive(kind, key, old, obj if published != "deleted" else None)

    def _derive(self, kind: str, key: ObjectKey, old: object | None, new: object | None) -> None:
        if kind == "Endpoints":
            self._derive_endpoints(key, old, new)
        elif kind == "HorizontalPodAutoscaler":
            self._derive_hpa(key, old, new)

    def _derive_endpoints(self, key: ObjectKey, old: object | None, new: object | None) -> None:
        before = old if isinstance(old, Endpoints) else None
        after = new if isinstance(new, Endpoints) else None
        change_type: EventType = "deleted" if after is None else "added" if before is None else "modified"
        if _address_set(before) != _address_set(after) or (before is None) != (after is None):
            self._log.publish(change_type, "ServiceEndpoints", key[0], key[1], after, derived=True)
        ready_before, ready_after = _readiness(before), _readiness(after)
        if ready_before[0] != ready_after[0]:
            readiness = ServiceReadiness(key[0], key[1], ready_after[0], ready_after[1])
            self._log.publish(change_type, "ServiceReadiness", key[0], key[1], readiness, derived=True)

    def _derive_hpa(self, key: ObjectKey, old: object | None, new: object | None) -> None:
        before = old if isinstance(old, HPA) else None
        after = new if isinstance(new, HPA) else None
        replicas_before = (before.current_replicas, before.desired_replicas) if before else None
        replicas_after = (after.current_replicas, after.desired_replicas) if after else None
        if replicas_before == replicas_after:
            return
        if after is None:
            self._log.publish("deleted", "HPAReplicas", key[0], key[1], None, derived=True)
            return
        replicas = HPAReplicas(key[0], key[1], after.target, after.current_replicas, after.desired_replicas)
        self._log.publish(
            "added" if before is None else "modified", "HPAReplicas", key[0], key[1], replicas, derived=True
        )

    # -- metrics (called by the collector) -----------------------------------------------------------
    def update_usage(
        self,
        containers: dict[ContainerKey, ContainerUsage],
        nodes: dict[str, NodeUsage],
        tick: MetricsTick | None = None,
    ) -> None:
        """Replace the latest readings and publish a MetricsTick (`tick`: already built off the loop)."""
        self.container_usage = containers
        self.node_usage = nodes
        self._snapshot = None
        tick = tick or usage_tick(containers, nodes)
        published = self._log.publish("modified", "MetricsTick", "", "", tick, derived=True)
        # Each tick is the whole picture (10,000 pod totals, ~1.3 MB); kept in the ring, a day of
        # 15-second ticks would hold gigabytes. Older ticks stay in the ring (seqs are contiguous)
        # but without their totals: a client catching up needs only the newest one.
        if self._last_tick_seq is not None:
            self._log.replace_object(self._last_tick_seq, superseded_tick(self._last_tick_timestamp))
        self._last_tick_seq, self._last_tick_timestamp = published.seq, tick.timestamp

    # -- readers -------------------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def seq(self) -> int:
        return self._log.seq

    @property
    def informers(self) -> tuple[Informer, ...]:
        return tuple(self._informers)

    def subscribe(self, maxsize: int = 1000) -> ChangeSubscription:
        return self._log.subscribe(maxsize)

    def changes_since(self, seq: int) -> list[Change] | None:
        return self._log.since(seq)

    def health(self) -> dict[str, ComponentHealth]:
        checks = {"watches": self._watch_health()}
        checks["metrics"] = self.collector.health if self.collector else ComponentHealth.degraded("not connected yet")
        if self.history is not None and self.collector is not None:
            checks["history"] = self.collector.history_health
        healed = getattr(self.history, "problem", None)  # HistoryStore: a damaged database was moved aside
        if isinstance(healed, str):
            checks["history"] = ComponentHealth.degraded(healed)
        return checks

    def stopped_tasks(self) -> list[str]:
        """Background loops that ended (they never should while running): empty when all is well."""
        return sorted(task.get_name() for task in self._tasks if task.done() and task.get_name() != "cluster-model")

    def _watch_health(self) -> ComponentHealth:
        if self._connect_error is not None:
            return ComponentHealth.degraded(f"not connected: {self._connect_error}")
        if stopped := self.stopped_tasks():
            return ComponentHealth.degraded(f"stopped: {', '.join(stopped)}")
        failing = [f"{informer.name}: {informer.last_error}" for informer in self._informers if not informer.healthy]
        if failing:
            return ComponentHealth.degraded("; ".join(sorted(failing)))
        if not self.synced:
            return ComponentHealth.degraded("initial list in progress")
        return ComponentHealth.ok()

    def snapshot(self) -> ClusterSnapshot:
        """A consistent view; rebuilt only after a change (dict copies, no deep copies: objects are frozen)."""
        if self._snapshot is None:
            self._snapshot = self._build_snapshot()
        return self._snapshot

    def _copy(self, kind: str, _: type[T]) -> dict[ObjectKey, T]:
        """A shallow copy of one cache; the informer put only `kind`'s domain type in it."""
        return cast(dict[ObjectKey, T], dict(self._caches[kind]))

    def _build_snapshot(self) -> ClusterSnapshot:
        workloads: dict[ObjectRef, Workload] = {}
        for kind in _WORKLOAD_KINDS:
            for (namespace, name), workload in self._copy(kind, Workload).items():
                workloads[ObjectRef(kind, namespace, name)] = workload
        return ClusterSnapshot(
            taken_at=datetime.now(UTC),
            namespaces={name: ns for (_, name), ns in self._copy("Namespace", Namespace).items()},
            nodes={name: node for (_, name), node in self._copy("Node", Node).items()},
            pods=self._copy("Pod", Pod),
            services=self._copy("Service", Service),
            endpoints=self._copy("Endpoints", Endpoints),
            workloads=workloads,
            hpas=self._copy("HorizontalPodAutoscaler", HPA),
            pdbs=self._copy("PodDisruptionBudget", PodDisruptionBudget),
            events=self._copy("Event", Event),
            endpoint_slices=self._copy("EndpointSlice", EndpointSlice),
            network_policies=self._copy("NetworkPolicy", NetworkPolicy),
            ingresses=self._copy("Ingress", Ingress),
            ingress_classes={name: c for (_, name), c in self._copy("IngressClass", IngressClass).items()},
            container_usage=dict(self.container_usage),
            node_usage=dict(self.node_usage),
            network=self._network,
        )
