"""The caches converge after the API server comes back with lower resourceVersions (issue 14, finding 7).

The reproduction is the finding's: the embedded cluster is stopped and started again at the same URL,
its store empty and its resourceVersions starting over. Before the fix the new cluster accepted the
informers' watches from their old (now future) resourceVersions, no relist ever happened, and the pods
of the first cluster stayed in the caches for good.
"""

from __future__ import annotations

import json

from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.dashboard_servers import free_port
from tests.live.conftest import eventually, fast_backoff
from tests.simcluster import SimCluster

GHOSTS = """
apiVersion: v1
kind: Namespace
metadata: {name: ghosts}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ghost, namespace: ghosts}
spec:
  replicas: 12
  selector: {matchLabels: {app: ghost}}
  template:
    metadata: {labels: {app: ghost}}
    spec:
      containers: [{name: app, image: nginx:1.27, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
"""


def _kubectl_pods(sim: SimCluster) -> set[tuple[str, str]]:
    items = json.loads(sim.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    return {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in items}


def _cached_pods(model: ClusterModel) -> set[tuple[str, str]]:
    return {(p.namespace, p.name) for p in model.snapshot().pods.values()}


async def test_caches_converge_after_the_cluster_restarts_with_lower_resource_versions() -> None:
    port = free_port()
    first = SimCluster.start(scenario="demo", speed=1.0, port=port)
    model = ClusterModel(Settings(kubeconfig=first.kubeconfig), backoff_factory=fast_backoff)
    second: SimCluster | None = None
    try:
        await model.start()
        assert await model.wait_synced(15.0), model.health()
        applied = first.kubectl("apply", "-f", "-", stdin=GHOSTS)
        assert applied.returncode == 0, applied.stderr
        await eventually(lambda: sum(ns == "ghosts" for ns, _ in _cached_pods(model)) == 12, 15.0, "ghost pods cached")
        first.stop()

        second = SimCluster.start(scenario="demo", speed=1.0, port=port)  # same URL, history starts over
        expected = _kubectl_pods(second)
        assert not any(ns == "ghosts" for ns, _ in expected)
        await eventually(lambda: _cached_pods(model) == _kubectl_pods(second), 20.0, "caches equal the new cluster")
        relisted = {informer.name: informer.list_count for informer in model.informers}
        assert relisted["Pod"] >= 2  # the Pod informer listed the new cluster again
    finally:
        await model.stop()
        first.stop()
        if second is not None:
            second.stop()
