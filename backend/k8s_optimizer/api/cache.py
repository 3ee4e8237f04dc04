"""The read side's one cache design: everything is derived from the current view and dropped with it.

Requests never list the cluster and never run the analysis. The chain (docs/api.md, "Caching"):

1. `ViewCache` keeps the indexed `ViewContext` of the latest snapshot and report. It is rebuilt only when
   the live model's change seq moved or a new report came in (and not more often than every
   `min_rebuild_seconds`); a new view carries the previous one's pod joins over (api/joins.py).
2. Derived from a view, keyed by it: the service listing (every summary serialised once, api/listing.py),
   its page bytes and the raw query strings the fast path may answer from (api/fastpath.py), and the
   hub's snapshot texts (api/ws/snapshots.py).
3. One build policy for all of them, `SharedBuilds`: small clusters build inline (milliseconds); large
   ones build in a worker thread, once per key however many callers ask meanwhile, while the previous
   result keeps answering.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from k8s_optimizer.api.listing import ServiceListing
from k8s_optimizer.api.ports import LiveModel
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.recommend.model import AnalysisReport

# Above this many pods a build takes long enough to belong in a worker thread.
THREADED_BUILD_PODS = 2000

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedBuilds(Generic[K, V]):
    """Worker-thread builds, one per key at a time, shared by every caller asking while it runs.

    Why: 50 WebSocket subscribes arriving together each asked for their own build of the same view
    (profiled: ~50 parallel 10,000-pod builds fighting for the GIL, and the event loop with them). The
    latest `keep` keys stay (done builds answer at once); a failed build is forgotten, so the next caller
    retries.
    """

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep
        self._builds: dict[K, asyncio.Future[V]] = {}

    def start(
        self, key: K, build: Callable[..., V], *args: Any, adopt: Callable[[V], None] | None = None
    ) -> asyncio.Future[V]:
        """The build of `key`, started now unless one exists; `adopt` sees its result once, when it is new."""
        future = self._builds.get(key)
        if future is None:
            while len(self._builds) >= self.keep:
                del self._builds[next(iter(self._builds))]  # the oldest; its waiters keep their future
            future = asyncio.ensure_future(asyncio.to_thread(build, *args))
            self._builds[key] = future
            future.add_done_callback(lambda done: self._settle(key, done, adopt))
        return future

    async def get(self, key: K, build: Callable[..., V], *args: Any) -> V:
        return await asyncio.shield(self.start(key, build, *args))

    def clear(self) -> None:
        self._builds.clear()

    def _settle(self, key: K, future: asyncio.Future[V], adopt: Callable[[V], None] | None) -> None:
        if future.cancelled() or future.exception() is not None:
            if self._builds.get(key) is future:
                del self._builds[key]
        elif adopt is not None:
            adopt(future.result())


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
    _listing_build: asyncio.Future[ServiceListing] | None = None
    # Keyed (seq, id(report)): the entry's future holds the report, so its id cannot be reused meanwhile.
    _views: SharedBuilds[tuple[int, int], ViewContext] = field(default_factory=SharedBuilds)
    _listings: SharedBuilds[int, ServiceListing] = field(default_factory=SharedBuilds)

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
            if self._context is None or len(snapshot.pods) <= THREADED_BUILD_PODS:
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
        if len(snapshot.pods) > THREADED_BUILD_PODS:
            context = await self._views.get((seq, id(report)), ViewContext.build, snapshot, report, previous)
        else:
            context = ViewContext.build(snapshot, report, previous)
        self._store(seq, context)
        return seq, context

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
        if len(context.snapshot.pods) <= THREADED_BUILD_PODS:
            self._listing = ServiceListing(context)
            return self._listing
        build = self._schedule_listing(context)
        if listing is not None:
            return listing
        return await asyncio.shield(build)

    def _schedule_listing(self, context: ViewContext) -> asyncio.Future[ServiceListing]:
        self._listing_build = self._listings.start(id(context), ServiceListing, context, adopt=self._adopt_listing)
        return self._listing_build

    def _adopt_listing(self, listing: ServiceListing) -> None:
        current = self._listing
        if current is None or listing.context is self._context or self._newer(listing.context, current.context):
            self._listing = listing

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
        if len(context.snapshot.pods) <= THREADED_BUILD_PODS:
            return None
        self._schedule_listing(context)
        return listing

    def _newer(self, candidate: ViewContext, than: ViewContext) -> bool:
        return candidate.snapshot.taken_at >= than.snapshot.taken_at

    @property
    def built_seq(self) -> int:
        return self._built_seq
