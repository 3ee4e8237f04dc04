"""Simulated time: `--speed X` makes X simulated seconds pass per real second.

Every controller, the load model and every timestamp written into an object read this clock, so a
demo can show hours of history in minutes and tests can jump ahead with `advance`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SimClock:
    def __init__(self, *, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start_sim = (start or datetime.now(UTC)).timestamp()
        self._start_real = time.monotonic()
        self._offset = 0.0

    def now_seconds(self) -> float:
        """Simulated seconds since the epoch."""
        return self._start_sim + (time.monotonic() - self._start_real) * self.speed + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_seconds(), UTC)

    def rfc3339(self, at: float | None = None) -> str:
        moment = datetime.fromtimestamp(self.now_seconds() if at is None else at, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (pre-running history, tests)."""
        self._offset += seconds

    def real_seconds(self, sim_seconds: float) -> float:
        """How long to sleep in real time for `sim_seconds` of simulated time."""
        return sim_seconds / self.speed
