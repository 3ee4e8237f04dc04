"""metrics-server: PodMetrics/NodeMetrics shapes, 15 s window, sample timestamps."""

from __future__ import annotations

import re

from k8s_sim.controllers.base import parse_time
from tests.sim.embedded import running_cluster


async def test_pod_and_node_metrics() -> None:
    async with running_cluster("demo") as cluster:
        await cluster.advance(20)
        pods = cluster.metrics.pod_metrics("k8s-optimizer")
        assert {m["metadata"]["namespace"] for m in pods} == {"k8s-optimizer"}
        metric = cluster.metrics.pod_metric("k8s-optimizer", "load-gen")
        assert metric is not None
        assert metric["kind"] == "PodMetrics"
        assert metric["apiVersion"] == "metrics.k8s.io/v1beta1"
        assert metric["window"] == "15s"
        assert metric["metadata"]["labels"]["app"] == "load-gen"
        stamp = parse_time(metric["timestamp"])
        assert stamp is not None
        assert stamp % 15 == 0
        assert stamp <= cluster.clock.now_seconds() < stamp + 15
        (container,) = metric["containers"]
        assert container["name"] == "load-gen"
        assert re.fullmatch(r"\d+n", container["usage"]["cpu"])
        assert re.fullmatch(r"\d+Ki", container["usage"]["memory"])
        nodes = cluster.metrics.node_metrics()
        assert [n["metadata"]["name"] for n in nodes] == [
            "k8s-optimizer-control-plane",
            "k8s-optimizer-worker",
            "k8s-optimizer-worker2",
        ]
        assert cluster.metrics.node_metric("k8s-optimizer-worker") == nodes[1]
        assert cluster.metrics.pod_metric("k8s-optimizer", "missing") is None
