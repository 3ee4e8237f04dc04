"""Usage series for a whole-cluster recommendation pass, at the finest resolution that stays affordable.

The recommenders read each container's series (KRR-style percentiles and peaks) besides the VPA
histograms, and every point costs a few microseconds to hand over, so the bulk read has a budget:
- the whole window of raw samples when it fits;
- else the most recent raw samples that fit, if they still span 3 hours (KRR's minimum history);
- else 5-minute points over the whole window: CPU as the bucket's average rate (what KRR computes
  with a 5-minute timeframe) and memory as the bucket's peak (KRR's max_over_time);
- else no series: the histograms alone carry the distribution (a 10,000-container cluster).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Literal

from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.history.rollups import ROLLUP_SECONDS, bucket_start
from k8s_optimizer.history.schema import METRIC_CPU, SCOPE_CONTAINER

BULK_MAX_POINTS = 50_000  # samples handed over per bulk read (each a CPU and a memory point): ~0.3 s
ESTIMATED_INTERVAL_SECONDS = 15.0  # the collector's default, when no container's own interval is known yet
MIN_RAW_SPAN_SECONDS = 3 * 3600.0  # KRR's `history_range_enough`

Resolution = Literal["raw", "rollup", "none"]
SeriesPair = tuple[tuple[UsagePoint, ...], tuple[UsagePoint, ...]]
_CONTAINER = itemgetter(0)


@dataclass(frozen=True, slots=True)
class BulkPlan:
    resolution: Resolution
    raw_span_seconds: float = 0.0  # raw: how far back from now the samples go


def choose_resolution(
    containers: int, raw_seconds_covered: float, window_seconds: float, interval_seconds: float
) -> BulkPlan:
    """The finest resolution whose point count fits the budget."""
    samples_per_container_second = containers / max(interval_seconds, 1.0)
    if samples_per_container_second * raw_seconds_covered <= BULK_MAX_POINTS:
        return BulkPlan("raw", raw_seconds_covered)
    affordable_span = BULK_MAX_POINTS / samples_per_container_second
    if affordable_span >= MIN_RAW_SPAN_SECONDS:
        return BulkPlan("raw", affordable_span)
    if containers * window_seconds / ROLLUP_SECONDS <= BULK_MAX_POINTS:
        return BulkPlan("rollup")
    return BulkPlan("none")


def raw_series(connection: sqlite3.Connection, wanted: set[int], since: float, now: float) -> dict[int, SeriesPair]:
    """Every raw sample in the window for the wanted containers (one scan of the time-clustered table)."""
    rows = connection.execute(
        "SELECT container_id, ts, cpu_millicores, memory_bytes FROM samples WHERE ts >= ? AND ts <= ?", (since, now)
    ).fetchall()
    rows.sort(key=_CONTAINER)  # stable: each container's samples stay in time order
    result: dict[int, SeriesPair] = {}
    for container_id, group in groupby(rows, key=_CONTAINER):
        if container_id in wanted:
            samples = list(group)
            result[container_id] = (
                tuple([UsagePoint(ts, cpu) for _, ts, cpu, _ in samples]),
                tuple([UsagePoint(ts, float(memory)) for _, ts, _, memory in samples]),
            )
    return result


def rollup_series(
    connection: sqlite3.Connection, wanted: set[int], since: float, now: float, rolled_until: float | None
) -> dict[int, SeriesPair]:
    """5-minute points: stored rollups, then the raw tail summarised the same way (CPU avg, memory max)."""
    start = bucket_start(since, ROLLUP_SECONDS)
    until = rolled_until if rolled_until is not None else start
    cpu: dict[int, list[UsagePoint]] = defaultdict(list)
    memory: dict[int, list[UsagePoint]] = defaultdict(list)
    rows = connection.execute(
        "SELECT owner_id, metric, bucket, avg, max FROM rollups WHERE scope = ? AND part = '' "
        "AND bucket >= ? AND bucket < ? ORDER BY owner_id, metric, bucket",
        (SCOPE_CONTAINER, start, until),
    )
    for container_id, metric, bucket, average, peak in rows:
        if container_id in wanted:
            if metric == METRIC_CPU:
                cpu[container_id].append(UsagePoint(bucket, average))
            else:
                memory[container_id].append(UsagePoint(bucket, peak))
    tail = connection.execute(
        "SELECT container_id, ts, cpu_millicores, memory_bytes FROM samples WHERE ts >= ? AND ts <= ?",
        (max(start, until), now),
    )
    _add_tail((row for row in tail if row[0] in wanted), cpu, memory)
    return {cid: (tuple(cpu[cid]), tuple(memory.get(cid, ()))) for cid in cpu}


def _add_tail(
    rows: Iterable[tuple[int, float, float, int]],
    cpu: dict[int, list[UsagePoint]],
    memory: dict[int, list[UsagePoint]],
) -> None:
    buckets: dict[tuple[int, float], list[tuple[float, int]]] = defaultdict(list)
    for container_id, ts, cpu_millicores, memory_bytes in rows:
        buckets[container_id, bucket_start(ts, ROLLUP_SECONDS)].append((cpu_millicores, memory_bytes))
    for (container_id, start), values in sorted(buckets.items()):
        cpu[container_id].append(UsagePoint(start, sum(v[0] for v in values) / len(values)))
        memory[container_id].append(UsagePoint(start, float(max(v[1] for v in values))))
