"""The scale scenario: 10,000 pods / 2,000 services come up Running in well under 30 s."""

from __future__ import annotations

import pytest

from k8s_sim import resources as r
from tests.sim.embedded import running_cluster


@pytest.mark.slow
async def test_ten_thousand_pods_start_fast() -> None:
    # The start-up time (< 30 s) is measured by `make bench` (sim_start_seconds), not asserted here.
    async with running_cluster("scale", pods=10_000, services=2_000) as cluster:
        store = cluster.store
        scale_pods = [p for p in store.list_objects(r.PODS) if p["metadata"]["namespace"].startswith("scale-")]
        assert len(scale_pods) == 10_000
        assert all(p["status"]["phase"] == "Running" for p in scale_pods)
        services = [s for s in store.list_objects(r.SERVICES) if s["metadata"]["namespace"].startswith("scale-")]
        assert len(services) == 2_000
        assert len({s["metadata"]["namespace"] for s in services}) == 50
        workers = [n for n in store.list_objects(r.NODES) if "worker" in n["metadata"]["name"]]
        assert len(workers) == 100
        endpoints = store.require(r.ENDPOINTS, "scale-00", "svc-0000")
        assert len(endpoints["subsets"][0]["addresses"]) == 5
        assert len(cluster.metrics.pod_metrics("scale-00")) == 200


async def test_small_scale_layout() -> None:
    async with running_cluster("scale", pods=50, services=10) as cluster:
        pods = [p for p in cluster.store.list_objects(r.PODS) if p["metadata"]["namespace"] == "scale-00"]
        assert len(pods) == 50
        assert {p["metadata"]["labels"]["app"] for p in pods} == {f"svc-{i:04d}" for i in range(10)}
        deployment = cluster.store.require(r.DEPLOYMENTS, "scale-00", "svc-0003")
        assert deployment["status"]["readyReplicas"] == 5
        assert len(cluster.store.list_objects(r.REPLICASETS, "scale-00")) == 10  # adopted, no new rollout
