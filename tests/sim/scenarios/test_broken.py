"""The broken scenario plants exactly the documented faults (docs/sim.md)."""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.scenarios.broken import FAULTS, NAMESPACE
from tests.sim.embedded import pods_of, running_cluster


async def test_planted_faults() -> None:
    async with running_cluster("broken") as cluster:
        await cluster.advance(60)
        store = cluster.store
        assert set(FAULTS) == {"orphan-svc", "web-misport", "never-ready", "crashloop", "no-requests", "too-big"}
        assert "subsets" not in store.require(r.ENDPOINTS, NAMESPACE, "orphan-svc")
        assert "subsets" not in store.require(r.ENDPOINTS, NAMESPACE, "web-misport")
        assert "notReadyAddresses" in store.require(r.ENDPOINTS, NAMESPACE, "never-ready")["subsets"][0]
        (crash,) = pods_of(cluster, NAMESPACE, "crashloop")
        assert crash["status"]["containerStatuses"][0]["restartCount"] >= 2
        assert store.require(r.PODS, NAMESPACE, "too-big")["status"]["phase"] == "Pending"
        hpa = store.require(r.HPAS, NAMESPACE, "no-requests")["status"]
        assert hpa["currentMetrics"] == [{"type": ""}]
        assert store.list_objects(r.PODS, "k8s-optimizer") == []
