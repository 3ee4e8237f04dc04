"""EmbeddedCluster: every object it writes is complete enough for kubernetes_asyncio's models; status/advance."""

from __future__ import annotations

import time

import pytest
from kubernetes_asyncio import client

from k8s_sim import resources as r
from k8s_sim.cluster import EmbeddedCluster
from tests.sim.embedded import running_cluster

MODELS = {
    "Namespace": "V1Namespace",
    "Node": "V1Node",
    "Pod": "V1Pod",
    "Service": "V1Service",
    "Endpoints": "V1Endpoints",
    "Event": "CoreV1Event",
    "ConfigMap": "V1ConfigMap",
    "ServiceAccount": "V1ServiceAccount",
    "EndpointSlice": "V1EndpointSlice",
    "Deployment": "V1Deployment",
    "ReplicaSet": "V1ReplicaSet",
    "StatefulSet": "V1StatefulSet",
    "DaemonSet": "V1DaemonSet",
    "HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
    "PodDisruptionBudget": "V1PodDisruptionBudget",
    "Lease": "V1Lease",
    "NetworkPolicy": "V1NetworkPolicy",
    "ClusterRole": "V1ClusterRole",
    "ClusterRoleBinding": "V1ClusterRoleBinding",
    "Role": "V1Role",
    "RoleBinding": "V1RoleBinding",
    "StorageClass": "V1StorageClass",
    "PriorityClass": "V1PriorityClass",
    "Secret": "V1Secret",
    "Job": "V1Job",
    "CronJob": "V1CronJob",
    "PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "PersistentVolume": "V1PersistentVolume",
    "ResourceQuota": "V1ResourceQuota",
    "LimitRange": "V1LimitRange",
    "ReplicationController": "V1ReplicationController",
    "Ingress": "V1Ingress",
    "IngressClass": "V1IngressClass",
}


@pytest.mark.parametrize("scenario", ["demo", "broken"])
async def test_objects_deserialize_into_kubernetes_asyncio_models(scenario: str) -> None:
    async with running_cluster(scenario) as cluster, client.ApiClient() as api:
        await cluster.advance(60)
        checked = 0
        for rt in r.ALL:
            if rt.group == "metrics.k8s.io":
                continue
            for obj in cluster.store.list_objects(rt):
                model = api._ApiClient__deserialize(obj, MODELS[rt.kind])
                assert model.metadata.name == obj["metadata"]["name"]
                checked += 1
        assert checked > 100


def test_unknown_scenario_is_rejected() -> None:
    with pytest.raises(ValueError, match="scenario must be one of demo, scale, broken"):
        EmbeddedCluster(scenario="nope", speed=1.0, seed=1)


async def test_advance_three_hours_is_fast_and_status_reports() -> None:
    async with running_cluster("demo") as cluster:
        before = cluster.clock.now_seconds()
        began = time.perf_counter()
        await cluster.advance(3 * 3600)
        assert time.perf_counter() - began < 20
        assert cluster.clock.now_seconds() - before >= 3 * 3600
        status = cluster.status()
        assert status["scenario"] == "demo"
        assert status["counts"]["nodes"] == 3
        assert status["runningPods"] == status["counts"]["pods"]
        assert status["oomKills"] >= 1  # memory-intensive-app crosses its limit in traffic bursts
