"""One connected client: its subscriptions, its bounded queue and its rate limit.

Policy for slow clients: when a client's queue is full its pending messages are dropped and it gets a
fresh snapshot instead (`resync`), so it neither blocks the others nor grows memory.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.ws.protocol import MESSAGES_PER_SECOND, Control, Item, Outgoing


@dataclass(eq=False, slots=True)
class WsClient:
    queue_size: int
    topics: set[s.Topic] = field(default_factory=set)
    namespace: str | None = None
    last_seq: int = -1
    floor_seq: int = -1
    """Deltas at or below this seq are already covered by a snapshot or a replay."""
    resync_pending: bool = False
    queue: asyncio.Queue[Item] = field(init=False)
    tokens: float = MESSAGES_PER_SECOND
    tokens_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def wants(self, message: Outgoing) -> bool:
        if message.topic not in self.topics:
            return False
        return self.namespace is None or message.namespace in ("", self.namespace)

    def offer(self, item: Item) -> bool:
        """Queue without blocking; on overflow drop the backlog and queue one resync. False if resynced."""
        if self.resync_pending and isinstance(item, Outgoing):
            return True  # the coming snapshot covers it
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.resync_pending = True
            self.queue.put_nowait(Control("resync"))
            return False
        return True

    def allow_message(self) -> bool:
        """Token bucket: MESSAGES_PER_SECOND sustained, the same as burst."""
        now = time.monotonic()
        self.tokens = min(MESSAGES_PER_SECOND, self.tokens + (now - self.tokens_at) * MESSAGES_PER_SECOND)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
