"""The kubelet's `/metrics/cadvisor` and `/metrics/resource`, as Prometheus scrapes them through the API server.

Why: a Prometheus-backed optimizer (and KRR, OpenCost, the VPA recommender) reads CPU and memory history
from these two endpoints, so their series must carry exactly the labels a v1.31 kubelet with containerd and
the systemd cgroup driver (what kind runs) gives them. cAdvisor answers one row per cgroup: the node root
(`id="/"`), each pod's cgroup (`container=""`), each pod's sandbox (`container="POD"`, the pause image) and
each container — so a query that forgets `container!=""` or `container!="POD"` counts a pod twice, as on a
real cluster. The resource endpoint has container, pod and node rows without cgroup labels. Values are the
load model's latest 15-second sample, the timestamp is that sample's, and memory equals what metrics.k8s.io
serves for the same instant (the pause sandbox adds `PAUSE_MEMORY_BYTES` to the pod cgroup only).
"""

from __future__ import annotations

import zlib

from k8s_optimizer.domain.quantities import MIB
from k8s_sim import resources as r
from k8s_sim.controllers.base import Key
from k8s_sim.load import LoadModel, Reading
from k8s_sim.metrics import NODE_SYSTEM_MEMORY_BYTES
from k8s_sim.scrape.counters import CounterBank
from k8s_sim.scrape.exposition import Family, labels_of
from k8s_sim.store import Obj, ObjectStore

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
PAUSE_MEMORY_BYTES = MIB // 2  # the sandbox's own working set; it uses no measurable CPU
CPU_HELP = "Cumulative cpu time consumed in seconds."
MEMORY_HELP = "Current working set in bytes."


def cri_image(image: str) -> str:
    """The image reference containerd reports: docker.io/library/ for bare names, docker.io/ for user ones,
    `:latest` when neither a tag nor a digest is given."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    if not rest:
        image = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":
        image = f"docker.io/{image}"
    if "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
        image += ":latest"
    return image


def sandbox_id(uid: str) -> str:
    return "".join(f"{zlib.crc32(f'{uid}/sandbox/{n}'.encode()):08x}" for n in range(8))


def pod_cgroup(uid: str, qos_class: str) -> str:
    """The pod's cgroup under the systemd driver: kubepods.slice/[kubepods-<qos>.slice/]kubepods-[<qos>-]pod<uid>."""
    escaped = uid.replace("-", "_")
    if qos_class == "Guaranteed":
        return f"/kubepods.slice/kubepods-pod{escaped}.slice"
    qos = "besteffort" if qos_class == "BestEffort" else "burstable"
    return f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{escaped}.slice"


def container_cgroup(pod_path: str, container_id: str) -> str:
    return f"{pod_path}/cri-containerd-{container_id}.scope"


