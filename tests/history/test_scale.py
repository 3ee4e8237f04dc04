"""Cluster scale: one 10,000-container scrape is ingested within budget, and the bulk read is a fraction of 2 s."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import ScrapedContainer
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import MIB, T0, scraped

CONTAINERS = 10_000
INGEST_BUDGET_SECONDS = 0.3
BULK_BUDGET_SECONDS = 0.5


def _cluster_scrape(step: int) -> list[ScrapedContainer]:
    """1,000 Deployments × 5 pods × 2 containers, in 20 namespaces."""
    scrape = []
    for index in range(CONTAINERS):
        workload = index // 10
        namespace = f"ns-{workload % 20}"
        scrape.append(
            scraped(
                f"w{workload}-{index // 2}",
                T0 + 15 * step,
                float(50 + (index * 7 + step) % 300),
                (100 + index % 50) * MIB,
                container=f"c{index % 2}",
                namespace=namespace,
                workload=ObjectRef("Deployment", namespace, f"w{workload}"),
            )
        )
    return scrape


@pytest.mark.slow
async def test_ingest_and_bulk_read_at_10000_containers(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path)
    scrapes = [_cluster_scrape(step) for step in range(4)]
    durations = []
    for scrape in scrapes:
        started = time.perf_counter()
        assert await store.record_scrape(scrape, []) == CONTAINERS
        durations.append(time.perf_counter() - started)
        await store.maintain()  # keep maintenance out of the timed ingest
    started = time.perf_counter()
    histories = await store.all_workload_histories(86400, T0 + 45)
    bulk_seconds = time.perf_counter() - started
    await store.close()
    assert len(histories) == 1000
    assert sum(len(pods) for h in histories.values() for pods in h.containers.values()) == CONTAINERS
    assert statistics.median(durations) < INGEST_BUDGET_SECONDS
    assert bulk_seconds < BULK_BUDGET_SECONDS
