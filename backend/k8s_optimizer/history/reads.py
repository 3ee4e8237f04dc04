"""Workload histories: what the recommenders read, one workload at a time or all at once.

`workload_history` is complete: raw series per container (within the raw retention), the VPA
histograms, OOM kill times, restarts and the replica change points. `all_workload_histories` is the
bulk read for a recommendation pass over a whole cluster: the histograms come from memory (no query
per container) and the series at the finest resolution the bulk budget allows (history.bulk), since
10,000 containers × a day of 15 s samples is tens of millions of points.
"""

from __future__ import annotations

from collections import defaultdict

from k8s_optimizer.domain.history import ContainerHistory, WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.history.bulk import (
    ESTIMATED_INTERVAL_SECONDS,
    Resolution,
    SeriesPair,
    choose_resolution,
    raw_series,
    rollup_series,
)
from k8s_optimizer.history.catalog import ContainerEntry
from k8s_optimizer.history.engine import HistoryEngine
from k8s_optimizer.history.recovery import OOM_REASON

Terminations = dict[int, list[tuple[float, str]]]
ReplicaRows = list[tuple[float, int, int | None]]
_NO_SERIES: SeriesPair = ((), ())


class HistoryReader:
    """Reads over the engine's connection and aggregates; call only from the writer thread."""

    def __init__(self, engine: HistoryEngine) -> None:
        self._engine = engine

    def workload_history(self, workload: ObjectRef, *, window_seconds: float, now_seconds: float) -> WorkloadHistory:
        since = now_seconds - window_seconds
        workload_id = self._engine.catalog.workload_ids.get(workload)
        if workload_id is None:
            return WorkloadHistory(workload.kind, workload.namespace, workload.name, window_seconds=window_seconds)
        entries = self._engine.catalog.containers_by_workload.get(workload_id, [])
        terminations = self._terminations(since, now_seconds, workload_id)
        histories = [
            self._container(entry, since, now_seconds, terminations, self._raw_series(entry.id, since, now_seconds))
            for entry in entries
        ]
        replica_rows = self._replica_rows(since, now_seconds, workload_id).get(workload_id, [])
        return _workload(workload, window_seconds, [h for h in histories if h is not None], replica_rows, since)

    def all_workload_histories(
        self, *, window_seconds: float, now_seconds: float, include_series: bool | None = None
    ) -> dict[ObjectRef, WorkloadHistory]:
        """Every workload with a container seen in the window.

        Series: None picks the finest resolution within the bulk budget (raw, else 5-minute points, else
        none: histograms only); True forces raw samples; False leaves them out.
        """
        since = now_seconds - window_seconds
        catalog = self._engine.catalog
        terminations = self._terminations(since, now_seconds, None)
        candidates = [
            entry
            for cid in set(self._engine.aggregates) | set(terminations)
            if (entry := catalog.containers_by_id.get(cid)) is not None
        ]
        resolution, series = self._bulk_series(candidates, since, now_seconds, include_series)
        by_workload: dict[int, list[ContainerHistory]] = defaultdict(list)
        for entry in candidates:
            history = self._container(entry, since, now_seconds, terminations, series.get(entry.id, _NO_SERIES))
            if history is not None:
                by_workload[entry.workload_id].append(history)
        replica_rows = self._replica_rows(since, now_seconds, None)
        result: dict[ObjectRef, WorkloadHistory] = {}
        for workload_id, histories in by_workload.items():
            ref = catalog.workload_refs[workload_id]
            rows = replica_rows.get(workload_id, [])
            result[ref] = _workload(ref, window_seconds, histories, rows, since, resolution)
        return result

    def _bulk_series(
        self, candidates: list[ContainerEntry], since: float, now: float, include_series: bool | None
    ) -> tuple[Resolution, dict[int, SeriesPair]]:
        if include_series is False:
            return "none", {}
        wanted = {entry.id for entry in candidates}
        connection = self._engine.connection
        if include_series:
            return "raw", raw_series(connection, wanted, since, now)
        oldest = connection.execute("SELECT MIN(ts) FROM samples").fetchone()[0]
        covered = 0.0 if oldest is None else max(0.0, now - max(since, oldest))
        interval = self._engine.typical_interval_seconds() or ESTIMATED_INTERVAL_SECONDS
        plan = choose_resolution(len(wanted), covered, now - since, interval)
        if plan.resolution == "raw":
            return "raw", raw_series(connection, wanted, max(since, now - plan.raw_span_seconds), now)
        if plan.resolution == "rollup":
            return "rollup", rollup_series(connection, wanted, since, now, self._engine.rolled_until_seconds)
        return "none", {}

    def _container(
        self, entry: ContainerEntry, since: float, now: float, terminations: Terminations, series: SeriesPair
    ) -> ContainerHistory | None:
        aggregate = self._engine.aggregates.get(entry.id)
        ended = terminations.get(entry.id, [])
        cpu, memory = series
        last = None if aggregate is None else aggregate.last_sample_seconds()
        if not cpu and not ended and (last is None or last < since):
            return None
        return ContainerHistory(
            key=entry.key,
            cpu_millicores=cpu,
            memory_bytes=memory,
            cpu_histogram=None if aggregate is None else aggregate.cpu.to_domain(),
            memory_histogram=None if aggregate is None else aggregate.memory.to_domain(),
            oom_kill_times_seconds=tuple(sorted(t for t, reason in ended if reason == OOM_REASON)),
            restart_count_in_window=len(ended),
        )

    def _raw_series(self, container_id: int, since: float, now: float) -> SeriesPair:
        rows = self._engine.connection.execute(
            "SELECT ts, cpu_millicores, memory_bytes FROM samples WHERE container_id = ? AND ts >= ? AND ts <= ? "
            "ORDER BY ts",
            (container_id, since, now),
        ).fetchall()
        cpu = tuple(UsagePoint(ts, cpu) for ts, cpu, _ in rows)
        memory = tuple(UsagePoint(ts, float(memory)) for ts, _, memory in rows)
        return cpu, memory

    def _terminations(self, since: float, now: float, workload_id: int | None) -> Terminations:
        query = "SELECT t.container_id, t.finished_at, t.reason FROM terminations t"
        params: tuple[float | int, ...] = (since, now)
        if workload_id is not None:
            query += " JOIN containers c ON c.id = t.container_id AND c.workload_id = ?"
            params = (workload_id, since, now)
        result: Terminations = defaultdict(list)
        for container_id, finished, reason in self._engine.connection.execute(
            query + " WHERE t.finished_at >= ? AND t.finished_at <= ?", params
        ):
            result[container_id].append((finished, reason))
        return result

    def _replica_rows(self, since: float, now: float, workload_id: int | None) -> dict[int, ReplicaRows]:
        """Change points in the window plus the last one before it (the value when the window opens)."""
        query = "SELECT workload_id, ts, replicas, desired FROM replicas WHERE ts <= ?"
        params: tuple[float | int, ...] = (now,)
        if workload_id is not None:
            query += " AND workload_id = ?"
            params = (now, workload_id)
        rows: dict[int, ReplicaRows] = defaultdict(list)
        for wid, ts, replicas, desired in self._engine.connection.execute(query + " ORDER BY workload_id, ts", params):
            points = rows[wid]
            if ts <= since and points and points[-1][0] <= since:
                points.pop()  # an earlier change superseded before the window opened
            points.append((ts, replicas, desired))
        return rows


def _workload(
    ref: ObjectRef,
    window_seconds: float,
    histories: list[ContainerHistory],
    replica_rows: ReplicaRows,
    since: float,
    resolution: Resolution = "raw",
) -> WorkloadHistory:
    containers: dict[str, list[ContainerHistory]] = defaultdict(list)
    for history in sorted(histories, key=lambda h: (h.key.container, h.key.pod)):
        containers[history.key.container].append(history)
    replicas = tuple(UsagePoint(max(ts, since), float(count)) for ts, count, _ in replica_rows)
    desired = tuple(UsagePoint(max(ts, since), float(d)) for ts, _, d in replica_rows if d is not None)
    return WorkloadHistory(
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
        containers={name: tuple(items) for name, items in containers.items()},
        replicas=replicas,
        window_seconds=window_seconds,
        desired_replicas=desired,
        series_resolution=resolution,
    )
