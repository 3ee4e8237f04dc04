"""Usage history read from Prometheus, handed over as the same values the SQLite store hands.

The analysis reads `all_workload_histories`; this class answers it with a handful of queries per
namespace (CPU, memory, sample counts, restarts, OOM reasons, owners), each evaluated on the server
for every container of the namespace at once, pages through the namespaces under the client's
concurrency limit, and folds the answers into VPA histograms in a worker thread. Nothing above the
seam learns where the numbers came from except `WorkloadHistory.source` (named in rationales).

Prometheus is re-read at most every `refresh_seconds`; between reads, and when a read fails, the
last answer is served (marked stale on failure) and `health()` says what failed and which setting
fixes it. The live views never wait for any of this.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from k8s_optimizer.domain.health import ComponentHealth
from k8s_optimizer.domain.history import SeriesTarget, UsageSeries, WorkloadHistory
from k8s_optimizer.domain.objects import HPA, ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import owner_of
from k8s_optimizer.prometheus.assemble import Answers, Owners, Vector, assemble, hpa_metric_names
from k8s_optimizer.prometheus.chart import chart_series
from k8s_optimizer.prometheus.client import PrometheusClient, PrometheusError
from k8s_optimizer.prometheus.queries import MEMORY_SERIES, Queries, cpu_range_seconds, memory_range_seconds

logger = logging.getLogger(__name__)

SOURCE_NAME = "Prometheus"
MAX_POINTS_PER_SERIES = 11_000  # Prometheus refuses range queries with more points per series
SERIES_BUDGET_POINTS = 1_000_000  # series handed to the strategies per pass; beyond, histograms only
RETRY_AFTER_FAILURE_SECONDS = 5.0
DAY_SECONDS = 86400.0
# Beyond the series budget the CPU distribution comes from these server-side quantiles: VPA's lower
# bound, target and upper bound (50/90/95), KRR's 95 and the HPA-aware per-pod p95.
SUMMARY_QUANTILES = (0.5, 0.9, 0.95)

SnapshotProvider = Callable[[], ClusterSnapshot | None]
NodeSeries = Callable[..., Awaitable[UsageSeries]]  # the SQLite store's `series`, for Node targets


@dataclass(frozen=True, slots=True)
class SourceConfig:
    window_seconds: float = 14 * 86400.0
    step_seconds: float = 75.0
    max_points: int = 5_000_000
    refresh_seconds: float = 300.0
    namespaces: tuple[str, ...] = ()
    metric_queries: Mapping[str, str] = field(default_factory=dict)
    series_budget_points: int = SERIES_BUDGET_POINTS


def sample_interval_seconds(counts: Vector, window: float) -> float | None:
    """The cluster's sample interval: the window over the most samples any container holds in it.

    The container that lived through the whole window has the most samples, so a pod started an hour
    ago does not make the interval look long; a backfill coarser than the live scrape does show.
    """
    most = max((value for _, (_, value) in counts), default=0.0)
    return window / most if most > 1 else None


def _in_order(
    names: list[str],
    counted: list[Vector | BaseException],
    answers: list[dict[ObjectRef, WorkloadHistory] | BaseException],
) -> list[dict[ObjectRef, WorkloadHistory] | BaseException]:
    """One answer per namespace: the count query's failure where it failed, else the namespace's answer."""
    found = iter(answers)
    return [rows if isinstance(rows, BaseException) else next(found) for rows in counted]


def choose_step(
    window_seconds: float, containers: int, config: SourceConfig, interval_seconds: float | None = None
) -> float:
    """KRR's step unless the window, the cluster's size or the stored sample interval asks for a coarser one
    (whole seconds): a step finer than the samples only evaluates the same rate again."""
    per_series = window_seconds / MAX_POINTS_PER_SERIES
    per_cluster = window_seconds * max(containers, 1) * 2 / config.max_points
    sampled = math.ceil(interval_seconds / 60 - 1e-6) * 60 if interval_seconds else 0.0  # whole minutes
    return float(math.ceil(max(config.step_seconds, per_series, per_cluster, sampled) - 1e-6))


@dataclass(slots=True)
class _Pass:
    """The last answer per namespace and whether it is fresh."""

    histories: dict[str, dict[ObjectRef, WorkloadHistory]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class PrometheusHistory:
    """The history reader (api/ports.py's HistoryReader) backed by a Prometheus-compatible server."""

    source = "prometheus"

    def __init__(
        self,
        client: PrometheusClient,
        queries: Queries,
        config: SourceConfig,
        *,
        snapshot: SnapshotProvider | None = None,
        node_series: NodeSeries | None = None,
    ) -> None:
        self.client = client
        self._node_series = node_series
        self.queries = queries
        self.config = config
        self._snapshot = snapshot or (lambda: None)
        self._last = _Pass()
        self._read_at: float | None = None  # monotonic time of the last read attempt
        self._failed = False
        self._health = ComponentHealth.degraded("Prometheus not read yet")
        self.passes = 0
        self.last_pass_seconds: float | None = None

    async def close(self) -> None:
        await self.client.close()

    def health(self) -> ComponentHealth:
        return self._health

    # ------------------------------------------------------------------ analysis
    async def all_workload_histories(
        self, window_seconds: float, now_seconds: float
    ) -> dict[ObjectRef, WorkloadHistory]:
        if self._due():
            await self.refresh(window_seconds, now_seconds)
        return self._merged()

    def _due(self) -> bool:
        if self._read_at is None:
            return True
        wait = RETRY_AFTER_FAILURE_SECONDS if self._failed else self.config.refresh_seconds
        return time.monotonic() - self._read_at >= wait

    async def refresh(self, window_seconds: float, now_seconds: float) -> None:
        """Read every namespace now; failures keep that namespace's last answer, marked stale."""
        started = time.perf_counter()
        self._read_at = time.monotonic()
        try:
            sizes = await self._namespaces(now_seconds)
        except PrometheusError as exc:
            self._fail({ns: str(exc) for ns in self._last.histories} or {"": str(exc)})
            return
        names = sorted(sizes)
        counted = await asyncio.gather(
            *(self.client.query(self.queries.sample_count(ns, window_seconds), at_seconds=now_seconds) for ns in names),
            return_exceptions=True,
        )
        counts = {ns: rows for ns, rows in zip(names, counted, strict=True) if not isinstance(rows, BaseException)}
        interval = sample_interval_seconds([row for rows in counts.values() for row in rows], window_seconds)
        step = choose_step(window_seconds, sum(sizes.values()), self.config, interval)
        # steps on multiples of the step: every pass (and any reader) sees the same points, not shifted ones
        now_seconds = math.floor(now_seconds / step) * step
        with_series = sum(sizes.values()) * 2 * window_seconds / step <= self.config.series_budget_points
        hpas = self._hpas()
        answers: list[dict[ObjectRef, WorkloadHistory] | BaseException] = list(
            await asyncio.gather(
                *(
                    self._namespace(ns, window_seconds, now_seconds, (step, interval), counts[ns], with_series, hpas)
                    for ns in names
                    if ns in counts
                ),
                return_exceptions=True,
            )
        )
        answers = _in_order(names, counted, answers)
        errors: dict[str, str] = {}
        for namespace, answer in zip(names, answers, strict=True):
            if isinstance(answer, PrometheusError):
                errors[namespace] = str(answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                self._last.histories[namespace] = answer
        for gone in set(self._last.histories) - set(names):
            del self._last.histories[gone]
        self.passes += 1
        self.last_pass_seconds = time.perf_counter() - started
        if errors:
            self._fail(errors)
        else:
            self._last.errors = {}
            self._failed = False
            self._health = ComponentHealth.ok()

    def _fail(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.values()))
        if not self._failed or first != next(iter(self._last.errors.values()), None):
            logger.warning("prometheus history: %s", first)
        self._last.errors = errors
        self._failed = True
        where = "" if list(errors) == [""] else f" ({len(errors)} namespace(s); showing the last values read)"
        self._health = ComponentHealth.degraded(f"{first}{where}")

    def _merged(self) -> dict[ObjectRef, WorkloadHistory]:
        merged: dict[ObjectRef, WorkloadHistory] = {}
        for namespace, histories in self._last.histories.items():
            reason = self._last.errors.get(namespace) or self._last.errors.get("")
            for ref, history in histories.items():
                merged[ref] = replace(history, stale=True, stale_reason=reason) if reason else history
        return merged

    def _hpas(self) -> tuple[HPA, ...]:
        snapshot = self._snapshot()
        return tuple(snapshot.hpas.values()) if snapshot is not None else ()

    async def _namespaces(self, now_seconds: float) -> dict[str, int]:
        rows = await self.client.query(self.queries.namespaces(), at_seconds=now_seconds)
        label = self.queries.labels.namespace
        sizes = {labels.get(label, ""): int(value) for labels, (_, value) in rows}
        wanted = set(self.config.namespaces)
        sizes = {ns: n for ns, n in sizes.items() if ns and (not wanted or ns in wanted)}
        if not sizes:
            raise PrometheusError(
                f"Prometheus holds no {MEMORY_SERIES} series for any container in the last hour: it must scrape "
                "cAdvisor (kubelet /metrics/cadvisor) with namespace, pod and container labels",
                "OPTIMIZER_PROMETHEUS_URL, the OPTIMIZER_PROMETHEUS_*_LABEL settings and OPTIMIZER_PROMETHEUS_CLUSTER",
            )
        return sizes

    async def _namespace(
        self,
        namespace: str,
        window: float,
        now: float,
        resolution: tuple[float, float | None],
        counts: Vector,
        with_series: bool,
        hpas: tuple[HPA, ...],
    ) -> dict[ObjectRef, WorkloadHistory]:
        q, client, start = self.queries, self.client, now - window
        step, interval = resolution
        cpu_range, memory_range = cpu_range_seconds(step, interval), memory_range_seconds(step, interval)
        quantiles: list[Vector] = []
        if not with_series:
            # beyond the series budget: distributions on the server, daily peaks (VPA's memory model)
            quantiles = await asyncio.gather(
                *(client.query(q.cpu_quantile(namespace, phi, window, step, cpu_range), at_seconds=now)
                  for phi in SUMMARY_QUANTILES)
            )  # fmt: skip
            step, memory_range = DAY_SECONDS, DAY_SECONDS
        cpu, memory, restarts, ooms = await asyncio.gather(
            client.query_range(q.cpu(namespace, cpu_range), start_seconds=start, end_seconds=now, step_seconds=step),
            client.query_range(
                q.memory(namespace, memory_range), start_seconds=start, end_seconds=now, step_seconds=step
            ),
            client.query_range(q.restarts(namespace, step), start_seconds=start, end_seconds=now, step_seconds=step),
            client.query_range(q.oom_reason(namespace, step), start_seconds=start, end_seconds=now, step_seconds=step),
        )
        pod_owners, rs_owners = await asyncio.gather(
            client.query(q.pod_owners(namespace, window), at_seconds=now),
            client.query(q.replicaset_owners(namespace, window), at_seconds=now),
        )
        if memory and not cpu:
            raise PrometheusError(
                f"no container_cpu_usage_seconds_total series in namespace {namespace!r} while memory series exist",
                "the Prometheus scrape of cAdvisor and the OPTIMIZER_PROMETHEUS_*_LABEL settings",
            )
        owners = Owners.from_rows(q.labels, pod_owners, rs_owners, self._fallback_owner)
        answers = Answers(q.labels, cpu, memory, counts, restarts, ooms, owners, interval_seconds=interval)
        if not with_series:
            answers.cpu = []  # the quantiles carry the CPU distribution; the daily rates are not needed
            answers.quantiles = dict(zip(SUMMARY_QUANTILES, quantiles, strict=True))
        for row, _ in memory:
            key = answers.key(row)
            owners.owner(key.namespace, key.pod)  # resolve every pod now: HPA metrics select their pods
        metric_series = await self._metric_series(namespace, hpas, answers, start, now, (step, cpu_range))
        return await asyncio.to_thread(
            assemble, answers, window_seconds=window, now_seconds=now, with_series=with_series,
            metric_series=metric_series, source=SOURCE_NAME,
        )  # fmt: skip

    def _fallback_owner(self, namespace: str, pod: str) -> ObjectRef | None:
        """Without kube-state-metrics: the owner of a pod that still exists."""
        snapshot = self._snapshot()
        found = snapshot.pods.get((namespace, pod)) if snapshot is not None else None
        if snapshot is None or found is None:
            return None
        return owner_of(found, snapshot.workloads)

    async def _metric_series(
        self,
        namespace: str,
        hpas: tuple[HPA, ...],
        answers: Answers,
        start: float,
        now: float,
        resolution: tuple[float, float],
    ) -> dict[ObjectRef, dict[str, list[tuple[float, float]]]]:
        """The series behind each Pods/Object/External HPA metric in this namespace (mapped, else as-is)."""
        found: dict[ObjectRef, dict[str, list[tuple[float, float]]]] = {}
        for hpa in (h for h in hpas if h.namespace == namespace):
            pods = answers.owners.pods_of(hpa.target)
            for name in hpa_metric_names(hpa):
                rows = await self._metric_rows(name, namespace, pods, (start, now, *resolution))
                if rows:
                    found.setdefault(hpa.target, {})[name] = rows[0][1]
                else:
                    logger.info("HPA %s/%s: metric %r has no series in Prometheus", namespace, hpa.name, name)
        return found

    async def _metric_rows(
        self, name: str, namespace: str, pods: list[str], span: tuple[float, float, float, float]
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """The mapped query, else the name as-is, else the counter behind a `_per_second` name."""
        start, now, step, rate_range = span
        template = self.config.metric_queries.get(name)
        expressions = [self.queries.metric(name, namespace, pods, template)]
        fallback = None if template else self.queries.counter_metric(name, namespace, pods, rate_range)
        if fallback is not None:
            expressions.append(fallback)
        for expr in expressions:
            rows = await self.client.query_range(expr, start_seconds=start, end_seconds=now, step_seconds=step)
            if rows:
                return rows
        return []

    # ------------------------------------------------------------------ charts
    async def series(
        self,
        target: SeriesTarget,
        metric: str,
        *,
        window_seconds: float,
        step_seconds: float,
        now_seconds: float | None = None,
    ) -> UsageSeries:
        if target.kind == "Node" and self._node_series is not None:
            # cAdvisor's node rows differ between setups; the backend's own store has every node's usage
            return await self._node_series(
                target, metric, window_seconds=window_seconds, step_seconds=step_seconds, now_seconds=now_seconds
            )
        now = time.time() if now_seconds is None else now_seconds
        owner = target.owner()
        pods = {key[1] for key, ref in self._owners_index().items() if ref == owner}
        return await chart_series(
            self.client, self.queries, target, metric, pods,
            window_seconds=window_seconds, step_seconds=step_seconds, now_seconds=now,
        )  # fmt: skip

    def _owners_index(self) -> dict[tuple[str, str], ObjectRef]:
        index: dict[tuple[str, str], ObjectRef] = {}
        for histories in self._last.histories.values():
            for ref, history in histories.items():
                for per_pod in history.containers.values():
                    for container in per_pod:
                        index[(container.key.namespace, container.key.pod)] = ref
        snapshot = self._snapshot()
        if snapshot is not None:
            for (namespace, name), pod in snapshot.pods.items():
                owner = owner_of(pod, snapshot.workloads)
                if owner is not None:
                    index.setdefault((namespace, name), owner)
        return index
