"""The event loop stays free while a large metrics scrape is resolved and recorded.

The collector runs inside the API server's process: whatever it does on the event loop delays every
request. Against the embedded cluster's `scale` scenario (2,000 pods here to stay fast), the scrape's
CPU-heavy step (resolving every reading to its workload and requests) must run in a worker thread.
The test asserts where the work runs, not how long it takes: timings belong to `make bench`
(`services_p99_ms` is measured while scrapes run), and a timed unit test would be flaky on a loaded machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from k8s_optimizer.live.collector import MetricsCollector
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.live.conftest import FakeHistory
from tests.simcluster import SimCluster

PODS = 2_000


@pytest.fixture(scope="module")
def scale_sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="scale", pods=PODS, services=400, timeout_seconds=120) as cluster:
        yield cluster


async def test_a_large_scrape_never_holds_the_event_loop(scale_sim: SimCluster) -> None:
    model = ClusterModel(Settings(kubeconfig=scale_sim.kubeconfig, metrics_interval_seconds=3600))
    await model.start()
    try:
        assert await model.wait_synced(60.0)
        assert model.collector is not None
        history = FakeHistory()
        # A fresh collector: nothing deduped, so every container is resolved and recorded.
        collector = MetricsCollector(model.collector.connection, model, history)
        threads: list[threading.Thread] = []
        prepare = collector._prepare

        def watched_prepare(*args: Any) -> Any:
            threads.append(threading.current_thread())
            return prepare(*args)

        collector._prepare = watched_prepare  # type: ignore[method-assign,assignment]  # observes; same work
        result = await collector.collect_once()
        snapshot = model.snapshot()
        assert result is not None
        assert len(result.containers) >= PODS
        assert sum(scraped.workload is not None for scraped in result.containers) >= PODS
        assert len(history.scrapes) == 1
        assert set(snapshot.container_usage) == {
            (c.usage.key.namespace, c.usage.key.pod, c.usage.key.container) for c in result.containers
        }
        assert collector.last_scrape_seconds is not None
        assert len(threads) == 1
        assert threads[0] is not threading.main_thread()
    finally:
        await model.stop()
