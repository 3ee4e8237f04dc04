"""Fixtures for the live model's integration tests: one embedded cluster per module, fast backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import datetime

import pytest

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.k8s.informer import Backoff
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.simcluster import SimCluster


def fast_backoff() -> Backoff:
    return Backoff(base_seconds=0.05, cap_seconds=0.4, floor_seconds=0.01)


async def eventually(predicate: Callable[[], bool], timeout_seconds: float = 5.0, what: str = "condition") -> float:
    """Poll until predicate() holds; returns the seconds it took (fails the test on timeout)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_seconds:
            pytest.fail(f"{what} not reached within {timeout_seconds}s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


class FakeHistory:
    """Implements live.recorder.HistoryRecorder in memory."""

    def __init__(self) -> None:
        self.scrapes: list[tuple[tuple[ScrapedContainer, ...], tuple[NodeUsage, ...]]] = []
        self.terminations: list[Termination] = []
        self.replicas: list[tuple[ObjectRef, datetime, int, int | None]] = []

    async def record_scrape(self, containers: Sequence[ScrapedContainer], nodes: Sequence[NodeUsage]) -> int:
        self.scrapes.append((tuple(containers), tuple(nodes)))
        return len(containers) + len(nodes)

    async def record_terminations(self, terminations: Sequence[Termination]) -> int:
        self.terminations.extend(terminations)
        return len(terminations)

    async def record_replicas(
        self, workload: ObjectRef, timestamp: datetime, replicas: int, desired: int | None
    ) -> int:
        self.replicas.append((workload, timestamp, replicas, desired))
        return 1


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo", speed=1.0) as cluster:
        yield cluster


ModelFactory = Callable[..., Awaitable[ClusterModel]]


@pytest.fixture
async def make_model(sim: SimCluster) -> AsyncIterator[ModelFactory]:
    """Start ClusterModels against the module's sim; all are stopped (and faults cleared) afterwards."""
    models: list[ClusterModel] = []

    async def factory(**settings: object) -> ClusterModel:
        history = settings.pop("history", None)
        model = ClusterModel(
            Settings(kubeconfig=sim.kubeconfig, **settings),  # type: ignore[arg-type]
            history=history,  # type: ignore[arg-type]
            backoff_factory=fast_backoff,
        )
        models.append(model)
        await model.start()
        assert await model.wait_synced(10.0), model.health()
        return model

    yield factory
    sim.set_faults("")
    for model in models:
        await model.stop()
