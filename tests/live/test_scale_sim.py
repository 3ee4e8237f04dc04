"""Cold sync of the scale scenario (10,000 pods, 2,000 services) against the embedded cluster."""

from __future__ import annotations

import asyncio
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
async def test_ten_thousand_pods_sync_cold_with_one_list_each(scale_sim: SimCluster) -> None:
    """Complete at full size; the cold-sync target (≤ 5 s) is measured by `make bench` (sync_seconds)."""
    await asyncio.sleep(2.0)  # let the simulator finish its own start-up burst
    model = ClusterModel(Settings(kubeconfig=scale_sim.kubeconfig, metrics_interval_seconds=60))
    await model.start()
    try:
        synced = await model.wait_synced(30.0)
        snapshot = model.snapshot()
        assert synced
        assert len(snapshot.pods) >= 10_000
        assert len(snapshot.services) >= 2_000
        assert {informer.list_count for informer in model.informers if not informer.not_served} == {1}
    finally:
        await model.stop()
