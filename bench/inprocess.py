"""The two figures measured inside one process: metrics ingest and one full recommendation pass.

Both run the backend's real code on the real cluster picture: the live model syncs from the embedded
cluster over its kubeconfig, synthetic readings for every container of that snapshot are recorded
into a fresh history store scrape by scrape (one scrape = every container at one timestamp, the way
the collector writes it), then the history of every workload is read back and `analyze()` runs once
over all of them — what the backend does after each scrape.

Run as `python -m bench.inprocess '{"kubeconfig", "data_dir", "scrapes", "spacing_seconds"}'`.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import percentile
from k8s_optimizer.analysis.cost import Prices
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage
from k8s_optimizer.history.store import HistoryStore
from k8s_optimizer.live.collector import scraped_containers
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.recommend.engine import analyze
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.settings import Settings

WINDOW_SECONDS = 7 * 24 * 3600.0


def _readings(snapshot: ClusterSnapshot, at_seconds: float, rng: random.Random) -> list[ContainerUsage]:
    timestamp = datetime.fromtimestamp(at_seconds, UTC)
    daily = 1 + 0.5 * math.sin(at_seconds / 86400 * 2 * math.pi)
    readings: list[ContainerUsage] = []
    for pod in snapshot.pods.values():
        for container in pod.containers:
            request = container.cpu_request_millicores or 100
            readings.append(
                ContainerUsage(
                    key=ContainerKey(pod.namespace, pod.name, container.name),
                    timestamp=timestamp,
                    window_seconds=15.0,
                    cpu_millicores=request * 0.3 * daily * rng.uniform(0.8, 1.2),
                    memory_bytes=int((container.memory_request_bytes or 2**27) * rng.uniform(0.4, 0.6)),
                )
            )
    return readings


async def _snapshot(kubeconfig: Path, data_dir: Path) -> ClusterSnapshot:
    model = ClusterModel(Settings(kubeconfig=kubeconfig, data_dir=data_dir, metrics_interval_seconds=3600))
    await model.start()
    try:
        if not await model.wait_synced(120):
            raise RuntimeError("live model did not sync")
        return model.snapshot()
    finally:
        await model.stop()


async def run(args: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(args["data_dir"])
    snapshot = await _snapshot(Path(args["kubeconfig"]), data_dir)
    store = await HistoryStore.open(data_dir / "history", raw_retention_seconds=WINDOW_SECONDS)
    rng = random.Random(7)
    scrapes, spacing = int(args["scrapes"]), float(args["spacing_seconds"])
    now = time.time()
    ingest_ms: list[float] = []
    containers = 0
    for index in range(scrapes):
        readings = _readings(snapshot, now - (scrapes - 1 - index) * spacing, rng)
        scraped = scraped_containers(snapshot, readings)
        started = time.perf_counter()
        await store.record_scrape(scraped, [])
        ingest_ms.append((time.perf_counter() - started) * 1000)
        containers = len(scraped)
    await store.maintain()
    started = time.perf_counter()
    histories = await store.all_workload_histories(WINDOW_SECONDS, now)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = analyze(snapshot, histories, policy=Policy.named("balanced"), prices=Prices(), now_seconds=now)
    analyze_seconds = time.perf_counter() - started
    await store.close()
    return {
        "containers": containers,
        "scrapes": scrapes,
        "ingest_ms": percentile(ingest_ms[1:] or ingest_ms, 50),  # the first scrape also creates the catalog
        "ingest_max_ms": max(ingest_ms),
        "history_read_seconds": read_seconds,
        "recommend_pass_seconds": analyze_seconds,
        "recommendations": len(report.recommendations),
    }


def main() -> None:
    sys.stdout.write(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))) + "\n")


if __name__ == "__main__":
    main()
