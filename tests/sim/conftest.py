"""Fixtures for the embedded cluster's API server tests.

`served` runs the real aiohttp API server in-process on an ephemeral loopback port over a small fake
cluster: a real ObjectStore (every type registered, no controllers, so what a test writes is exactly what
it reads back) plus metrics a test can set. `kube` is a kubernetes_asyncio ApiClient pointed at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio import client

from k8s_sim.clock import SimClock
from k8s_sim.faults import Faults
from k8s_sim.resources import ALL
from k8s_sim.server import build_app
from k8s_sim.store import Obj, ObjectStore
from tests.simcluster import SimCluster


@dataclass
class FakeMetrics:
    pods: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)

    def pod_metrics(self, namespace: str | None) -> list[Obj]:
        return [p for p in self.pods if namespace is None or p["metadata"]["namespace"] == namespace]

    def pod_metric(self, namespace: str, name: str) -> Obj | None:
        return next((p for p in self.pod_metrics(namespace) if p["metadata"]["name"] == name), None)

    def node_metrics(self) -> list[Obj]:
        return list(self.nodes)

    def node_metric(self, name: str) -> Obj | None:
        return next((n for n in self.nodes if n["metadata"]["name"] == name), None)


class FakeCluster:
    """The EmbeddedCluster surface the server uses, over a bare store."""

    def __init__(self, *, event_log_size: int = 200_000) -> None:
        self.clock = SimClock(speed=1.0)
        self.store = ObjectStore(self.clock, event_log_size=event_log_size)
        for rt in ALL:
            self.store.register(rt)
        self.metrics = FakeMetrics()
        self.advanced_seconds = 0.0
        self.loads: dict[tuple[str, str], tuple[bool, float | None]] = {}

    async def advance(self, seconds: float) -> None:
        self.advanced_seconds += seconds
        self.clock.advance(seconds)

    def set_load(self, namespace: str, name: str, *, enabled: bool, rps: float | None = None) -> None:
        if name == "missing":
            raise KeyError(name)
        self.loads[(namespace, name)] = (enabled, rps)

    def status(self) -> dict[str, Any]:
        return {"scenario": "fake", "advancedSeconds": self.advanced_seconds}


@dataclass
class Served:
    cluster: FakeCluster
    faults: Faults
    url: str

    @property
    def store(self) -> ObjectStore:
        return self.cluster.store


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    cluster = FakeCluster()
    faults = Faults(seed=7)
    runner = web.AppRunner(build_app(cluster, faults, bookmark_interval_seconds=0.2), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
    try:
        yield Served(cluster, faults, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


@pytest.fixture
async def kube(served: Served) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration(host=served.url)
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    """One `k8s-optimizer sim` subprocess (demo scenario) shared by a test module."""
    with SimCluster.start(scenario="demo", seed=1) as cluster:
        yield cluster
