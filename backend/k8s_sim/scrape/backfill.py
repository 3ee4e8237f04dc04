"""`k8s-optimizer sim --backfill-days N --openmetrics-out FILE`: weeks of past history for the live cluster.

Why: a Prometheus-backed optimizer answers from weeks of history on its first pass, and tests and the demo
need those weeks without waiting for them. The load model is a pure function of (seed, workload, pod,
time), so the past of every pod that is running now can be computed: its workload's traffic (diurnal
curve, bursts, noise, load generators) split over the workload's ready pods as they are now, each
container's CPU (throttled at its limit) and memory (capped at its limit: the kernel never lets a working
set exceed it). The file holds the series a Prometheus scraping the cluster with `promconfig`'s jobs would
hold — cAdvisor CPU and memory rows (node root, pod cgroup, sandbox, containers), each pod's
`http_requests_total` and kube-state-metrics' series as they are now — with the same target labels, as
OpenMetrics for `promtool tsdb create-blocks-from openmetrics`. Counters are integrals of one model sample
per step, and the live counters are then set to continue from the values the history ends with, so the
written past and the live scrape are one monotonic series per container.

The writer streams: one workload's traffic and one pod's containers at a time (the memory and request
families go to side files appended afterwards, as a family's lines must not interleave), so what it holds
is a few lists per pod plus two per node, however many pods and days are written.
"""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from k8s_sim import resources as r
from k8s_sim.controllers.base import Key
from k8s_sim.load import SAMPLE_SECONDS, Model, PodEntry
from k8s_sim.metrics import NODE_SYSTEM_CPU_NANOCORES, NODE_SYSTEM_MEMORY_BYTES
from k8s_sim.scrape.counters import ContainerCounter
from k8s_sim.scrape.exposition import MetricType, escape, format_value, openmetrics_header
from k8s_sim.scrape.kubelet import (
    CPU_HELP,
    MEMORY_HELP,
    PAUSE_IMAGE,
    PAUSE_MEMORY_BYTES,
    container_cgroup,
    cri_image,
    pod_cgroup,
    sandbox_id,
)
from k8s_sim.scrape.promconfig import cadvisor_target, ksm_target, pod_target
from k8s_sim.scrape.source import ScrapeSource
from k8s_sim.scrape.traffic import REQUESTS_HELP, service_of
from k8s_sim.store import Obj

DEFAULT_STEP_SECONDS = 60
# what --backfill-series may name: "containers" is cAdvisor's container rows only (no node, pod or sandbox
# rows), a third of "cadvisor" for stores that only ever query container!="" series
GROUPS = ("cadvisor", "containers", "http", "state")
DEFAULT_GROUPS = ("cadvisor", "http", "state")


@dataclass(slots=True)
class BackfillStats:
    start_seconds: float = 0.0
    end_seconds: float = 0.0  # the live sample the history leads up to (not written: the live scrape has it)
    series: int = 0
    samples: int = 0
    bytes: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _Pod:
    key: Key
    entry: PodEntry
    obj: Obj
    ready: bool
    container_ids: dict[str, str]
    started: dict[str, float]
    target: dict[str, str]  # the cAdvisor job's target labels for the pod's node


@dataclass(slots=True)
class _Totals:
    """Per-step sums the pod and node rows need, filled while the containers stream out."""

    node_cpu: dict[str, list[float]] = field(default_factory=dict)
    node_memory: dict[str, list[float]] = field(default_factory=dict)
    seeds: dict[tuple[Key, str], float] = field(default_factory=dict)  # (pod, container) → last counter value
    pod_cpu_seeds: dict[Key, float] = field(default_factory=dict)
    node_cpu_seeds: dict[str, float] = field(default_factory=dict)


def _series_prefix(name: str, labels: dict[str, str]) -> str:
    """`name{labels} ` with empty labels dropped, as a scrape stores them."""
    text = ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items()) if v)
    return f"{name}{{{text}}} " if text else f"{name} "


class _Writer:
    def __init__(self, out: IO[str], stamps: list[str], stats: BackfillStats) -> None:
        self.out = out
        self.stamps = stamps  # " <seconds>\n" per written step
        self.stats = stats

    def header(self, name: str, metric_type: MetricType, help_text: str) -> None:
        self.out.write(openmetrics_header(name, metric_type, help_text))

    def series(self, name: str, labels: dict[str, str], values: list[float], *, integer: bool = False) -> None:
        prefix = _series_prefix(name, labels)
        if integer:  # byte counts: no fraction, and much faster than format_value
            text = "".join([f"{prefix}{int(v)}{s}" for v, s in zip(values, self.stamps, strict=False)])
        else:
            text = "".join([f"{prefix}{format_value(v)}{s}" for v, s in zip(values, self.stamps, strict=False)])
        self.out.write(text)
        self.stats.series += 1
        self.stats.samples += len(self.stamps)


