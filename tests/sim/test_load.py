"""Load model: annotations, traffic split over ready pods, CPU throttling, determinism under seed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.load import PREFIX, Model, model_from_annotations
from tests.sim.embedded import pods_of, running_cluster

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_model_from_annotations() -> None:
    model = model_from_annotations(
        {
            PREFIX + "rps": "12.5",
            PREFIX + "memory-baseline-mib": "64",
            PREFIX + "memory-per-request-kib": "512",
            PREFIX + "load": "off",
            PREFIX + "drives": "echo-demo",
            PREFIX + "noise": "not-a-number",
        }
    )
    assert model == Model(
        rps=12.5,
        enabled=False,
        memory_baseline_bytes=64 * 2**20,
        memory_per_request_bytes=512 * 1024,
        drives="echo-demo",
    )


async def _metrics_after(seed: int, seconds: float) -> list[dict[str, object]]:
    cluster = EmbeddedCluster(scenario="demo", speed=1e-9, seed=seed, start=START)
    await cluster.start()
    try:
        await cluster.advance(seconds)
        return cluster.metrics.pod_metrics(None)
    finally:
        await cluster.stop()


async def test_same_seed_same_usage_other_seed_other_usage() -> None:
    first = await _metrics_after(7, 600)
    again = await _metrics_after(7, 600)
    other = await _metrics_after(8, 600)
    assert first == again
    usage = [[c["usage"] for c in m["containers"]] for m in first]  # type: ignore[attr-defined]
    other_usage = [[c["usage"] for c in m["containers"]] for m in other]  # type: ignore[attr-defined]
    assert usage != other_usage


async def test_cpu_is_throttled_at_the_limit_and_traffic_split_over_ready_pods() -> None:
    async with running_cluster("demo") as cluster:
        await cluster.advance(30)
        for pod in pods_of(cluster, "k8s-optimizer", "high-cpu-app"):
            reading = cluster.load.readings[("k8s-optimizer", pod["metadata"]["name"])]["stress"]
            assert reading.cpu_nanocores == 500_000_000  # wants a full core, limited to 500m
        echo = pods_of(cluster, "k8s-optimizer", "echo-demo")
        total_rps = cluster.load.workload_rps[("k8s-optimizer", "echo-demo")]
        # load-gen drives echo-demo: echo-demo's traffic is its own plus load-gen's
        assert total_rps > cluster.load.workload_rps[("k8s-optimizer", "load-gen")]
        cpu = [cluster.load.readings[("k8s-optimizer", p["metadata"]["name"])]["echo"].cpu_nanocores for p in echo]
        share_millicores = total_rps / len(echo) * 6 + 3  # cpu-per-request 6m, baseline 3m
        assert all(abs(c / 1e6 - share_millicores) <= share_millicores * 0.1 + 0.01 for c in cpu)


async def test_set_load_switches_a_workload_off() -> None:
    async with running_cluster("demo") as cluster:
        cluster.set_load("k8s-optimizer", "load-gen", enabled=False)
        await cluster.advance(30)
        assert ("k8s-optimizer", "load-gen") not in {k for k, v in cluster.load.workload_rps.items() if v}
        with pytest.raises(KeyError, match="k8s-optimizer/nope"):
            cluster.set_load("k8s-optimizer", "nope", enabled=True)
