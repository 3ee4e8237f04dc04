"""The load model: realistic, deterministic CPU and memory usage for every running container.

Why this exists: the optimizer's numbers (right-sizing, HPA tuning, anomalies) are only as credible as
the usage behind them. Each workload (Deployment, StatefulSet, DaemonSet or bare Pod) has a traffic
source — requests/s over simulated time = baseline × diurnal curve × bursts × noise, plus the traffic of
any load generator that drives it — and per-request costs. A workload's traffic is split over its READY
pods only, so when the HPA adds replicas the per-pod usage drops, exactly the feedback a real cluster has.
CPU is capped at the container's CPU limit (throttling); memory above the limit gets the container
OOMKilled by the kubelet. Everything is a pure function of (seed, workload, pod, time), so two runs
with the same seed produce the same readings.

The model is set by annotations on the pod template (or bare pod); all are optional:

| annotation (prefix `sim.k8s-optimizer.io/`) | meaning | default |
|---|---|---|
| `rps` | baseline requests/s of the workload | 0 |
| `load` | `on` / `off`: switch the traffic source | on |
| `cpu-per-request-millicores` | CPU per request/s | 1 |
| `cpu-baseline-millicores` | idle CPU per pod | 10 % of the CPU request, else 5 |
| `cpu-demand-millicores` | constant CPU demand per pod (CPU-bound work) | 0 |
| `memory-baseline-mib` | memory per pod at rest | 40 % of the memory request, else 20 |
| `memory-per-request-kib` | working set per request/s on the pod | 0 |
| `memory-leak-mib-per-hour` | growth since the container started | 0 |
| `diurnal-amplitude` | 0..1, daily swing of the traffic (trough at midnight UTC) | 0.3 |
| `burst-factor` | traffic multiplier during a burst | 1 (no bursts) |
| `burst-probability` | chance that a 10-minute slot is a burst | 0.1 |
| `noise` | relative noise of traffic and CPU | 0.1 |
| `drives` | name of a workload in the same namespace this one sends its traffic to | — |
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from k8s_optimizer.domain.quantities import MIB, parse_cpu_millicores, parse_memory_bytes
from k8s_sim import resources as r
from k8s_sim.controllers.base import Key, controller_of, key_of
from k8s_sim.controllers.kubelet import Kubelet
from k8s_sim.controllers.workloads import HASH_LABEL
from k8s_sim.store import Obj, ObjectStore, WatchEvent

PREFIX = "sim.k8s-optimizer.io/"
SAMPLE_SECONDS = 15.0  # metrics-server --metric-resolution
BURST_SLOT_SECONDS = 600.0  # a burst lasts one 10-minute slot
SIDECAR_CPU_MILLICORES = 2.0
SIDECAR_MEMORY_BYTES = 8 * MIB


@dataclass(frozen=True, slots=True)
class Model:
    rps: float = 0.0
    enabled: bool = True
    cpu_per_request_millicores: float = 1.0
    cpu_baseline_millicores: float | None = None  # None: from the request
    cpu_demand_millicores: float = 0.0
    memory_baseline_bytes: float | None = None
    memory_per_request_bytes: float = 0.0
    memory_leak_bytes_per_hour: float = 0.0
    diurnal_amplitude: float = 0.3
    burst_factor: float = 1.0
    burst_probability: float = 0.1
    noise: float = 0.1
    drives: str = ""


_FLOAT_FIELDS: dict[str, tuple[str, float]] = {
    "rps": ("rps", 1.0),
    "cpu-per-request-millicores": ("cpu_per_request_millicores", 1.0),
    "cpu-baseline-millicores": ("cpu_baseline_millicores", 1.0),
    "cpu-demand-millicores": ("cpu_demand_millicores", 1.0),
    "memory-baseline-mib": ("memory_baseline_bytes", float(MIB)),
    "memory-per-request-kib": ("memory_per_request_bytes", 1024.0),
    "memory-leak-mib-per-hour": ("memory_leak_bytes_per_hour", float(MIB)),
    "diurnal-amplitude": ("diurnal_amplitude", 1.0),
    "burst-factor": ("burst_factor", 1.0),
    "burst-probability": ("burst_probability", 1.0),
    "noise": ("noise", 1.0),
}


def model_from_annotations(annotations: dict[str, str]) -> Model:
    """Parse the `sim.k8s-optimizer.io/*` annotations; malformed values fall back to the defaults."""
    values: dict[str, float | bool | str] = {}
    for suffix, (attribute, scale) in _FLOAT_FIELDS.items():
        raw = annotations.get(PREFIX + suffix)
        if raw is None:
            continue
        try:
            values[attribute] = float(raw) * scale
        except ValueError:
            continue
    if annotations.get(PREFIX + "load", "on").lower() in ("off", "false", "0"):
        values["enabled"] = False
    if annotations.get(PREFIX + "drives"):
        values["drives"] = annotations[PREFIX + "drives"]
    return Model(**values)  # type: ignore[arg-type]


_MASK64 = 2**64 - 1


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts: crc32 (fast, stable across processes, unlike hash())
    then the splitmix64 finaliser, because crc32 alone maps neighbouring inputs to correlated values."""
    return mix01(zlib.crc32("\x1f".join(str(p) for p in parts).encode()), 0)