class Backfill:
    def __init__(
        self,
        source: ScrapeSource,
        *,
        days: float,
        step_seconds: int = DEFAULT_STEP_SECONDS,
        groups: tuple[str, ...] = DEFAULT_GROUPS,
        state_step_seconds: int | None = None,
    ) -> None:
        if days <= 0 or step_seconds <= 0:
            raise ValueError("backfill days and step must be positive")
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"unknown backfill series {', '.join(unknown)}: choose from {', '.join(GROUPS)}")
        self.groups = groups
        # kube-state-metrics' series are constant over the history: a multiple of the step may be enough
        self.state_every = max((state_step_seconds or step_seconds) // step_seconds, 1)
        if source.load.sample_seconds is None:
            raise ValueError("the cluster has no metrics sample yet: start it before backfilling")
        self.source = source
        self.store = source.store
        self.load = source.load
        self.step_seconds = step_seconds
        self.end = source.load.sample_seconds
        count = int(days * 86400 // step_seconds)
        # the written steps, then the live sample's instant (computed for the counter seeds, not written)
        self.times = [self.end - k * step_seconds for k in range(count, -1, -1)]
        self.window_start = self.times[0]

    # -- inputs --------------------------------------------------------------------------------------------
    def _pods(self) -> list[_Pod]:
        pods = []
        targets = {node["metadata"]["name"]: cadvisor_target(node).labels for node in self.store.list_objects(r.NODES)}
        for key, readings in sorted(self.load.readings.items()):
            entry, obj = self.load.pods.get(key), self.store.get(r.PODS, *key)
            runtime = self.source.bank.kubelet.pods.get(key)
            if entry is None or obj is None or runtime is None or not readings or entry.node not in targets:
                continue
            pods.append(
                _Pod(
                    key=key,
                    entry=entry,
                    obj=obj,
                    ready=runtime.ready,
                    container_ids=self.source.bank.container_ids(key),
                    started={c.name: c.started_at for c in runtime.containers if c.started_at is not None},
                    target=targets[entry.node],
                )
            )
        return pods

    def _by_workload(self, pods: list[_Pod]) -> dict[Key, list[_Pod]]:
        by_workload: dict[Key, list[_Pod]] = defaultdict(list)
        for pod in pods:
            by_workload[pod.entry.workload].append(pod)
        return by_workload

    def _drivers(self, by_workload: dict[Key, list[_Pod]]) -> dict[Key, list[Key]]:
        """Workload → the load generators (with a ready pod) that send it their traffic."""
        drivers: dict[Key, list[Key]] = defaultdict(list)
        for workload, members in by_workload.items():
            drives = self.load.effective_model(workload).drives
            if drives and any(p.ready for p in members):
                drivers[(workload[0], drives)].append(workload)
        return drivers

    def _workload_rps(self, workload: Key, drivers: list[Key]) -> list[float]:
        """Requests/s of a workload at every step: its own source plus its load generators'. Computed per
        workload when its pods are written, so no more than one such list is held at a time."""
        rps = [self.load.traffic(workload, self.load.effective_model(workload), t, calm=False) for t in self.times]
        for driver in drivers:
            model = self.load.effective_model(driver)
            driven = [self.load.traffic(driver, model, t, calm=False) for t in self.times]
            rps = [a + b for a, b in zip(rps, driven, strict=True)]
        return rps

    # -- the file ------------------------------------------------------------------------------------------
    def write(self, path: Path) -> BackfillStats:
        """cAdvisor CPU into `path`, memory and request counters into side files appended afterwards (a
        family's lines must not interleave with another's), then kube-state-metrics and `# EOF`."""
        began = time.perf_counter()
        stats = BackfillStats(start_seconds=self.times[0], end_seconds=self.end)
        stamps = [f" {int(t)}\n" for t in self.times[:-1]]
        totals = _Totals()
        requests: dict[Key, float] = {}
        cadvisor = "cadvisor" in self.groups or "containers" in self.groups
        sides = [path.with_name(f".{path.name}.{part}") for part in ("memory", "http")]
        with path.open("w") as out, sides[0].open("w+") as memory_out, sides[1].open("w+") as http_out:
            cpu, memory, http = (_Writer(f, stamps, stats) for f in (out, memory_out, http_out))
            if cadvisor:
                cpu.header("container_cpu_usage_seconds_total", "counter", CPU_HELP)
                memory.header("container_memory_working_set_bytes", "gauge", MEMORY_HELP)
            if "http" in self.groups:
                http.header("http_requests_total", "counter", REQUESTS_HELP)
            self._pods_series(cpu, memory, http, totals, requests)
            if "cadvisor" in self.groups:
                self._node_rows(cpu, memory, totals)
            for side in (memory_out, http_out):
                side.seek(0)
                shutil.copyfileobj(side, out)
            if "state" in self.groups:
                self._state(_Writer(out, _every(stamps, self.state_every), stats))
            out.write("# EOF\n")
        for side_path in sides:
            side_path.unlink()
        self._seed(totals, requests)
        stats.bytes = path.stat().st_size
        stats.seconds = time.perf_counter() - began
        return stats

    def _cadvisor_pod(self, pod: _Pod, shares: list[float], cpu: _Writer, memory: _Writer, totals: _Totals) -> None:
        namespace, name = pod.key
        uid = str(pod.obj["metadata"].get("uid", ""))
        path = pod_cgroup(uid, str(pod.obj.get("status", {}).get("qosClass", "Burstable")))
        model = self.load.effective_model(pod.entry.workload)
        images = {c["name"]: str(c.get("image", "")) for c in pod.obj["spec"].get("containers") or ()}
        pod_cpu = [0.0] * len(self.times)
        pod_memory = [float(PAUSE_MEMORY_BYTES)] * len(self.times)
        for index, shape in enumerate(pod.entry.containers):
            container_id = pod.container_ids.get(shape.name, "")
            if shape.name not in pod.started or not container_id:
                continue
            counter, usage = self._container(pod, index, model, shares)
            labels = {
                **pod.target,
                "container": shape.name,
                "id": container_cgroup(path, container_id),
                "image": cri_image(images.get(shape.name, "")),
                "name": container_id,
                "namespace": namespace,
                "pod": name,
            }
            cpu.series("container_cpu_usage_seconds_total", {**labels, "cpu": "total"}, counter)
            memory.series("container_memory_working_set_bytes", labels, usage, integer=True)
            totals.seeds[(pod.key, shape.name)] = counter[-1]
            pod_cpu = [a + b for a, b in zip(pod_cpu, counter, strict=True)]
            pod_memory = [a + b for a, b in zip(pod_memory, usage, strict=True)]
        if "cadvisor" not in self.groups:
            return
        pod_labels = {**pod.target, "id": path, "namespace": namespace, "pod": name}
        cpu.series("container_cpu_usage_seconds_total", {**pod_labels, "cpu": "total"}, pod_cpu)
        memory.series("container_memory_working_set_bytes", pod_labels, pod_memory, integer=True)
        totals.pod_cpu_seeds[pod.key] = pod_cpu[-1]
        sandbox = sandbox_id(uid)
        pause = {**pod_labels, "container": "POD", "id": container_cgroup(path, sandbox), "image": PAUSE_IMAGE}
        pause["name"] = sandbox
        cpu.series("container_cpu_usage_seconds_total", {**pause, "cpu": "total"}, [0.0] * len(self.times))
        pause_memory = [float(PAUSE_MEMORY_BYTES)] * len(self.times)
        memory.series("container_memory_working_set_bytes", pause, pause_memory, integer=True)
        node = pod.entry.node
        container_memory = [m - PAUSE_MEMORY_BYTES for m in pod_memory]
        for sums, values in ((totals.node_cpu, pod_cpu), (totals.node_memory, container_memory)):
            current = sums.get(node)
            sums[node] = list(values) if current is None else [a + b for a, b in zip(current, values, strict=True)]

    def _container(self, pod: _Pod, index: int, model: Model, shares: list[float]) -> tuple[list[float], list[float]]:
        """(CPU seconds counter, working-set bytes) of one container at every step."""
        shape = pod.entry.containers[index]
        started = pod.started[shape.name]
        limit = shape.memory_limit_bytes
        step = self.step_seconds
        counter: list[float] = []
        usage: list[float] = []
        total = 0.0
        usage_of = self.load.container_usage
        for t, share in zip(self.times, shares, strict=True):
            uptime = t - started if t >= started else t - self.window_start
            millicores, memory_bytes = usage_of(pod.entry, index, model, share, int(t // SAMPLE_SECONDS), uptime)
            total += max(millicores, 0.0) * step / 1000.0
            counter.append(total)
            usage.append(float(int(min(memory_bytes, limit) if limit is not None else memory_bytes)))
        return counter, usage

    def _node_rows(self, cpu: _Writer, memory: _Writer, totals: _Totals) -> None:
        system_cores = NODE_SYSTEM_CPU_NANOCORES / 1e9
        for node in self.store.list_objects(r.NODES):
            name = node["metadata"]["name"]
            labels = {**cadvisor_target(node).labels, "id": "/"}
            pods_cpu = totals.node_cpu.get(name, [0.0] * len(self.times))
            counter = [c + system_cores * self.step_seconds * (i + 1) for i, c in enumerate(pods_cpu)]
            cpu.series("container_cpu_usage_seconds_total", {**labels, "cpu": "total"}, counter)
            node_memory = [m + NODE_SYSTEM_MEMORY_BYTES for m in totals.node_memory.get(name, [0.0] * len(self.times))]
            memory.series("container_memory_working_set_bytes", labels, node_memory, integer=True)
            totals.node_cpu_seeds[name] = counter[-1]

    def _pods_series(
        self, cpu: _Writer, memory: _Writer, http: _Writer, totals: _Totals, requests: dict[Key, float]
    ) -> None:
        cadvisor = "cadvisor" in self.groups or "containers" in self.groups
        by_workload = self._by_workload(self._pods())
        drivers = self._drivers(by_workload)
        for workload, members in sorted(by_workload.items()):
            rps = self._workload_rps(workload, drivers.get(workload, []))
            ready = sum(1 for p in members if p.ready)
            for pod in members:
                shares = [x / ready for x in rps] if pod.ready and ready else [0.0] * len(rps)
                if cadvisor:
                    self._cadvisor_pod(pod, shares, cpu, memory, totals)
                if "http" in self.groups:
                    self._traffic_pod(pod, shares, http, requests)

    def _traffic_pod(self, pod: _Pod, shares: list[float], writer: _Writer, seeds: dict[Key, float]) -> None:
        service = service_of(self.store, pod.obj)
        target = pod_target(self.store, pod.obj, service=service) if service is not None else None
        if target is None or service is None:
            return
        total, counter = 0.0, []
        for share in shares:
            total += share * self.step_seconds
            counter.append(total)
        labels = {**target.labels, "namespace": pod.key[0], "pod": pod.key[1], "service": service}
        writer.series("http_requests_total", labels, counter)
        seeds[pod.key] = counter[-1]

    def _state(self, writer: _Writer) -> None:
        """kube-state-metrics' series as they are now, repeated at every step; of `kube_pod_status_phase`
        only the current phase (its four zero-valued siblings would be a third of the file)."""
        target = ksm_target(self.store)
        if target is None:
            return
        for family in self.source.state.families():
            samples = [s for s in family.samples if s.value or family.name != "kube_pod_status_phase"]
            if not samples:
                continue
            writer.header(family.name, family.type, family.help)
            for sample in samples:
                values = [sample.value] * len(writer.stamps)
                writer.series(family.name, {**target.labels, **dict(sample.labels)}, values)

    def _seed(self, totals: _Totals, requests: dict[Key, float]) -> None:
        """The live counters continue from the last values of the history."""
        bank = self.source.bank
        for (key, name), value in totals.seeds.items():
            bank.containers[(key, name)] = ContainerCounter(bank.container_ids(key).get(name, ""), value)
        for node, value in totals.node_cpu_seeds.items():
            bank.node_cpu_seconds[node] = value
        for key, value in totals.pod_cpu_seeds.items():
            bank.pod_cpu_seconds[key] = value
        for key, value in requests.items():
            bank.pod_requests[key] = value


def _every(stamps: list[str], every: int) -> list[str]:
    """Every `every`-th step, counted back from the last one (which is always kept)."""
    return stamps[(len(stamps) - 1) % every :: every] if stamps else stamps


def write_backfill(
    source: ScrapeSource,
    path: Path,
    *,
    days: float,
    step_seconds: int,
    groups: tuple[str, ...] = DEFAULT_GROUPS,
    state_step_seconds: int | None = None,
) -> BackfillStats:
    backfill = Backfill(
        source, days=days, step_seconds=step_seconds, groups=groups, state_step_seconds=state_step_seconds
    )
    return backfill.write(path)


__all__ = ["DEFAULT_GROUPS", "DEFAULT_STEP_SECONDS", "GROUPS", "Backfill", "BackfillStats", "write_backfill"]
