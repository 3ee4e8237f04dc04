"""Snapshot texts of the current view, shared by every client asking for the same one.

Why: 1,000 dashboards subscribing to the same topics must cost one build, not 1,000, and building and
encoding 10,000 pods takes seconds, so it happens in a worker thread. Entries are keyed by the request
shape and live as long as the view they were built from (the one cache design of api/cache.py).
"""

from __future__ import annotations

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.cache import SharedBuilds
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.api.ws import convert
from k8s_optimizer.api.ws.protocol import SnapshotReason

SNAPSHOT_CACHE_ENTRIES = 32

_Key = tuple[int, SnapshotReason, tuple[s.Topic, ...], str | None]


class SnapshotTexts:
    """One encoded snapshot per (view, seq, reason, topics, namespace); failed builds are not kept."""

    def __init__(self, epoch: str) -> None:
        self.epoch = epoch
        self._texts: SharedBuilds[_Key, str] = SharedBuilds(keep=SNAPSHOT_CACHE_ENTRIES)
        self._for: ViewContext | None = None

    async def text(
        self,
        context: ViewContext,
        seq: int,
        reason: SnapshotReason,
        topics: tuple[s.Topic, ...],
        namespace: str | None,
    ) -> str:
        if self._for is not context:
            self._texts.clear()
            self._for = context
        key = (seq, reason, topics, namespace)
        return await self._texts.get(key, convert.snapshot_text, context, seq, self.epoch, reason, topics, namespace)
