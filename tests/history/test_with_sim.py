"""The real path: the embedded cluster's metrics.k8s.io, scraped by the live collector, stored, then reopened."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.history.store import HistoryStore
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.simcluster import SimCluster

SCRAPES = 4


async def _wait_for(predicate: object, timeout_seconds: float = 15.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout_seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("the live model never scraped")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_scraped_history_survives_a_backend_restart(tmp_path: Path) -> None:
    with SimCluster.start(scenario="demo", speed=1.0) as sim:
        store = await HistoryStore.open(tmp_path)
        # one scrape when the model starts, then only the ones this test triggers
        model = ClusterModel(Settings(kubeconfig=sim.kubeconfig, metrics_interval_seconds=3600), history=store)
        await model.start()
        assert await model.wait_synced(15.0), model.health()
        await _wait_for(lambda: model.collector is not None and model.collector.scrape_count >= 1)
        collector = model.collector
        assert collector is not None
        for _ in range(SCRAPES - 1):
            await asyncio.to_thread(sim.advance, 15)
            await collector.collect_once()
        await model.stop()
        now = await store.now_seconds()
        assert now is not None
        before = await store.all_workload_histories(3600, now, include_series=True)
        await store.close()

    reopened = await HistoryStore.open(tmp_path)
    after = await reopened.all_workload_histories(3600, now, include_series=True)
    await reopened.close()
    assert after == before
    deployments = [ref for ref in after if ref.kind == "Deployment"]
    assert deployments, sorted(ref.key() for ref in after)
    pods = [pod for ref in deployments for pods in after[ref].containers.values() for pod in pods]
    # the scrapes after each 15 s advance are new samples (the first may predate the first metrics window)
    assert max(len(pod.cpu_millicores) for pod in pods) >= SCRAPES - 1
    for pod in pods:
        stamps = [point.timestamp_seconds for point in pod.cpu_millicores]
        assert stamps == sorted(set(stamps))  # none twice
        assert pod.cpu_histogram is not None
        assert pod.cpu_histogram.total_samples == len(pod.cpu_millicores)
    assert all(isinstance(ref, ObjectRef) for ref in after)
