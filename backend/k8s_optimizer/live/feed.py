"""The change feed's plumbing: a bounded ring of recent changes and per-subscriber bounded queues.

Why bounded everywhere: one slow WebSocket client must never hold the live model back or grow its
memory. A subscriber whose queue fills is marked `overflowed` and its iteration ends; the WebSocket
hub then re-sends that client a snapshot (taken together with `ClusterModel.seq`) and subscribes
again. A reconnecting client that knows its last seq catches up from the ring (`changes_since`),
or gets a snapshot when the ring no longer reaches back that far.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Callable

from k8s_optimizer.domain.changes import Change, ChangeType

CHANGE_LOG_SIZE = 20_000  # two cold syncs of a 10,000-pod cluster; older history is a snapshot away


class ChangeSubscription:
    """An async iterator of changes; ends when closed or overflowed (check `overflowed` then)."""

    def __init__(self, maxsize: int, on_close: Callable[[ChangeSubscription], None]) -> None:
        self.maxsize = maxsize
        self.overflowed = False
        self.closed = False
        self._items: deque[Change] = deque()
        self._wakeup = asyncio.Event()
        self._on_close = on_close

    def offer(self, change: Change) -> None:
        """Called by the model for every change; never blocks."""
        if self.closed or self.overflowed:
            return
        if len(self._items) >= self.maxsize:
            self.overflowed = True
            self._items.clear()
            self._on_close(self)
        else:
            self._items.append(change)
        self._wakeup.set()

    def pending(self) -> int:
        return len(self._items)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)
            self._wakeup.set()

    def __aiter__(self) -> ChangeSubscription:
        return self

    async def __anext__(self) -> Change:
        while True:
            if self.closed or self.overflowed:
                raise StopAsyncIteration
            if self._items:
                return self._items.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()


class ChangeLog:
    """Monotonic sequence numbers, a ring of recent changes and the fan-out to subscribers."""

    def __init__(self, size: int = CHANGE_LOG_SIZE) -> None:
        self.seq = 0
        self._ring: deque[Change] = deque(maxlen=size)
        self._subscriptions: set[ChangeSubscription] = set()

    def publish(
        self,
        change_type: ChangeType,
        kind: str,
        namespace: str,
        name: str,
        obj: object | None,
        *,
        derived: bool = False,
    ) -> Change:
        self.seq += 1
        change = Change(self.seq, change_type, kind, namespace, name, obj, derived)
        self._ring.append(change)
        for subscription in tuple(self._subscriptions):
            subscription.offer(change)
        return change

    def replace_object(self, seq: int, obj: object | None) -> bool:
        """Swap the payload of a change still in the ring (a superseded one, to free its memory)."""
        if not self._ring or not self._ring[0].seq <= seq <= self._ring[-1].seq:
            return False
        index = seq - self._ring[0].seq
        self._ring[index] = dataclasses.replace(self._ring[index], object=obj)
        return True

    def subscribe(self, maxsize: int) -> ChangeSubscription:
        subscription = ChangeSubscription(maxsize, self._subscriptions.discard)
        self._subscriptions.add(subscription)
        return subscription

    def since(self, seq: int) -> list[Change] | None:
        """Changes with seq > `seq`, or None when the ring no longer holds all of them."""
        if seq >= self.seq:
            return []
        if not self._ring or self._ring[0].seq > seq + 1:
            return None
        start = seq + 1 - self._ring[0].seq
        return [self._ring[index] for index in range(start, len(self._ring))]

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)
