"""The view cache: what every list endpoint, detail route and the WebSocket hub read.

Requests never list the cluster and never run the analysis. `ViewCache` rebuilds the indexed
`ViewContext` only when the live model's change sequence moved or a new report came in (and not
more often than every `min_rebuild_seconds`); everything derived from a view (the service listing and
its pages, the hub's snapshot texts) is keyed by that view and dropped with it. Large clusters build
off the event loop while the previous view keeps answering. docs/api.md ("Caching") has the design.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from k8s_optimizer.api.listing import ServiceListing
from k8s_optimizer.api.ports import LiveModel
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.model import AnalysisReport

# Above this many pods a context build takes long enough to belong in a worker thread.
_THREADED_BUILD_PODS = 2000


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
