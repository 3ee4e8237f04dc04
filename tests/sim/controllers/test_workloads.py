"""Deployment/ReplicaSet controllers: scaling, rolling updates within maxSurge/maxUnavailable, status."""

from __future__ import annotations

import copy

from k8s_sim import resources as r
from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.controllers.base import is_pod_ready
from k8s_sim.store import Obj
from tests.sim.embedded import deployment, events_for, pods_of, running_cluster

WEB = {
    "name": "web",
    "image": "nginx:1.27.2",
    "ports": [{"name": "http", "containerPort": 8080}],
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "initialDelaySeconds": 5},
}


def _scale(cluster: EmbeddedCluster, name: str, replicas: int) -> None:
    def change(obj: Obj) -> None:
        obj["spec"]["replicas"] = replicas

    cluster.store.mutate(r.DEPLOYMENTS, "default", name, change)


async def test_scale_up_gives_running_pods_and_endpoints() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.DEPLOYMENTS, deployment("default", "web", replicas=2, container=copy.deepcopy(WEB)))
        cluster.store.create(
            r.SERVICES,
            {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
            },
        )
        await cluster.advance(10)
        _scale(cluster, "web", 6)
        await cluster.advance(10)
        pods = pods_of(cluster, "default", "web")
        assert len(pods) == 6
        assert all(p["status"]["phase"] == "Running" and is_pod_ready(p) for p in pods), [
            (p["metadata"]["creationTimestamp"], p["status"]) for p in pods if not is_pod_ready(p)
        ]
        endpoints = cluster.store.require(r.ENDPOINTS, "default", "web")
        addresses = endpoints["subsets"][0]["addresses"]
        assert sorted(a["ip"] for a in addresses) == sorted(p["status"]["podIP"] for p in pods)
        assert endpoints["subsets"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
        status = cluster.store.require(r.DEPLOYMENTS, "default", "web")["status"]
        assert (
            status["replicas"],
            status["readyReplicas"],
            status["availableReplicas"],
            status["updatedReplicas"],
        ) == (6, 6, 6, 6)
        assert [c["reason"] for c in status["conditions"]] == ["MinimumReplicasAvailable", "NewReplicaSetAvailable"]
        rs_name = next(iter(cluster.deployments.owned.children.values()))
        messages = [e["message"] for e in events_for(cluster, "web", "ScalingReplicaSet")]
        assert any(m.endswith("from 2 to 6") for m in messages), (messages, rs_name)


async def test_rolling_update_respects_surge_and_unavailability() -> None:
    async with running_cluster("demo") as cluster:
        body = deployment("default", "web", replicas=4, container=copy.deepcopy(WEB))
        body["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
        cluster.store.create(r.DEPLOYMENTS, body)
        await cluster.advance(20)
        first_sets = {rs["metadata"]["name"] for rs in cluster.store.list_objects(r.REPLICASETS, "default")}

        def change(obj: Obj) -> None:
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27.3"

        cluster.store.mutate(r.DEPLOYMENTS, "default", "web", change)
        seen_max_pods = 0
        seen_min_available = 4
        for _ in range(60):
            await cluster.advance(1)
            pods = pods_of(cluster, "default", "web")
            seen_max_pods = max(seen_max_pods, len(pods))
            seen_min_available = min(seen_min_available, sum(1 for p in pods if is_pod_ready(p)))
        sets = {rs["metadata"]["name"]: rs for rs in cluster.store.list_objects(r.REPLICASETS, "default")}
        new_sets = set(sets) - first_sets
        assert len(new_sets) == 1
        new = sets[new_sets.pop()]
        assert new["spec"]["replicas"] == 4
        assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        assert all(sets[name]["spec"]["replicas"] == 0 for name in first_sets)
        pods = pods_of(cluster, "default", "web")
        assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.27.3"}
        assert seen_max_pods == 5  # replicas + maxSurge, never more
        assert seen_min_available == 3  # replicas - maxUnavailable, never fewer
        status = cluster.store.require(r.DEPLOYMENTS, "default", "web")["status"]
        assert status["observedGeneration"] == 2
        assert status["updatedReplicas"] == 4


async def test_deleting_a_deployment_collects_its_replicasets_and_pods() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.DEPLOYMENTS, deployment("default", "web", replicas=2, container=copy.deepcopy(WEB)))
        await cluster.advance(10)
        assert len(pods_of(cluster, "default", "web")) == 2
        cluster.store.delete(r.DEPLOYMENTS, "default", "web")
        await cluster.advance(1)
        assert cluster.store.list_objects(r.REPLICASETS, "default") == []
        assert pods_of(cluster, "default", "web") == []


async def test_statefulset_pods_are_ordinal() -> None:
    async with running_cluster("demo") as cluster:
        pods = sorted(p["metadata"]["name"] for p in pods_of(cluster, "k8s-optimizer", "") if p)
        backend = [
            p["metadata"]["name"]
            for p in cluster.store.list_objects(r.PODS, "k8s-optimizer")
            if p["metadata"]["name"].startswith("optimizer-backend-")
        ]
        assert backend == ["optimizer-backend-0", "optimizer-backend-1"], pods
        status = cluster.store.require(r.STATEFULSETS, "k8s-optimizer", "optimizer-backend")["status"]
        assert (status["replicas"], status["readyReplicas"]) == (2, 2)
