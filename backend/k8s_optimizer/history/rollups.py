"""Five-minute rollups: how 14 days of history stay small enough to query and keep.

Raw samples live for the raw retention (24 h by default); before they are pruned, every closed
5-minute bucket of every series is summarised as (samples, min, avg, max, p95) and kept 14 days.
p95 is numpy's default linear-interpolation percentile (what KRR uses), so a rollup's p95 over its
raw samples can be checked by hand. Combining rollups into coarser steps is exact for count, min,
avg (sample-weighted) and max; for p95 it takes the largest bucket p95, an upper bound.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter

from k8s_optimizer.analysis.percentiles import linear_percentile
from k8s_optimizer.domain.history import RollupPoint
from k8s_optimizer.history.schema import METRIC_CPU, METRIC_MEMORY, SCOPE_CONTAINER, SCOPE_NODE, SCOPE_WORKLOAD

ROLLUP_SECONDS = 300.0
# A bucket is rolled up once the newest sample is this far past its end: pods are scraped at
# slightly different times, so late samples of the same scrape still land in the raw bucket first.
ROLLUP_GRACE_SECONDS = 120.0

RollupRow = tuple[int, int, str, int, float, int, float, float, float, float]


def summarize(timestamp_seconds: float, values: Sequence[float]) -> RollupPoint:
    """count/min/avg/max/p95 of a non-empty set of values (p95: numpy's linear percentile)."""
    if len(values) == 1:  # the common case of sparse series: no sorting
        return RollupPoint(timestamp_seconds, 1, values[0], values[0], values[0], values[0])
    return RollupPoint(
        timestamp_seconds=timestamp_seconds,
        samples=len(values),
        min=min(values),
        avg=sum(values) / len(values),
        max=max(values),
        p95=linear_percentile(values, 95),
    )


def bucket_start(timestamp_seconds: float, step_seconds: float) -> float:
    return (timestamp_seconds // step_seconds) * step_seconds


def step_points(samples: Iterable[tuple[float, float]], step_seconds: float) -> tuple[RollupPoint, ...]:
    """Group (timestamp, value) samples into aligned steps and summarise each step."""
    groups: dict[float, list[float]] = defaultdict(list)
    for timestamp, value in samples:
        groups[bucket_start(timestamp, step_seconds)].append(value)
    return tuple(summarize(start, groups[start]) for start in sorted(groups))


def combine(points: Iterable[RollupPoint], step_seconds: float) -> tuple[RollupPoint, ...]:
    """Coarser steps from finer rollups: exact count/min/avg/max, p95 = the largest p95 (upper bound)."""
    groups: dict[float, list[RollupPoint]] = defaultdict(list)
    for point in points:
        groups[bucket_start(point.timestamp_seconds, step_seconds)].append(point)
    return tuple(_merge(start, groups[start]) for start in sorted(groups))


def _merge(start: float, points: Sequence[RollupPoint]) -> RollupPoint:
    samples = sum(point.samples for point in points)
    return RollupPoint(
        timestamp_seconds=start,
        samples=samples,
        min=min(point.min for point in points),
        avg=sum(point.avg * point.samples for point in points) / samples,
        max=max(point.max for point in points),
        p95=max(point.p95 for point in points),
    )


def add_points(series: Sequence[tuple[RollupPoint, ...]]) -> tuple[RollupPoint, ...]:
    """Per-step sum of several series (a pod's containers): exact for avg, an estimate for min/max/p95."""
    by_step: dict[float, list[RollupPoint]] = defaultdict(list)
    for points in series:
        for point in points:
            by_step[point.timestamp_seconds].append(point)
    return tuple(
        RollupPoint(
            timestamp_seconds=start,
            samples=max(point.samples for point in group),
            min=sum(point.min for point in group),
            avg=sum(point.avg for point in group),
            max=sum(point.max for point in group),
            p95=sum(point.p95 for point in group),
        )
        for start, group in sorted(by_step.items())
    )


def roll_up_bucket(connection: sqlite3.Connection, start: float) -> int:
    """Write the rollups of every series for the bucket [start, start + 5 min); returns rows written."""
    end = start + ROLLUP_SECONDS
    queries = (
        (SCOPE_CONTAINER, "SELECT container_id, '', cpu_millicores, memory_bytes FROM samples"),
        (SCOPE_WORKLOAD, "SELECT workload_id, part, cpu_millicores, memory_bytes FROM workload_samples"),
        (SCOPE_NODE, "SELECT node_id, '', cpu_millicores, memory_bytes FROM node_samples"),
    )
    rows: list[RollupRow] = []
    for scope, select in queries:
        # ordered by series so each series' values arrive together (sorted in SQLite, not in Python)
        samples = connection.execute(f"{select} WHERE ts >= ? AND ts < ? ORDER BY 1, 2", (start, end)).fetchall()
        rows += _rows_for(scope, samples, start)
    connection.executemany("INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _rows_for(scope: int, samples: list[tuple[int, str, float, float]], start: float) -> list[RollupRow]:
    rows: list[RollupRow] = []
    for (owner, part), group in groupby(samples, key=itemgetter(0, 1)):
        _, _, cpu, memory = zip(*group, strict=True)
        for metric, values in ((METRIC_CPU, cpu), (METRIC_MEMORY, memory)):
            point = summarize(start, values)
            rows.append((scope, owner, part, metric, start, point.samples, point.min, point.avg, point.max, point.p95))
    return rows


def read_rollups(
    connection: sqlite3.Connection, scope: int, owner_id: int, part: str, metric: int, since: float, until: float
) -> tuple[RollupPoint, ...]:
    rows = connection.execute(
        "SELECT bucket, samples, min, avg, max, p95 FROM rollups WHERE scope = ? AND owner_id = ? AND part = ? "
        "AND metric = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
        (scope, owner_id, part, metric, since, until),
    )
    return tuple(RollupPoint(*row) for row in rows)
