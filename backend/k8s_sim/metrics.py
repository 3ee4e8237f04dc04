"""metrics-server for the embedded cluster: metrics.k8s.io PodMetrics and NodeMetrics, computed on demand.

Like the real metrics-server, nothing is stored as an object: each read renders the load model's latest
15-second sample (`timestamp` = the sample's simulated time, `window` = 15s). Pods without a running
container have no metrics yet (the real one also omits them), CPU is written in nanocores ("123456n"),
memory in Ki, and a node's usage is the sum of its pods plus the node's own system overhead.
"""

from __future__ import annotations

import math
from typing import Any

from k8s_optimizer.domain.quantities import MIB
from k8s_sim import resources as r
from k8s_sim.clock import SimClock
from k8s_sim.load import LoadModel, Reading
from k8s_sim.store import Obj, ObjectStore

WINDOW = "15s"
NODE_SYSTEM_CPU_NANOCORES = 60_000_000  # kubelet + containerd + systemd slices
NODE_SYSTEM_MEMORY_BYTES = 380 * MIB


def format_cpu_nanocores(nanocores: int) -> str:
    return f"{nanocores}n"


def format_memory_ki(memory_bytes: int) -> str:
    return f"{math.ceil(memory_bytes / 1024)}Ki"


class MetricsProvider:
    def __init__(self, store: ObjectStore, clock: SimClock, load: LoadModel) -> None:
        self.store = store
        self.clock = clock
        self.load = load

    def _timestamp(self) -> str:
        sampled = self.load.sample_seconds
        return self.clock.rfc3339(sampled if sampled is not None else self.clock.now_seconds())

    def _pod_metric(self, namespace: str, name: str, readings: dict[str, Reading], timestamp: str) -> Obj | None:
        pod = self.store.get(r.PODS, namespace, name)
        if pod is None or not readings:
            return None
        order = [c["name"] for c in pod["spec"].get("containers") or ()]
        containers = [
            {
                "name": container,
                "usage": {
                    "cpu": format_cpu_nanocores(readings[container].cpu_nanocores),
                    "memory": format_memory_ki(readings[container].memory_bytes),
                },
            }
            for container in order
            if container in readings
        ]
        return {
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": self.clock.rfc3339(),
                "labels": dict(pod["metadata"].get("labels") or {}),
            },
            "timestamp": timestamp,
            "window": WINDOW,
            "containers": containers,
        }

    def pod_metrics(self, namespace: str | None) -> list[Obj]:
        timestamp = self._timestamp()
        items = []
        for (pod_namespace, name), readings in sorted(self.load.readings.items()):
            if namespace is not None and pod_namespace != namespace:
                continue
            metric = self._pod_metric(pod_namespace, name, readings, timestamp)
            if metric is not None:
                items.append(metric)
        return items

    def pod_metric(self, namespace: str, name: str) -> Obj | None:
        readings = self.load.readings.get((namespace, name))
        if readings is None:
            return None
        return self._pod_metric(namespace, name, readings, self._timestamp())

    def _node_usage(self) -> dict[str, tuple[int, int]]:
        usage: dict[str, tuple[int, int]] = {}
        for key, readings in self.load.readings.items():
            entry = self.load.pods.get(key)
            if entry is None:
                continue
            cpu, memory = usage.get(entry.node, (0, 0))
            usage[entry.node] = (
                cpu + sum(x.cpu_nanocores for x in readings.values()),
                memory + sum(x.memory_bytes for x in readings.values()),
            )
        return usage

    def _node_metric(self, node: Obj, usage: tuple[int, int], timestamp: str) -> Obj:
        return {
            "kind": "NodeMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {
                "name": node["metadata"]["name"],
                "creationTimestamp": self.clock.rfc3339(),
                "labels": dict(node["metadata"].get("labels") or {}),
            },
            "timestamp": timestamp,
            "window": WINDOW,
            "usage": {
                "cpu": format_cpu_nanocores(usage[0] + NODE_SYSTEM_CPU_NANOCORES),
                "memory": format_memory_ki(usage[1] + NODE_SYSTEM_MEMORY_BYTES),
            },
        }

    def node_metrics(self) -> list[Obj]:
        if self.load.sample_seconds is None:
            return []
        usage = self._node_usage()
        timestamp = self._timestamp()
        return [
            self._node_metric(node, usage.get(node["metadata"]["name"], (0, 0)), timestamp)
            for node in self.store.list_objects(r.NODES)
        ]

    def node_metric(self, name: str) -> Obj | None:
        node = self.store.get(r.NODES, "", name)
        if node is None or self.load.sample_seconds is None:
            return None
        return self._node_metric(node, self._node_usage().get(name, (0, 0)), self._timestamp())

    def summary(self) -> dict[str, Any]:
        return {"pods": len(self.load.readings), "sampledAt": self._timestamp()}
