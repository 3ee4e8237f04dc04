"""Chart series from Prometheus: a workload's, pod's or container's cpu/memory/replicas over a window.

The same targets and answers as the SQLite store's `series` (history/series.py): one range query per
chart, per pod on the server, summed here. Each point is one step: CPU the average over the step,
memory its peak, so `samples` is 1 and min = avg = max = p95.
"""

from __future__ import annotations

from collections import defaultdict

from k8s_optimizer.domain.history import RollupPoint, SeriesQueryError, SeriesTarget, UsageSeries
from k8s_optimizer.history.series import MAX_POINTS
from k8s_optimizer.prometheus.client import PrometheusClient
from k8s_optimizer.prometheus.queries import Queries, cpu_range_seconds, memory_range_seconds, quote

_UNITS = {"cpu": "millicores", "memory": "bytes", "replicas": "replicas"}


def _point(t: float, value: float) -> RollupPoint:
    return RollupPoint(t, 1, value, value, value, value)


def _expr(queries: Queries, target: SeriesTarget, metric: str, pods: set[str], step: float) -> str:
    labels = queries.labels
    extra = f"{labels.pod}={quote(target.name)}" if target.kind == "Pod" else labels.pods_matcher(sorted(pods))
    if target.container is not None:
        extra += f", {labels.container}={quote(target.container)}"
    if metric == "cpu":
        return queries.cpu(target.namespace, cpu_range_seconds(step, None), extra)
    return queries.memory(target.namespace, memory_range_seconds(step, None), extra)


async def chart_series(
    client: PrometheusClient,
    queries: Queries,
    target: SeriesTarget,
    metric: str,
    pods: set[str],
    *,
    window_seconds: float,
    step_seconds: float,
    now_seconds: float,
) -> UsageSeries:
    if metric not in _UNITS:
        raise SeriesQueryError("metric", f"must be cpu, memory or replicas, got {metric!r}")
    if target.kind == "Node":
        raise SeriesQueryError("target", "node series are not read from Prometheus; chart the node's pods")
    if metric == "replicas" and target.kind == "Pod":
        raise SeriesQueryError("metric", "replicas is a workload metric (not a Pod)")
    step = max(step_seconds, window_seconds / MAX_POINTS)
    empty = UsageSeries(str(target), metric, _UNITS[metric], window_seconds, step, "prometheus")
    if target.kind != "Pod" and not pods:
        return empty
    expr = _expr(queries, target, "memory" if metric == "replicas" else metric, pods, step)
    rows = await client.query_range(
        expr, start_seconds=now_seconds - window_seconds, end_seconds=now_seconds, step_seconds=step
    )
    per_pod: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for labels, samples in rows:
        pod = labels.get(queries.labels.pod, "")
        for t, value in samples:
            per_pod[pod][t] += value * (1000.0 if metric == "cpu" else 1.0)
    if metric == "replicas":
        return _replicas(empty, per_pod)
    total: dict[float, float] = defaultdict(float)
    for points in per_pod.values():
        for t, value in points.items():
            total[t] += value
    return UsageSeries(
        str(target), metric, _UNITS[metric], window_seconds, step, "prometheus",
        total=tuple(_point(t, v) for t, v in sorted(total.items())),
        per_pod={pod: tuple(_point(t, v) for t, v in sorted(points.items())) for pod, points in per_pod.items()},
    )  # fmt: skip


def _replicas(empty: UsageSeries, per_pod: dict[str, dict[float, float]]) -> UsageSeries:
    counts: dict[float, int] = defaultdict(int)
    for points in per_pod.values():
        for t in points:
            counts[t] += 1
    return UsageSeries(
        empty.target, empty.metric, empty.unit, empty.window_seconds, empty.step_seconds, "prometheus",
        total=tuple(_point(t, float(n)) for t, n in sorted(counts.items())),
    )  # fmt: skip


__all__ = ["chart_series"]
