"""The usage history store: an async facade over SQLite that never blocks the event loop.

Why it exists: metrics-server only knows the last point, and the original product kept 24 h in
memory, keyed without namespace, lost on every restart and different in each replica. This store
keeps history in SQLite under `--data-dir` (WAL), keyed by the metrics API's own sample timestamps.

Writes (the live collector calls these):
    store = await HistoryStore.open(data_dir, raw_retention_seconds=86400)
    await store.record_scrape(containers, nodes)     -> new container samples (one transaction)
    await store.record_terminations(terminations)    -> new terminations (once per occurrence)
    await store.record_replicas(workload, ts, n, d)  -> 1 if a new change point was stored
    await store.close()

Reads (API and recommenders):
    await store.series(SeriesTarget.parse("Deployment/shop/web/app"), "cpu", window_seconds=3600, step_seconds=15)
        -> UsageSeries: `total` (sum over the workload's pods) and `per_pod`, each point a step's
           samples/min/avg/max/p95 in the series' unit (millicores, bytes, replicas). Targets are
           `<kind>/<namespace>/<name>[/<container>]`, including `Pod/<ns>/<pod>` and `Node//<node>`.
           Windows within the raw retention and steps under 5 min read raw samples ("raw"); longer
           ones read 5-minute rollups ("rollup"). Bad input raises SeriesQueryError (has `.field`).
    await store.workload_history(ref, window_seconds=..., now_seconds=...)
        -> WorkloadHistory: per container name, one ContainerHistory per pod with its raw series
           in the window, its VPA CPU and memory-peak histograms, OOM kill times and restarts;
           plus replica change points (the value when the window opens comes first).
    await store.all_workload_histories(window_seconds, now_seconds)
        -> the same for every workload seen in the window; the series at the finest resolution that
           fits the bulk budget (`series_resolution`: raw, else 5-minute CPU averages and memory peaks,
           else none and the histograms carry the distribution); include_series=True forces raw.
    await store.now_seconds() -> the newest sample timestamp ("now" in sample time), or None.

All database work runs on one dedicated writer thread (which owns the connection and the
in-memory VPA aggregates), so reads see every committed write in order and need no locks. After
each scrape the store schedules maintenance on that thread (5-minute rollups, retention,
histogram checkpoints), all timed in sample time, never by the local clock.

Self-healing (history/healing.py): a database SQLite calls corrupt or not a database is moved aside
with a timestamp — at open, and when a later write, read or maintenance step finds the damage (then on
the writer thread, between two tasks: no transaction is open) — and the store starts fresh. `problem`
says so until the process restarts (the backend's /health turns degraded with it), `recoveries` counts.

High availability: keys are (series, metrics-server timestamp), so re-recording is a no-op and two
replicas scraping the same metrics-server record the same rows and fold the same samples into the
same histograms; each replica keeps its own data dir. One process per data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from k8s_optimizer.domain.history import SeriesTarget, UsageSeries, WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.history.engine import HistoryEngine, Retention
from k8s_optimizer.history.healing import Recovery, is_damage, move_aside
from k8s_optimizer.history.reads import HistoryReader
from k8s_optimizer.history.series import SeriesReader

logger = logging.getLogger(__name__)

T = TypeVar("T")


class HistoryStore:
    def __init__(
        self,
        engine: HistoryEngine,
        executor: ThreadPoolExecutor,
        *,
        data_dir: Path | None = None,
        recoveries: Sequence[Recovery] = (),
    ) -> None:
        self._use(engine)
        self._executor = executor
        self._data_dir = data_dir
        self._lock = threading.Lock()  # `_closed` and the maintenance chain, shared with the writer thread
        self._maintaining = False
        self._closed = False
        self._recovering = False
        self.recoveries: list[Recovery] = list(recoveries)

    def _use(self, engine: HistoryEngine) -> None:
        self._engine = engine
        self._reader = HistoryReader(engine)
        self._series = SeriesReader(engine)

    @property
    def problem(self) -> str | None:
        """Why the history is degraded (a damaged database was moved aside), or None."""
        return self.recoveries[-1].describe() if self.recoveries else None

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        *,
        raw_retention_seconds: float = 86400,
        retention: Retention | None = None,
    ) -> HistoryStore:
        """Open (or create) the store in `data_dir`, replaying whatever the last run committed."""
        retention = retention or Retention(raw_seconds=raw_retention_seconds)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-writer")
        loop = asyncio.get_running_loop()
        try:
            engine, recoveries = await loop.run_in_executor(executor, _open_or_heal, data_dir, retention)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(engine, executor, data_dir=data_dir, recoveries=recoveries)

    async def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True  # no maintenance step is queued after this
        try:
            await self._run(self._engine.close)  # after any queued maintenance: the final checkpoint
        finally:
            self._executor.shutdown(wait=False)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        except Exception as error:
            self._on_failure(error)
            raise

    def _on_failure(self, error: BaseException) -> None:
        """Damage found by a running store: heal on the writer thread once the tasks before it are done."""
        with self._lock:
            if self._closed or self._recovering or self._data_dir is None or not is_damage(error):
                return
            self._recovering = True
        logger.error("history database is damaged (%s); moving it aside and starting fresh", error)
        self._executor.submit(self._heal, str(error))

    def _heal(self, reason: str) -> None:
        """On the writer thread: no transaction is open between two tasks, so the swap is safe."""
        assert self._data_dir is not None
        try:
            with contextlib.suppress(sqlite3.Error):
                self._engine.connection.close()
            recovery = move_aside(self._data_dir, reason)
            self._use(HistoryEngine.open(self._data_dir, self._engine.retention))
            self.recoveries.append(recovery)
            logger.error("%s", recovery.describe())
        finally:
            with self._lock:
                self._recovering = False

    # ------------------------------------------------------------------ writes
    async def record_scrape(self, containers: Sequence[ScrapedContainer], nodes: Sequence[NodeUsage]) -> int:
        inserted = await self._run(self._engine.record_scrape, list(containers), list(nodes))
        self._schedule_maintenance()
        return inserted

    async def record_terminations(self, terminations: Sequence[Termination]) -> int:
        return await self._run(self._engine.record_terminations, list(terminations))

    async def record_replicas(
        self, workload: ObjectRef, timestamp: datetime, replicas: int, desired: int | None
    ) -> int:
        return await self._run(self._engine.record_replicas, workload, timestamp, replicas, desired)

    def _schedule_maintenance(self) -> None:
        """Start one maintenance pass behind the writes (never more than one at a time).

        The pass runs a step per executor task and queues its next step only when the current one
        ends, so a scrape submitted meanwhile runs before the rest of the pass: it waits for one short
        step at most, not for the whole pass.
        """
        with self._lock:
            if self._closed or self._maintaining:
                return
            self._maintaining = True
            self._submit_step(self._engine.maintenance_steps())

    def _submit_step(self, steps: Iterator[str]) -> None:
        """Queue the pass's next step (caller holds the lock)."""
        future = self._executor.submit(next, steps, None)
        future.add_done_callback(lambda done: self._after_step(done, steps))

    def _after_step(self, done: Future[str | None], steps: Iterator[str]) -> None:
        with self._lock:
            failed = not done.cancelled() and done.exception() is not None
            if failed:
                logger.error("history maintenance failed", exc_info=done.exception())
        if failed:
            error = done.exception()
            assert error is not None
            self._on_failure(error)
        with self._lock:
            if failed or done.cancelled() or done.result() is None or self._closed:
                self._maintaining = False
                return
            self._submit_step(steps)

    async def maintain(self) -> None:
        """Run rollups, retention and checkpoints now (they also run by themselves after scrapes)."""
        await self._run(self._engine.maintain)

    async def checkpoint(self) -> int:
        return await self._run(self._engine.checkpoint)

    # ------------------------------------------------------------------ reads
    async def now_seconds(self) -> float | None:
        return await self._run(lambda: self._engine.newest_seconds)

    async def series(
        self,
        target: SeriesTarget,
        metric: str,
        *,
        window_seconds: float,
        step_seconds: float,
        now_seconds: float | None = None,
    ) -> UsageSeries:
        def read() -> UsageSeries:
            return self._series.series(
                target, metric, window_seconds=window_seconds, step_seconds=step_seconds, now_seconds=now_seconds
            )

        return await self._run(read)

    async def workload_history(
        self, workload: ObjectRef, *, window_seconds: float, now_seconds: float
    ) -> WorkloadHistory:
        def read() -> WorkloadHistory:
            return self._reader.workload_history(workload, window_seconds=window_seconds, now_seconds=now_seconds)

        return await self._run(read)

    async def all_workload_histories(
        self, window_seconds: float, now_seconds: float, *, include_series: bool | None = None
    ) -> dict[ObjectRef, WorkloadHistory]:
        def read() -> dict[ObjectRef, WorkloadHistory]:
            return self._reader.all_workload_histories(
                window_seconds=window_seconds, now_seconds=now_seconds, include_series=include_series
            )

        return await self._run(read)


def _open_or_heal(data_dir: Path, retention: Retention) -> tuple[HistoryEngine, list[Recovery]]:
    """Open the engine; a damaged database is moved aside first (a CrashLoopBackOff has no way out)."""
    try:
        return HistoryEngine.open(data_dir, retention), []
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            raise
        recovery = move_aside(data_dir, str(error))
        logger.error("%s", recovery.describe())
        return HistoryEngine.open(data_dir, retention), [recovery]
