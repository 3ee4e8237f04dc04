"""What the live model calls on the history store: a Protocol, so live/ never imports history/.

HISTORY implements it (SQLite); tests pass a small in-memory fake. Each method returns how many rows
it stored, so callers and tests can see duplicates being skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, Termination


class HistoryRecorder(Protocol):
    async def record_scrape(self, containers: Sequence[ScrapedContainer], nodes: Sequence[NodeUsage]) -> int: ...

    async def record_terminations(self, terminations: Sequence[Termination]) -> int: ...

    async def record_replicas(
        self, workload: ObjectRef, timestamp: datetime, replicas: int, desired: int | None
    ) -> int: ...
