"""The analysis scheduler: when the recommendation engine runs, and where its latest report lives.

Why it is here and not in the API: deciding to analyse after every metrics scrape is the
application's job. The scheduler watches the live model's change feed for `MetricsTick` itself (the
WebSocket hub only fans changes out), reads the history on the store's thread, runs the pure
analysis in a worker thread so a slow pass never blocks the event loop, keeps the newest report and
tells its listeners (the API's view cache and the hub) when a new one is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from k8s_optimizer.domain.changes import Change
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.model import AnalysisReport

logger = logging.getLogger(__name__)

ANALYSIS_WINDOW_SECONDS = 7 * 24 * 3600.0  # what the strategies look back over (KRR's default history)
_FEED_QUEUE = 20_000  # a cold sync publishes a burst without yielding; an overflow only means "resubscribe"

Analyzer = Callable[[ClusterSnapshot, Mapping[ObjectRef, WorkloadHistory], float], AnalysisReport]
"""(snapshot, histories, now_seconds) -> report; pure and possibly slow, so it runs in a thread."""

ReportListener = Callable[[AnalysisReport | None, AnalysisReport], None]
"""Called on the event loop with (previous, new) after every pass."""


class Feed(Protocol):
    """An async iterator of changes that may end early (`overflowed`)."""

    @property
    def overflowed(self) -> bool: ...

    def __aiter__(self) -> AsyncIterator[Change]: ...


class AnalysedModel(Protocol):
    """What the scheduler reads from the live model."""

    @property
    def synced(self) -> bool: ...

    def snapshot(self) -> ClusterSnapshot: ...

    def subscribe(self, maxsize: int) -> Feed: ...


class HistoryWindow(Protocol):
    """The usage history the strategies need (history/store.py's HistoryStore)."""

    async def all_workload_histories(
        self, window_seconds: float, now_seconds: float
    ) -> Mapping[ObjectRef, WorkloadHistory]: ...


def snapshot_now_seconds(snapshot: ClusterSnapshot) -> float:
    """The cluster's own clock: the newest metrics sample (simulated time in the embedded cluster)."""
    stamps = [u.timestamp.timestamp() for u in snapshot.container_usage.values()]
    return max(stamps) if stamps else snapshot.taken_at.timestamp()


class AnalysisScheduler:
    """Runs the analysis once the caches are synced, then after every metrics scrape or every fallback period."""

    def __init__(
        self,
        live: AnalysedModel,
        analyzer: Analyzer | None,
        history: HistoryWindow | None = None,
        *,
        fallback_seconds: float = 15.0,
        window_seconds: float = ANALYSIS_WINDOW_SECONDS,
    ) -> None:
        self.live = live
        self.analyzer = analyzer
        self.history = history
        self.fallback_seconds = fallback_seconds
        self.window_seconds = window_seconds  # how far back the analysis reads history
        self.report: AnalysisReport | None = None
        self.runs = 0
        self.last_seconds = 0.0
        self._listeners: list[ReportListener] = []
        self._trigger = asyncio.Event()
        self._trigger.set()  # analyse as soon as the caches sync

    def add_listener(self, listener: ReportListener) -> None:
        self._listeners.append(listener)

    def trigger(self) -> None:
        """Ask for a pass as soon as the running one (if any) is done."""
        self._trigger.set()

    async def run_once(self) -> AnalysisReport | None:
        """One pass: history read on the store's thread, analysis in a worker thread, listeners told."""
        if self.analyzer is None:
            return None
        started = time.perf_counter()
        snapshot = self.live.snapshot()
        now_seconds = snapshot_now_seconds(snapshot)
        histories: Mapping[ObjectRef, WorkloadHistory] = {}
        if self.history is not None:
            histories = await self.history.all_workload_histories(self.window_seconds, now_seconds)
        report = await asyncio.to_thread(self.analyzer, snapshot, histories, now_seconds)
        self.runs += 1
        self.last_seconds = time.perf_counter() - started
        previous, self.report = self.report, report
        for listener in self._listeners:
            listener(previous, report)
        return report

    async def run(self) -> None:
        """Forever: wait for a scrape (or the fallback period), then analyse; needs `watch_ticks` beside it."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._trigger.wait(), timeout=self.fallback_seconds)
            self._trigger.clear()
            if not self.live.synced:
                continue
            try:
                await self.run_once()
            except Exception:
                # A bug in one analysis pass must not stop the next; the previous report stays served.
                logger.exception("analysis failed; keeping the previous report")

    async def watch_ticks(self) -> None:
        """Trigger a pass on every `MetricsTick` of the change feed (its own subscription, drained at once)."""
        while True:
            feed = self.live.subscribe(_FEED_QUEUE)
            async for change in feed:
                if change.kind == "MetricsTick":
                    self._trigger.set()
            if not feed.overflowed:
                return
            self._trigger.set()  # a tick may have been among what was dropped