def mix01(base: int, step: int) -> float:
    """splitmix64 of (base, step) in [0, 1): the per-sample noise without building strings (10,000 pods)."""
    x = (base * 0x100000001B3 + step + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) / 2**64


@dataclass(slots=True)
class ContainerShape:
    name: str
    cpu_request_millicores: int | None
    cpu_limit_millicores: int | None
    memory_request_bytes: int | None
    memory_limit_bytes: int | None


@dataclass(slots=True)
class PodEntry:
    key: Key
    workload: Key
    node: str
    containers: list[ContainerShape]
    labels: dict[str, str] = field(default_factory=dict)
    noise_bases: tuple[int, ...] = ()  # per container: crc32 of (seed, pod, container, purpose), computed once


def workload_of(pod: Obj) -> Key:
    """(namespace, workload name): the Deployment behind a ReplicaSet, the set's name, or the pod itself."""
    namespace, name = key_of(pod)
    owner = controller_of(pod)
    if owner is None:
        return (namespace, name)
    owner_name = str(owner.get("name", name))
    pod_hash = (pod["metadata"].get("labels") or {}).get(HASH_LABEL)
    if owner.get("kind") == "ReplicaSet" and pod_hash and owner_name.endswith(f"-{pod_hash}"):
        return (namespace, owner_name[: -len(pod_hash) - 1])
    return (namespace, owner_name)


