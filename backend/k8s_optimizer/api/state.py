"""What the routes read: the latest view of the cluster and the latest analysis, cached.

Requests never list the cluster and never run the analysis. `ViewCache` rebuilds the indexed
`ViewContext` only when the live model's change sequence moved (and not more often than every
`min_rebuild_seconds`); `run_analysis` runs the recommendation engine in a worker thread after
each metrics scrape and swaps the report in, so a slow analysis never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from k8s_optimizer.api.audit import AuditLog
from k8s_optimizer.api.listing import ServiceListing
from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.api.ports import Analyzer, ComponentHealthLike, HistoryReader, LiveModel, ObjectWriter
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.model import AnalysisReport
from k8s_optimizer.settings import Settings

if TYPE_CHECKING:
    from k8s_optimizer.api.ws import Hub

logger = logging.getLogger(__name__)

ANALYSIS_WINDOW_SECONDS = 7 * 24 * 3600.0  # what the strategies look back over (KRR's default history)
# Above this many pods a context build takes long enough to belong in a worker thread.
_THREADED_BUILD_PODS = 2000


def history_source(history: object) -> str:
    """Which history answers: "prometheus" or the backend's own "sqlite" store (a fake counts as sqlite)."""
    source = getattr(history, "source", None)
    return source if isinstance(source, str) else "sqlite"


def history_health(history: object) -> ComponentHealthLike | None:
    """The history source's own health when it has one (Prometheus can be down; the store cannot)."""
    health = getattr(history, "health", None)
    return health() if callable(health) else None


def snapshot_now_seconds(snapshot: ClusterSnapshot) -> float:
    """The cluster's own clock: the newest metrics sample (simulated time in the embedded cluster)."""
    stamps = [u.timestamp.timestamp() for u in snapshot.container_usage.values()]
    return max(stamps) if stamps else snapshot.taken_at.timestamp()


@dataclass(slots=True)
class ViewCache:
    live: LiveModel
    min_rebuild_seconds: float = 0.2
    report: AnalysisReport | None = None
    _context: ViewContext | None = None
    _built_seq: int = -1
    _built_report: AnalysisReport | None = None
    _built_at: float = 0.0
    _rebuild: asyncio.Task[tuple[int, ViewContext]] | None = None
    _listing: ServiceListing | None = None
    _listing_build: asyncio.Task[ServiceListing] | None = None
    _build: asyncio.Future[ViewContext] | None = None
    _build_seq: int = -1
    _build_report: AnalysisReport | None = None

    def _stale(self) -> bool:
        if self._context is None or self._built_report is not self.report:
            return True
        return self.live.seq != self._built_seq and time.monotonic() - self._built_at >= self.min_rebuild_seconds

    def current(self) -> ViewContext:
        """The context for the latest snapshot.

        Small clusters rebuild inline (milliseconds). Large ones keep answering from the previous
        context while a worker thread builds the next, so a busy cluster never stalls the event loop.
        """
        if self._stale():
            snapshot = self.live.snapshot()
            if self._context is None or len(snapshot.pods) <= _THREADED_BUILD_PODS:
                self._store(self.live.seq, ViewContext.build(snapshot, self.report, self._context))
            elif self._rebuild is None or self._rebuild.done():
                self._rebuild = asyncio.get_running_loop().create_task(self.fresh(), name="view-rebuild")
        assert self._context is not None
        return self._context

    async def fresh(self) -> tuple[int, ViewContext]:
        """A context at least as new as the model's current seq, built off-loop when large."""
        seq = self.live.seq
        if self._context is not None and self._built_seq == seq and self._built_report is self.report:
            return seq, self._context
        snapshot, report, previous = self.live.snapshot(), self.report, self._context
        if len(snapshot.pods) > _THREADED_BUILD_PODS:
            context = await asyncio.shield(self._threaded_build(seq, snapshot, report, previous))
        else:
            context = ViewContext.build(snapshot, report, previous)
        self._store(seq, context)
        return seq, context

    def _threaded_build(
        self, seq: int, snapshot: ClusterSnapshot, report: AnalysisReport | None, previous: ViewContext | None
    ) -> asyncio.Future[ViewContext]:
        """One worker-thread build per (seq, report), shared by every caller asking meanwhile.

        Why: 50 WebSocket subscribes arriving together each asked for their own build of the same
        view (profiled: ~50 parallel 10,000-pod builds fighting for the GIL), and the hub's flush and
        a REST rebuild did the same; the GIL made every one of them, and the event loop, slower.
        """
        build = self._build
        if build is None or build.done() or self._build_seq != seq or self._build_report is not report:
            build = asyncio.ensure_future(asyncio.to_thread(ViewContext.build, snapshot, report, previous))
            self._build, self._build_seq, self._build_report = build, seq, report
        return build

    def _store(self, seq: int, context: ViewContext) -> None:
        if seq >= self._built_seq or context.report is not self._built_report:
            self._context, self._built_seq, self._built_report = context, seq, context.report
            self._built_at = time.monotonic()

    async def listing(self) -> ServiceListing:
        """The service list of the current view, serialised once per view (see api/listing.py).

        Small clusters build it inline. Large ones build it in a worker thread and keep serving the
        previous listing meanwhile, so no request ever pays for the 2,000 summaries.
        """
        context = self.current()
        listing = self._listing
        if listing is not None and listing.context is context:
            return listing
        if len(context.snapshot.pods) <= _THREADED_BUILD_PODS:
            self._listing = ServiceListing(context)
            return self._listing
        build = self._schedule_listing(context)
        if listing is not None:
            return listing
        return await asyncio.shield(build)

    def _schedule_listing(self, context: ViewContext) -> asyncio.Task[ServiceListing]:
        build = self._listing_build
        if build is None or build.done():
            build = asyncio.get_running_loop().create_task(self._build_listing(context), name="listing-build")
            self._listing_build = build
        return build

    @property
    def pages_cached(self) -> int:
        """Pages of the service list held as bytes (the /metrics gauge)."""
        return 0 if self._listing is None else self._listing.pages_cached

    def ready_listing(self) -> ServiceListing | None:
        """What the fast path may answer from: the current view's listing, never building one inline.

        Large clusters also get the previous listing while the next is built in a worker thread, the
        same staleness the route accepts; small clusters rebuild inline, so they get None instead.
        """
        listing = self._listing
        if listing is None:
            return None
        context = self.current()
        if listing.context is context:
            return listing
        if len(context.snapshot.pods) <= _THREADED_BUILD_PODS:
            return None
        self._schedule_listing(context)
        return listing

    async def _build_listing(self, context: ViewContext) -> ServiceListing:
        listing = await asyncio.to_thread(ServiceListing, context)
        if self._listing is None or self._newer(listing.context, self._listing.context):
            self._listing = listing
        return listing

    def _newer(self, candidate: ViewContext, than: ViewContext) -> bool:
        return candidate is self._context or candidate.snapshot.taken_at >= than.snapshot.taken_at

    @property
    def built_seq(self) -> int:
        return self._built_seq


