"""Scheduler: requests must fit allocatable, the control-plane taint is respected, misfits get FailedScheduling."""

from __future__ import annotations

from k8s_sim import resources as r
from tests.sim.embedded import events_for, running_cluster

EXPECTED_MESSAGE = (
    "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
    "2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
)


async def test_workloads_land_on_workers_only() -> None:
    async with running_cluster("demo") as cluster:
        pods = cluster.store.list_objects(r.PODS, "k8s-optimizer")
        assert pods
        assert {pod["spec"]["nodeName"] for pod in pods} <= {"k8s-optimizer-worker", "k8s-optimizer-worker2"}
        for pod in pods:
            scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
            assert scheduled[0]["status"] == "True"
            assert events_for(cluster, pod["metadata"]["name"], "Scheduled")[0]["message"] == (
                f"Successfully assigned k8s-optimizer/{pod['metadata']['name']} to {pod['spec']['nodeName']}"
            )


async def test_pod_that_fits_no_node_stays_pending() -> None:
    async with running_cluster("broken") as cluster:
        await cluster.advance(60)
        pod = cluster.store.require(r.PODS, "broken", "too-big")
        assert pod["status"]["phase"] == "Pending"
        assert "nodeName" not in pod["spec"]
        condition = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
        assert (condition["status"], condition["reason"], condition["message"]) == (
            "False",
            "Unschedulable",
            EXPECTED_MESSAGE,
        )
        events = events_for(cluster, "too-big", "FailedScheduling")
        assert [(e["type"], e["message"], e["source"]["component"]) for e in events] == [
            ("Warning", EXPECTED_MESSAGE, "default-scheduler")
        ]
        assert events[0]["count"] >= 2  # retried while pending, counted on the same Event


async def test_requests_are_accounted_per_node() -> None:
    async with running_cluster("demo") as cluster:
        info = cluster.scheduler.nodes["k8s-optimizer-worker"]
        bound = [p for p in cluster.store.list_objects(r.PODS) if p["spec"].get("nodeName") == info.name]
        assert info.pod_count == len(bound)
        assert 0 < info.requested_cpu <= info.cpu_millicores
