"""Keeping Python's cyclic garbage collector off the hot paths of a 10,000-pod cache.

Why it exists: the caches of a large cluster hold a few hundred thousand GC-tracked objects. A
full (generation 2) collection walks all of them, measured at ~130 ms here, and a burst of
allocations (decoding a list or a metrics scrape) triggers several. On the event loop that is a
stall every client sees. Two tools fix it:

- `GC_PAUSE.paused()`: no collection while a burst of acyclic data (decoded JSON, domain
  dataclasses) is built. Nested and concurrent users (informers on the loop, the metrics collector
  in a worker thread) share one counter, so the collector comes back only when the last one leaves.
- `freeze_long_lived()`: after the caches have synced, collect once and move every survivor to the
  permanent generation, so later collections only walk what changed since. Frozen objects are still
  freed by reference counting; only reference cycles among them would wait, and the cached domain
  objects have none.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CollectorPause:
    """A thread-safe, nestable pause of the cyclic collector that restores the state it found."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._reenable = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._reenable = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._reenable:
                    gc.enable()


GC_PAUSE = CollectorPause()


def freeze_long_lived() -> None:
    """Collect garbage once, then exempt everything alive now from future collections."""
    gc.collect()
    gc.freeze()
