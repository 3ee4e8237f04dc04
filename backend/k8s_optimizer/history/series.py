"""Time series for charts: a target's cpu, memory or replicas over a window, per pod and summed.

Targets are `<kind>/<namespace>/<name>[/<container>]` (a Deployment, StatefulSet, DaemonSet, a bare
Pod, or `Node//<name>`). Short windows are served from raw samples, long ones from the 5-minute
rollups (plus the not yet rolled-up tail, summarised the same way), so a 14-day chart reads a few
thousand rows, not millions. Every point is a step's (samples, min, avg, max, p95).
"""

from __future__ import annotations

import math
from collections import defaultdict

from k8s_optimizer.domain.history import RollupPoint, SeriesQueryError, SeriesTarget, UsageSeries
from k8s_optimizer.history.catalog import ContainerEntry
from k8s_optimizer.history.engine import HistoryEngine
from k8s_optimizer.history.rollups import (
    ROLLUP_SECONDS,
    add_points,
    bucket_start,
    combine,
    read_rollups,
    step_points,
    summarize,
)
from k8s_optimizer.history.schema import METRIC_CPU, METRIC_MEMORY, SCOPE_CONTAINER, SCOPE_NODE, SCOPE_WORKLOAD

MAX_POINTS = 2000  # per series; the step grows to keep a chart's payload bounded
_METRICS = {"cpu": ("millicores", METRIC_CPU, "cpu_millicores"), "memory": ("bytes", METRIC_MEMORY, "memory_bytes")}
_Tail = tuple[str, str, tuple[int | str, ...]]  # raw table, WHERE clause, its parameters


def _validate(metric: str, target: SeriesTarget, window_seconds: float, step_seconds: float) -> None:
    if metric not in (*_METRICS, "replicas"):
        raise SeriesQueryError("metric", f"must be cpu, memory or replicas, got {metric!r}")
    if metric == "replicas" and (target.container is not None or target.kind in ("Pod", "Node")):
        raise SeriesQueryError("metric", "replicas is a workload metric (no container, not a Pod or Node)")
    if target.kind == "Node" and target.container is not None:
        raise SeriesQueryError("target", "a Node target has no container")
    if not (math.isfinite(window_seconds) and window_seconds > 0):
        raise SeriesQueryError("window_seconds", "must be a positive number")
    if not (math.isfinite(step_seconds) and step_seconds > 0):
        raise SeriesQueryError("step_seconds", "must be a positive number")