class KubeletMetrics:
    """Renders one node's kubelet endpoints from the load model's latest sample and the counter bank."""

    def __init__(self, store: ObjectStore, load: LoadModel, bank: CounterBank) -> None:
        self.store = store
        self.load = load
        self.bank = bank
        # pods by node for the current sample: a scrape of each of 100 nodes must not walk 10,000 pods
        self._index_key: tuple[float | None, int, int] = (None, 0, -1)
        self._by_node: dict[str, list[Key]] = {}

    def _timestamp_ms(self) -> int | None:
        sampled = self.load.sample_seconds
        return None if sampled is None else round(sampled * 1000)

    def _node_keys(self, node: str) -> list[Key]:
        readings = self.load.readings
        index_key = (self.load.sample_seconds, id(readings), len(readings))
        if index_key != self._index_key:
            by_node: dict[str, list[Key]] = {}
            for key in sorted(readings):
                entry = self.load.pods.get(key)
                if entry is not None:
                    by_node.setdefault(entry.node, []).append(key)
            self._index_key, self._by_node = index_key, by_node
        return self._by_node.get(node, [])

    def _node_pods(self, node: str) -> list[tuple[Key, Obj, dict[str, Reading]]]:
        rows = []
        for key in self._node_keys(node):
            readings = self.load.readings.get(key)
            pod = self.store.get(r.PODS, *key)
            if pod is None or not readings:
                continue
            rows.append((key, pod, readings))
        return rows

    def node_memory_bytes(self, pods: list[tuple[Key, Obj, dict[str, Reading]]]) -> int:
        return sum(x.memory_bytes for _, _, readings in pods for x in readings.values()) + NODE_SYSTEM_MEMORY_BYTES

    def cadvisor(self, node: str) -> list[Family]:
        cpu = Family("container_cpu_usage_seconds_total", "counter", CPU_HELP)
        memory = Family("container_memory_working_set_bytes", "gauge", MEMORY_HELP)
        stamp = self._timestamp_ms()
        pods = self._node_pods(node)
        if stamp is not None:
            root = {"container": "", "id": "/", "image": "", "name": "", "namespace": "", "pod": ""}
            cpu.add(labels_of(**root, cpu="total"), self.bank.node_cpu_seconds.get(node, 0.0), stamp)
            memory.add(labels_of(**root), self.node_memory_bytes(pods), stamp)
        for key, pod, readings in pods:
            self._pod_rows(key, pod, readings, cpu, memory, stamp)
        return [cpu, memory]

    def _pod_rows(
        self, key: Key, pod: Obj, readings: dict[str, Reading], cpu: Family, memory: Family, stamp: int | None
    ) -> None:
        namespace, name = key
        uid = str(pod["metadata"].get("uid", ""))
        path = pod_cgroup(uid, str(pod.get("status", {}).get("qosClass", "Burstable")))
        pod_labels = {"container": "", "id": path, "image": "", "name": "", "namespace": namespace, "pod": name}
        cpu.add(labels_of(**pod_labels, cpu="total"), self.bank.pod_cpu_seconds.get(key, 0.0), stamp)
        pod_memory = sum(x.memory_bytes for x in readings.values()) + PAUSE_MEMORY_BYTES
        memory.add(labels_of(**pod_labels), pod_memory, stamp)
        sandbox = sandbox_id(uid)
        pause = {
            "container": "POD",
            "id": container_cgroup(path, sandbox),
            "image": PAUSE_IMAGE,
            "name": sandbox,
            "namespace": namespace,
            "pod": name,
        }
        cpu.add(labels_of(**pause, cpu="total"), 0.0, stamp)
        memory.add(labels_of(**pause), PAUSE_MEMORY_BYTES, stamp)
        images = {c["name"]: str(c.get("image", "")) for c in pod["spec"].get("containers") or ()}
        for container, reading in readings.items():
            counter = self.bank.containers.get((key, container))
            if counter is None:
                continue
            labels = {
                "container": container,
                "id": container_cgroup(path, counter.container_id),
                "image": cri_image(images.get(container, "")),
                "name": counter.container_id,
                "namespace": namespace,
                "pod": name,
            }
            cpu.add(labels_of(**labels, cpu="total"), counter.cpu_seconds, stamp)
            memory.add(labels_of(**labels), reading.memory_bytes, stamp)

    def resource(self, node: str) -> list[Family]:
        stamp = self._timestamp_ms()
        families = {
            "cpu": Family(
                "container_cpu_usage_seconds_total",
                "counter",
                "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
            ),
            "memory": Family(
                "container_memory_working_set_bytes", "gauge", "[STABLE] Current working set of the container in bytes"
            ),
            "start": Family(
                "container_start_time_seconds",
                "gauge",
                "[STABLE] Start time of the container since unix epoch in seconds",
            ),
            "node_cpu": Family(
                "node_cpu_usage_seconds_total",
                "counter",
                "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
            ),
            "node_memory": Family(
                "node_memory_working_set_bytes", "gauge", "[STABLE] Current working set of the node in bytes"
            ),
            "pod_cpu": Family(
                "pod_cpu_usage_seconds_total",
                "counter",
                "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
            ),
            "pod_memory": Family(
                "pod_memory_working_set_bytes", "gauge", "[STABLE] Current working set of the pod in bytes"
            ),
            "error": Family(
                "resource_scrape_error",
                "gauge",
                "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
            ),
        }
        pods = self._node_pods(node)
        for key, _, readings in pods:
            self._resource_pod_rows(key, readings, families, stamp)
        if stamp is not None:
            families["node_cpu"].add((), self.bank.node_cpu_seconds.get(node, 0.0), stamp)
            families["node_memory"].add((), self.node_memory_bytes(pods), stamp)
        families["error"].add((), 0)
        return list(families.values())

    def _resource_pod_rows(
        self, key: Key, readings: dict[str, Reading], families: dict[str, Family], stamp: int | None
    ) -> None:
        namespace, name = key
        runtime = self.bank.kubelet.pods.get(key)
        starts = {c.name: c.started_at for c in runtime.containers} if runtime is not None else {}
        for container, reading in readings.items():
            counter = self.bank.containers.get((key, container))
            labels = labels_of(container=container, namespace=namespace, pod=name)
            families["cpu"].add(labels, counter.cpu_seconds if counter else 0.0, stamp)
            families["memory"].add(labels, reading.memory_bytes, stamp)
            started = starts.get(container)
            if started is not None:
                families["start"].add(labels, float(int(started)), stamp)
        pod_labels = labels_of(namespace=namespace, pod=name)
        families["pod_cpu"].add(pod_labels, self.bank.pod_cpu_seconds.get(key, 0.0), stamp)
        pod_memory = sum(x.memory_bytes for x in readings.values()) + PAUSE_MEMORY_BYTES
        families["pod_memory"].add(pod_labels, pod_memory, stamp)
