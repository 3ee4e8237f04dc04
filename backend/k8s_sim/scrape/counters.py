"""The cumulative counters behind the scrape endpoints, integrated from the load model's 15-second samples.

Why: metrics.k8s.io serves a rate (the latest sample), but kubelets and applications expose counters that
Prometheus turns back into rates. Every load sample adds `usage × 15 s` to a container's, its pod's and its
node's CPU seconds and `rps × 15 s` to the pod's request count, so `rate(container_cpu_usage_seconds_total
[15s])` over two consecutive samples equals the sample metrics.k8s.io serves. A container's counter starts
again from zero when its container ID changes (a restart), as a new cgroup does; the pod and node cgroups
keep counting. The backfill writer sets these counters to the values its history ends with, so the history
it wrote and the live scrape form one monotonic series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from k8s_sim import resources as r
from k8s_sim.controllers.base import Key
from k8s_sim.controllers.kubelet import Kubelet
from k8s_sim.load import SAMPLE_SECONDS, LoadModel
from k8s_sim.metrics import NODE_SYSTEM_CPU_NANOCORES
from k8s_sim.store import ObjectStore

NANO = 1_000_000_000


@dataclass(slots=True)
class ContainerCounter:
    container_id: str
    cpu_seconds: float = 0.0


class CounterBank:
    def __init__(self, store: ObjectStore, load: LoadModel, kubelet: Kubelet) -> None:
        self.store = store
        self.load = load
        self.kubelet = kubelet
        self.containers: dict[tuple[Key, str], ContainerCounter] = {}
        self.pod_cpu_seconds: dict[Key, float] = defaultdict(float)
        self.node_cpu_seconds: dict[str, float] = defaultdict(float)
        self.pod_requests: dict[Key, float] = defaultdict(float)
        load.observers.append(self.on_sample)

    def container_ids(self, key: Key) -> dict[str, str]:
        runtime = self.kubelet.pods.get(key)
        if runtime is None:
            return {}
        return {c.name: c.container_id.removeprefix("containerd://") for c in runtime.containers}

    def on_sample(self, now_seconds: float) -> None:
        self._forget_deleted()
        node_nanocores: dict[str, int] = defaultdict(int)
        for key, readings in self.load.readings.items():
            entry = self.load.pods.get(key)
            if entry is None:
                continue
            ids = self.container_ids(key)
            pod_nanocores = 0
            for name, reading in readings.items():
                counter = self.containers.get((key, name))
                if counter is None or counter.container_id != ids.get(name, ""):
                    counter = self.containers[(key, name)] = ContainerCounter(ids.get(name, ""))
                counter.cpu_seconds += reading.cpu_nanocores * SAMPLE_SECONDS / NANO
                pod_nanocores += reading.cpu_nanocores
            self.pod_cpu_seconds[key] += pod_nanocores * SAMPLE_SECONDS / NANO
            node_nanocores[entry.node] += pod_nanocores
        for key, rps in self.load.pod_rps.items():
            self.pod_requests[key] += rps * SAMPLE_SECONDS
        for _, node in self.store.sorted_keys(r.NODES):
            total = node_nanocores.get(node, 0) + NODE_SYSTEM_CPU_NANOCORES
            self.node_cpu_seconds[node] += total * SAMPLE_SECONDS / NANO

    def _forget_deleted(self) -> None:
        live = self.load.pods
        for key in [k for k in self.pod_cpu_seconds if k not in live]:
            del self.pod_cpu_seconds[key]
            self.pod_requests.pop(key, None)
        for pair in [p for p in self.containers if p[0] not in live]:
            del self.containers[pair]