@dataclass(slots=True)
class ApiState:
    """Everything the routes and the hub share; built by app.py's lifespan."""

    settings: Settings
    live: LiveModel
    audit: AuditLog
    history: HistoryReader | None = None
    analyzer: Analyzer | None = None
    writer: ObjectWriter | None = None
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    views: ViewCache = field(init=False)
    hub: Hub | None = None
    analysis_window_seconds: float = ANALYSIS_WINDOW_SECONDS
    """How far back the analysis reads history (the Prometheus source reads OPTIMIZER_HISTORY_WINDOW)."""
    cluster_name: str = "in-cluster"
    """The kubeconfig context (what the report names the cluster by)."""

    def __post_init__(self) -> None:
        self.views = ViewCache(self.live)


async def run_analysis(state: ApiState) -> AnalysisReport | None:
    """One analysis pass (history read on the store's thread, analysis in a worker thread)."""
    if state.analyzer is None:
        return None
    started = time.perf_counter()
    snapshot = state.live.snapshot()
    now_seconds = snapshot_now_seconds(snapshot)
    histories: Mapping[ObjectRef, WorkloadHistory] = {}
    if state.history is not None:
        histories = await state.history.all_workload_histories(state.analysis_window_seconds, now_seconds)
    report = await asyncio.to_thread(state.analyzer, snapshot, histories, now_seconds)
    state.metrics.analysis_runs += 1
    state.metrics.analysis_seconds = time.perf_counter() - started
    previous = state.views.report
    state.views.report = report
    if state.hub is not None:
        state.hub.publish_analysis(previous, report)
    return report


async def analysis_loop(state: ApiState, trigger: asyncio.Event, *, fallback_seconds: float) -> None:
    """Analyse once synced, then after every metrics scrape (the hub sets `trigger`) or every fallback period."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(trigger.wait(), timeout=fallback_seconds)
        trigger.clear()
        if not state.live.synced:
            continue
        try:
            await run_analysis(state)
        except Exception:
            # A bug in one analysis pass must not stop the next; the previous report stays served.
            logger.exception("analysis failed; keeping the previous report")