class SeriesReader:
    """Builds `UsageSeries`; call only from the writer thread."""

    def __init__(self, engine: HistoryEngine) -> None:
        self._engine = engine

    def series(
        self,
        target: SeriesTarget,
        metric: str,
        *,
        window_seconds: float,
        step_seconds: float,
        now_seconds: float | None,
    ) -> UsageSeries:
        _validate(metric, target, window_seconds, step_seconds)
        now = now_seconds if now_seconds is not None else (self._engine.newest_seconds or 0.0)
        since = now - window_seconds
        step = max(step_seconds, window_seconds / MAX_POINTS)
        use_rollups = step >= ROLLUP_SECONDS or window_seconds > self._engine.retention.raw_seconds
        if use_rollups:
            step = math.ceil(step / ROLLUP_SECONDS) * ROLLUP_SECONDS
        per_pod: dict[str, tuple[RollupPoint, ...]] = {}
        if metric == "replicas":
            total = self._replicas(target, since, now, step)
        elif use_rollups:
            total, per_pod = self._from_rollups(target, metric, since, now, step)
        else:
            total, per_pod = self._from_raw(target, metric, since, now, step)
        return UsageSeries(
            target=str(target),
            metric=metric,
            unit=_METRICS[metric][0] if metric in _METRICS else "replicas",
            window_seconds=window_seconds,
            step_seconds=step,
            resolution="rollup" if use_rollups else "raw",
            total=total,
            per_pod=per_pod,
        )

    # ------------------------------------------------------------------ which containers
    def _entries(self, target: SeriesTarget) -> list[ContainerEntry]:
        catalog = self._engine.catalog
        if target.kind == "Pod":
            entries = [
                e
                for e in catalog.containers.values()
                if (e.key.namespace, e.key.pod) == (target.namespace, target.name)
            ]
        else:
            workload_id = catalog.workload_ids.get(target.owner())
            entries = [] if workload_id is None else list(catalog.containers_by_workload.get(workload_id, []))
        return [e for e in entries if target.container is None or e.key.container == target.container]

    # ------------------------------------------------------------------ raw resolution
    def _from_raw(
        self, target: SeriesTarget, metric: str, since: float, now: float, step: float
    ) -> tuple[tuple[RollupPoint, ...], dict[str, tuple[RollupPoint, ...]]]:
        column = _METRICS[metric][2]
        if target.kind == "Node":
            node_id = self._engine.catalog.node_ids.get(target.name)
            rows = (
                [] if node_id is None else self._raw_rows("node_samples", "node_id = ?", (node_id,), column, since, now)
            )
            return step_points(rows, step), {}
        per_pod_values: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
        for entry in self._entries(target):
            for ts, value in self._raw_rows("samples", "container_id = ?", (entry.id,), column, since, now):
                per_pod_values[entry.key.pod][ts] += value
        per_pod = {pod: step_points(values.items(), step) for pod, values in sorted(per_pod_values.items())}
        if target.kind == "Pod":
            return per_pod.get(target.name, ()), per_pod
        workload_id = self._engine.catalog.workload_ids.get(target.owner())
        if workload_id is None:
            return (), per_pod
        part = target.container or ""
        rows = self._raw_rows(
            "workload_samples", "workload_id = ? AND part = ?", (workload_id, part), column, since, now
        )
        return step_points(rows, step), per_pod

    def _raw_rows(
        self, table: str, where: str, params: tuple[int | str, ...], column: str, since: float, now: float
    ) -> list[tuple[float, float]]:
        query = f"SELECT ts, {column} FROM {table} WHERE {where} AND ts >= ? AND ts <= ? ORDER BY ts"
        return [(ts, float(value)) for ts, value in self._engine.connection.execute(query, (*params, since, now))]

    # ------------------------------------------------------------------ rollup resolution
    def _from_rollups(
        self, target: SeriesTarget, metric: str, since: float, now: float, step: float
    ) -> tuple[tuple[RollupPoint, ...], dict[str, tuple[RollupPoint, ...]]]:
        start = bucket_start(since, ROLLUP_SECONDS)
        if target.kind == "Node":
            node_id = self._engine.catalog.node_ids.get(target.name)
            if node_id is None:
                return (), {}
            points = self._rollups(
                SCOPE_NODE, node_id, "", metric, start, now, ("node_samples", "node_id = ?", (node_id,))
            )
            return combine(points, step), {}
        by_pod: dict[str, list[tuple[RollupPoint, ...]]] = defaultdict(list)
        for entry in self._entries(target):
            tail: _Tail = ("samples", "container_id = ?", (entry.id,))
            by_pod[entry.key.pod].append(self._rollups(SCOPE_CONTAINER, entry.id, "", metric, start, now, tail))
        per_pod = {pod: combine(add_points(series), step) for pod, series in sorted(by_pod.items())}
        if target.kind == "Pod":
            return per_pod.get(target.name, ()), per_pod
        workload_id = self._engine.catalog.workload_ids.get(target.owner())
        if workload_id is None:
            return (), per_pod
        part = target.container or ""
        tail = ("workload_samples", "workload_id = ? AND part = ?", (workload_id, part))
        total = self._rollups(SCOPE_WORKLOAD, workload_id, part, metric, start, now, tail)
        return combine(total, step), per_pod

    def _rollups(
        self,
        scope: int,
        owner_id: int,
        part: str,
        metric: str,
        start: float,
        now: float,
        tail: _Tail,
    ) -> tuple[RollupPoint, ...]:
        """Stored rollups up to where rolling stopped, then the raw tail summarised into 5-minute buckets."""
        rolled_until = self._engine.rolled_until_seconds or start
        stored = read_rollups(self._engine.connection, scope, owner_id, part, _METRICS[metric][1], start, rolled_until)
        table, where, params = tail
        rows = self._raw_rows(table, where, params, _METRICS[metric][2], max(start, rolled_until), now)
        return stored + step_points(rows, ROLLUP_SECONDS)

    # ------------------------------------------------------------------ replicas (a step function)
    def _replicas(self, target: SeriesTarget, since: float, now: float, step: float) -> tuple[RollupPoint, ...]:
        workload_id = self._engine.catalog.workload_ids.get(target.owner())
        if workload_id is None:
            return ()
        rows = self._engine.connection.execute(
            "SELECT ts, replicas FROM replicas WHERE workload_id = ? AND ts <= ? ORDER BY ts", (workload_id, now)
        ).fetchall()
        points: list[RollupPoint] = []
        index, current = 0, None
        start = bucket_start(since, step)
        while start <= now:
            values: list[float] = [] if current is None else [float(current)]
            while index < len(rows) and rows[index][0] < start + step:
                if rows[index][0] < start:
                    values = []
                current = rows[index][1]
                values.append(float(current))
                index += 1
            if values:
                points.append(summarize(start, values))
            start += step
        return tuple(points)