def _shape(container: Obj) -> ContainerShape:
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    return ContainerShape(
        name=container["name"],
        cpu_request_millicores=parse_cpu_millicores(requests["cpu"]) if "cpu" in requests else None,
        cpu_limit_millicores=parse_cpu_millicores(limits["cpu"]) if "cpu" in limits else None,
        memory_request_bytes=parse_memory_bytes(requests["memory"]) if "memory" in requests else None,
        memory_limit_bytes=parse_memory_bytes(limits["memory"]) if "memory" in limits else None,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    cpu_nanocores: int
    memory_bytes: int


class LoadModel:
    """Per-pod usage every 15 simulated seconds (see the module docstring for the model)."""

    def __init__(self, store: ObjectStore, kubelet: Kubelet, seed: int) -> None:
        self.store = store
        self.kubelet = kubelet
        self.seed = seed
        self.models: dict[Key, Model] = {}
        self.overrides: dict[Key, tuple[bool, float | None]] = {}
        self.pods: dict[Key, PodEntry] = {}
        self.readings: dict[Key, dict[str, Reading]] = {}
        self.sample_seconds: float | None = None
        self.workload_rps: dict[Key, float] = {}
        self.pod_rps: dict[Key, float] = {}  # requests/s each pod served in the latest sample
        # called after every sample with its time: the scrape endpoints' counters integrate the readings
        self.observers: list[Callable[[float], None]] = []
        self.oom_kills = 0
        # no bursts before this time: a freshly started demo shows a calm cluster first (all pods Running)
        self.calm_until_seconds = 0.0
        # burst slots count from here (the cluster's start), so a seed gives the same bursts on every run
        self.origin_seconds = 0.0
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource != r.PODS:
            return
        key = key_of(event.object)
        if event.type == "DELETED":
            self.pods.pop(key, None)
            self.readings.pop(key, None)
            self.pod_rps.pop(key, None)
            return
        pod = event.object
        if key in self.pods or not pod.get("spec", {}).get("nodeName"):
            return
        workload = workload_of(pod)
        containers = [_shape(c) for c in pod["spec"].get("containers") or ()]
        self.pods[key] = PodEntry(
            key=key,
            workload=workload,
            node=pod["spec"]["nodeName"],
            containers=containers,
            labels=dict(pod["metadata"].get("labels") or {}),
            noise_bases=tuple(
                zlib.crc32(f"{self.seed}/{key[0]}/{key[1]}/{shape.name}/{purpose}".encode())
                for shape in containers
                for purpose in ("cpu", "mem")
            ),
        )
        self.models[workload] = model_from_annotations(pod["metadata"].get("annotations") or {})

    # -- control -------------------------------------------------------------------------------------------
    def set_load(self, namespace: str, name: str, *, enabled: bool, rps: float | None = None) -> None:
        """Switch a workload's traffic source on/off and optionally set its baseline rps (KeyError if unknown)."""
        key = (namespace, name)
        if key not in self.models:
            raise KeyError(f"{namespace}/{name}")
        self.overrides[key] = (enabled, rps)

    def effective_model(self, workload: Key) -> Model:
        model = self.models.get(workload, Model())
        override = self.overrides.get(workload)
        if override is None:
            return model
        enabled, rps = override
        return replace(model, enabled=enabled, rps=model.rps if rps is None else rps)

    # -- sampling ------------------------------------------------------------------------------------------
    def traffic(self, workload: Key, model: Model, now_seconds: float, *, calm: bool = True) -> float:
        """Requests/s of a workload's own source at `now_seconds`; `calm=False` ignores the calm first hour
        (the backfilled past of a cluster had bursts too)."""
        if not model.enabled or model.rps <= 0:
            return 0.0
        day_fraction = (now_seconds % 86400.0) / 86400.0
        diurnal = 1.0 + model.diurnal_amplitude * math.sin(2 * math.pi * day_fraction - math.pi / 2)
        slot = int((now_seconds - self.origin_seconds) // BURST_SLOT_SECONDS)
        bursting = (not calm or now_seconds >= self.calm_until_seconds) and (
            unit_hash(self.seed, *workload, "burst", slot) < model.burst_probability
        )
        burst = model.burst_factor if bursting else 1.0
        step = int(now_seconds // SAMPLE_SECONDS)
        noise = 1.0 + model.noise * (2 * unit_hash(self.seed, *workload, "rps", step) - 1)
        return max(model.rps * diurnal * burst * noise, 0.0)

    def sample(self, now_seconds: float) -> None:
        """Compute every running container's usage at `now_seconds`; OOM-kill those over their limit."""
        by_workload: dict[Key, list[PodEntry]] = defaultdict(list)
        ready: dict[Key, int] = defaultdict(int)
        states: dict[Key, tuple[bool, set[str]]] = {}
        for key, entry in self.pods.items():
            runtime = self.kubelet.pods.get(key)
            if runtime is None:
                continue
            running = {c.name for c in runtime.containers if c.state == "running"}
            if not running:
                continue
            states[key] = (runtime.ready, running)
            by_workload[entry.workload].append(entry)
            ready[entry.workload] += int(runtime.ready)
        rps = self._workload_rps(by_workload, ready, now_seconds)
        self.workload_rps = rps
        readings: dict[Key, dict[str, Reading]] = {}
        pod_rps: dict[Key, float] = {}
        kills: list[tuple[Key, str]] = []
        for workload, entries in by_workload.items():
            model = self.effective_model(workload)
            share = rps.get(workload, 0.0) / ready[workload] if ready[workload] else 0.0
            for entry in entries:
                is_ready, running = states[entry.key]
                pod_rps[entry.key] = share if is_ready else 0.0
                readings[entry.key] = self._pod_reading(entry, model, pod_rps[entry.key], running, now_seconds, kills)
        self.readings = readings
        self.pod_rps = pod_rps
        self.sample_seconds = now_seconds
        for key, container in kills:
            if self.kubelet.kill(key, container):
                self.oom_kills += 1
                self.readings.get(key, {}).pop(container, None)
        for observer in self.observers:
            observer(now_seconds)

    def _workload_rps(
        self, by_workload: dict[Key, list[PodEntry]], ready: dict[Key, int], now: float
    ) -> dict[Key, float]:
        rps = {workload: self.traffic(workload, self.effective_model(workload), now) for workload in by_workload}
        for workload in by_workload:
            model = self.effective_model(workload)
            if model.drives and ready[workload]:
                target = (workload[0], model.drives)
                rps[target] = rps.get(target, 0.0) + rps[workload]
        return rps

    def _pod_reading(
        self,
        entry: PodEntry,
        model: Model,
        share_rps: float,
        running: set[str],
        now: float,
        kills: list[tuple[Key, str]],
    ) -> dict[str, Reading]:
        step = int(now // SAMPLE_SECONDS)
        result: dict[str, Reading] = {}
        started = self._container_starts(entry.key)
        for index, shape in enumerate(entry.containers):
            if shape.name not in running:
                continue
            uptime = now - started.get(shape.name, now)
            cpu, memory = self.container_usage(entry, index, model, share_rps, step, uptime)
            if shape.memory_limit_bytes is not None and memory > shape.memory_limit_bytes:
                kills.append((entry.key, shape.name))
            result[shape.name] = Reading(int(max(cpu, 0.0) * 1_000_000), int(memory))
        return result

    def container_usage(
        self, entry: PodEntry, index: int, model: Model, share_rps: float, step: int, uptime_seconds: float
    ) -> tuple[float, float]:
        """(CPU millicores, memory bytes) of one container in sample `step` (time // 15 s), throttled at
        the CPU limit but not capped at the memory limit (the caller decides what going over means)."""
        shape = entry.containers[index]
        noise = 1.0 + model.noise * (2 * mix01(entry.noise_bases[2 * index], step) - 1)
        if index == 0:
            cpu, memory = self._main_usage(shape, model, share_rps, uptime_seconds)
        else:
            cpu, memory = SIDECAR_CPU_MILLICORES, float(SIDECAR_MEMORY_BYTES)
        cpu *= noise
        if shape.cpu_limit_millicores is not None:
            cpu = min(cpu, float(shape.cpu_limit_millicores))  # CFS throttling
        memory *= 1.0 + 0.02 * (2 * mix01(entry.noise_bases[2 * index + 1], step) - 1)
        return cpu, memory

    @staticmethod
    def _main_usage(
        shape: ContainerShape, model: Model, share_rps: float, uptime_seconds: float
    ) -> tuple[float, float]:
        cpu_base = model.cpu_baseline_millicores
        if cpu_base is None:
            cpu_base = shape.cpu_request_millicores * 0.1 if shape.cpu_request_millicores else 5.0
        memory_base = model.memory_baseline_bytes
        if memory_base is None:
            memory_base = shape.memory_request_bytes * 0.4 if shape.memory_request_bytes else 20.0 * MIB
        cpu = cpu_base + model.cpu_demand_millicores + share_rps * model.cpu_per_request_millicores
        memory = memory_base + share_rps * model.memory_per_request_bytes
        memory += model.memory_leak_bytes_per_hour * max(uptime_seconds, 0.0) / 3600.0
        return cpu, memory

    def _container_starts(self, key: Key) -> dict[str, float]:
        runtime = self.kubelet.pods.get(key)
        if runtime is None:
            return {}
        return {c.name: c.started_at for c in runtime.containers if c.started_at is not None}
