"""Tuning the Python interpreter for a server whose heap is a 10,000-pod cluster's caches.

Why it exists: the caches of a large cluster hold a few hundred thousand GC-tracked objects. A full
(generation 2) collection walks all of them, measured at ~130 ms here, and a burst of allocations
(decoding a list or a metrics scrape) triggers several; on the event loop that is a stall every
client sees. Everything the backend does to the interpreter is here, in two parts:

- `GC_PAUSE.paused()`: no collection while a burst of acyclic data (decoded JSON, domain
  dataclasses) is built. The adapters use it around their bursts; nested and concurrent users
  (informers on the loop, the metrics collector in a worker thread) share one counter, so the
  collector comes back only when the last one leaves.
- `tune_for_synced_caches()`: process-wide settings, applied once by the application when the caches
  have synced (app.py hands it to the live model as its on-synced hook, so it runs before /ready).
  It freezes what is alive (later collections skip the caches), makes young collections rarer and
  shortens the GIL switch interval.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GC_GEN0_THRESHOLD_AFTER_SYNC = 50_000
GIL_SWITCH_INTERVAL_SECONDS = 0.001


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
    """Collect garbage once, then exempt everything alive now from future collections.

    Frozen objects are still freed by reference counting; only reference cycles among them would
    wait, and the cached domain objects have none.
    """
    gc.collect()
    gc.freeze()


def tune_for_synced_caches() -> None:
    """Once, after the initial lists: the heap is now mostly the caches, and it will stay so."""
    freeze_long_lived()
    # Young collections 70x rarer: at 1,000 WebSocket clients every full collection walked their
    # ~150,000 objects (110-200 ms, GIL held), and the default 700-allocation trigger ran one every
    # second or two; profiled as the slow trials of the delta fan-out (docs/api.md).
    gc.set_threshold(GC_GEN0_THRESHOLD_AFTER_SYNC, *gc.get_threshold()[1:])
    # The analysis pass holds the GIL for ~1 s in a worker thread; at the default 5 ms switch interval
    # each event-loop wakeup waited up to 5 ms for it (services p99 157-171 ms when a load overlapped
    # the first pass, 28-46 ms at 1 ms).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
