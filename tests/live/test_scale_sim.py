"""Cold sync of the scale scenario (10,000 pods, 2,000 services) against the embedded cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.simcluster import SimCluster


@pytest.fixture(scope="module")
def scale_sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="scale", pods=10_000, services=2_000, timeout_seconds=120) as cluster:
        yield cluster


@pytest.mark.slow
async def test_ten_thousand_pods_sync_cold_within_five_seconds(scale_sim: SimCluster) -> None:
    await asyncio.sleep(2.0)  # let the simulator finish its own start-up burst
    model = ClusterModel(Settings(kubeconfig=scale_sim.kubeconfig, metrics_interval_seconds=60))
    started = time.monotonic()
    await model.start()
    try:
        synced = await model.wait_synced(30.0)
        elapsed_seconds = time.monotonic() - started
        snapshot = model.snapshot()
        assert synced
        assert len(snapshot.pods) >= 10_000
        assert len(snapshot.services) >= 2_000
        assert elapsed_seconds <= 5.0, f"cold sync took {elapsed_seconds:.2f}s"
        assert {informer.list_count for informer in model.informers} == {1}
    finally:
        await model.stop()
