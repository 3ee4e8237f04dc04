"""In-process EmbeddedCluster for the controller tests: fast, and time is ours to advance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from k8s_sim import resources as r
from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.store import Obj


@asynccontextmanager
async def running_cluster(scenario: str = "demo", *, seed: int = 1, **kwargs: Any) -> AsyncIterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(scenario=scenario, speed=1.0, seed=seed, **kwargs)
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


def pods_of(cluster: EmbeddedCluster, namespace: str, app: str) -> list[Obj]:
    return [
        pod
        for pod in cluster.store.list_objects(r.PODS, namespace)
        if (pod["metadata"].get("labels") or {}).get("app") == app
    ]


def events_for(cluster: EmbeddedCluster, name: str, reason: str | None = None) -> list[Obj]:
    return [
        event
        for event in cluster.store.list_objects(r.EVENTS)
        if event["involvedObject"]["name"] == name and (reason is None or event["reason"] == reason)
    ]


def deployment(
    namespace: str, name: str, *, replicas: int, container: Obj, annotations: dict[str, str] | None = None
) -> Obj:
    template: Obj = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}
    if annotations:
        template["metadata"]["annotations"] = annotations
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template},
    }
