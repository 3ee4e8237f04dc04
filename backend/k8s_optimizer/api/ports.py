"""What the API needs from the layers below it, as Protocols.

The routes and the WebSocket hub are written against these capabilities, not the concrete classes, so
tests can drive them with small fakes and app.py wires the real ones (the live ClusterModel, the
HistoryStore, the recommendation engine, k8s/writer.py). Keep them as narrow as the API's use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from k8s_optimizer.domain.changes import Change
from k8s_optimizer.domain.history import SeriesTarget, UsageSeries, WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.live.scheduler import Analyzer as Analyzer  # what app.py injects; the scheduler runs it

Json = dict[str, Any]


class ComponentHealthLike(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str | None: ...


class ChangeSubscription(Protocol):
    """An async iterator of changes; `overflowed` turns true when this subscriber fell behind."""

    @property
    def overflowed(self) -> bool: ...

    def __aiter__(self) -> AsyncIterator[Change]: ...


class LiveModel(Protocol):
    """The live model: watch caches, usage and the change feed."""

    @property
    def synced(self) -> bool: ...

    @property
    def seq(self) -> int: ...

    def health(self) -> Mapping[str, ComponentHealthLike]: ...

    def snapshot(self) -> ClusterSnapshot: ...

    def subscribe(self, maxsize: int) -> ChangeSubscription: ...

    def changes_since(self, seq: int) -> list[Change] | None: ...


class HistoryReader(Protocol):
    """Usage history for analysis and charts (history/store.py's HistoryStore)."""

    async def all_workload_histories(
        self, window_seconds: float, now_seconds: float
    ) -> Mapping[ObjectRef, WorkloadHistory]: ...

    async def series(
        self,
        target: SeriesTarget,
        metric: str,
        *,
        window_seconds: float,
        step_seconds: float,
        now_seconds: float | None = None,
    ) -> UsageSeries: ...


class ObjectWriter(Protocol):
    """Reads and patches one object (k8s/writer.py's ClusterWriter); raises k8s.errors.ClusterError."""

    async def read(self, ref: ObjectRef) -> Json: ...

    async def patch(self, ref: ObjectRef, patch: Json, *, dry_run: bool) -> Json: ...
