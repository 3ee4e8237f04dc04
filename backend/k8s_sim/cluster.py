"""EmbeddedCluster: the store, the controllers, the load model and metrics-server, in simulated time.

Why this exists: the API server (sim/server.py) only serves objects; this class makes them *behave*.
It registers every served type, installs admission, wires the controllers to the store's change feed
(listeners only mark work), builds the scenario through the store as a client would, and runs one
asyncio task that reconciles whatever is dirty or due. Everything happens in simulated time:

- `advance(seconds)` jumps the clock forward in steps of at most 15 s (stopping at every kubelet
  wake-up, metrics sample and HPA sync on the way), so pre-running hours of demo history leaves the
  same HPA decisions, restarts and metrics a live run would have produced — in a few seconds.
- the background task sleeps `clock.real_seconds(...)` until the next due time, or until a write wakes
  it, so at `--speed 1` a `kubectl scale` is reconciled within a couple of seconds.

The reconcile step (`tick`) is synchronous: controllers never interleave, which keeps runs deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from k8s_sim import resources as r
from k8s_sim.admission import Admission
from k8s_sim.clock import SimClock
from k8s_sim.controllers.base import Recorder
from k8s_sim.controllers.endpoints import EndpointsController
from k8s_sim.controllers.housekeeping import DisruptionController, GarbageCollector, NodeLifecycle
from k8s_sim.controllers.hpa import SYNC_SECONDS, HpaController
from k8s_sim.controllers.kubelet import Kubelet
from k8s_sim.controllers.scheduler import Scheduler
from k8s_sim.controllers.sets import DaemonSetController, StatefulSetController
from k8s_sim.controllers.workloads import DeploymentController, ReplicaSetController
from k8s_sim.load import SAMPLE_SECONDS, LoadModel
from k8s_sim.metrics import MetricsProvider
from k8s_sim.scenarios import broken, common, demo, rps_hpa, scale
from k8s_sim.scrape.source import ScrapeSource
from k8s_sim.store import ObjectStore, WatchEvent

log = logging.getLogger(__name__)
SCENARIOS = ("demo", "scale", "broken")
MAX_STEP_SECONDS = 15.0
SETTLE_SECONDS = 30.0
CALM_SECONDS = 3600.0  # no traffic bursts (so no OOM kills) in the first hour after start: a calm first look
RESYNC_SECONDS = 600.0  # every controller re-checks all its objects this often, as informers resync
_MAX_ROUNDS = 50  # reconcile rounds per tick; a chain Deployment → RS → Pod → bind → start needs ~6
_IDLE_REAL_SECONDS = 1.0


class EmbeddedCluster:
    def __init__(
        self,
        *,
        scenario: str,
        speed: float,
        seed: int,
        pods: int = 10_000,
        services: int = 2_000,
        start: datetime | None = None,
        pods_hpa: bool = False,
    ) -> None:
        """`start`: the simulated wall-clock time the cluster comes up at (default: now); fixed in tests.
        `pods_hpa`: add scenarios/rps_hpa.py's workload scaled by a Pods-metric HPA."""
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}")
        self.scenario = scenario
        self.seed = seed
        self.pod_target = pods
        self.service_target = services
        self.pods_hpa = pods_hpa
        # the clock starts SETTLE_SECONDS in the past and start() runs them, so the cluster comes up settled
        # (pods Running and Ready, first metrics sampled) with simulated time caught up to the wall clock
        self.clock = SimClock(speed=speed, start=(start or datetime.now(UTC)) - timedelta(seconds=SETTLE_SECONDS))
        self.store = ObjectStore(self.clock)
        for rt in r.ALL:
            self.store.register(rt)
        self.rng = random.Random(seed)
        self.admission = Admission(self.store)
        self.store.add_admission(self.admission)
        self.recorder = Recorder(self.store, self.clock, self.rng)
        self.gc = GarbageCollector(self.store)
        self.scheduler = Scheduler(self.store, self.recorder)
        self.kubelet = Kubelet(self.store, self.recorder)
        self.replicasets = ReplicaSetController(self.store, self.recorder, self.rng)
        self.deployments = DeploymentController(self.store, self.recorder, self.replicasets)
        self.statefulsets = StatefulSetController(self.store, self.recorder)
        self.daemonsets = DaemonSetController(self.store, self.recorder, self.scheduler, self.rng)
        self.endpoints = EndpointsController(self.store)
        self.load = LoadModel(self.store, self.kubelet, seed)
        self.hpa = HpaController(self.store, self.recorder, self.load)
        self.nodes = NodeLifecycle(self.store)
        self.disruption = DisruptionController(self.store)
        self.metrics = MetricsProvider(self.store, self.clock, self.load)
        self.scrape = ScrapeSource(self.store, self.load, self.kubelet)  # kubelet/KSM/pod /metrics for Prometheus
        self.store.add_listener(self._on_event)
        self._wake = asyncio.Event() if _has_loop() else None
        self._task: asyncio.Task[None] | None = None
        self._next_sample = 0.0
        self._next_hpa = 0.0
        self._next_resync = 0.0
        self._started = False
        self._stopping = False
        self.startup_seconds = 0.0
        self.ticks = 0

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Build the scenario through the store, settle it, then run the controllers in the background."""
        began = time.perf_counter()
        self._build()
        now = self.clock.now_seconds()
        self._next_sample = _align(now, SAMPLE_SECONDS)
        # HPA syncs fall mid-way between metric samples and never on the last instant of the settling
        # period, so a freshly started cluster has no pod still ContainerCreating from a last-moment rescale
        self._next_hpa = now + SYNC_SECONDS / 2
        self._next_resync = now + RESYNC_SECONDS
        self.load.origin_seconds = now
        self.load.calm_until_seconds = now + SETTLE_SECONDS + CALM_SECONDS
        self.tick()
        self.load.sample(self._next_sample)
        self._next_sample += SAMPLE_SECONDS
        await self.advance(SETTLE_SECONDS)
        self._started = True
        self.startup_seconds = time.perf_counter() - began
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="embedded-cluster")
        log.info("embedded cluster %s ready in %.2fs: %s", self.scenario, self.startup_seconds, self.status()["counts"])

    async def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _build(self) -> None:
        nodes = scale.scale_nodes(self.pod_target) if self.scenario == "scale" else common.demo_nodes()
        common.create_nodes(self.store, nodes)
        control_plane = nodes[0]
        common.create_system(self.store, control_plane.name, control_plane.ip)
        if self.scenario == "demo":
            demo.apply_objects(self.store, demo.demo_objects())
        elif self.scenario == "broken":
            broken.create(self.store)
        else:
            scale.create(self.store, nodes, pods=self.pod_target, services=self.service_target, rng=self.rng)
        if self.pods_hpa:
            demo.apply_objects(self.store, rps_hpa.objects())

    # -- the reconcile loop --------------------------------------------------------------------------------
    def _on_event(self, event: WatchEvent) -> None:
        if self._wake is not None and event.resource is not r.EVENTS and event.resource is not r.LEASES:
            self._wake.set()

    def tick(self) -> None:
        """Reconcile everything dirty or due at the current simulated time, until nothing changes."""
        self.ticks += 1
        now = self.clock.now_seconds()
        controllers = (
            self.gc,
            self.deployments,
            self.replicasets,
            self.statefulsets,
            self.daemonsets,
            self.scheduler,
            self.kubelet,
            self.endpoints,
        )
        for _ in range(_MAX_ROUNDS):
            progressed = False
            for controller in controllers:
                progressed |= controller.run(now)
            if not progressed:
                break
        self._periodic(now)

    def _periodic(self, now: float) -> None:
        if now >= self._next_resync:
            self._next_resync = now + RESYNC_SECONDS
            self._resync()
        if now >= self._next_sample:
            sampled_at = _align(now, SAMPLE_SECONDS)
            self.load.sample(sampled_at)
            self._next_sample = sampled_at + SAMPLE_SECONDS
        if now >= self._next_hpa:
            self._next_hpa = now + SYNC_SECONDS
            if self.hpa.run(now):
                self.tick_controllers_only(now)
        self.nodes.run(now)
        self.disruption.run(now)
        self.recorder.expire(now)

    def _resync(self) -> None:
        """Mark every owner dirty, so a missed change can never leave an object unreconciled for long."""
        for controller, rt in (
            (self.deployments, r.DEPLOYMENTS),
            (self.replicasets, r.REPLICASETS),
            (self.statefulsets, r.STATEFULSETS),
            (self.daemonsets, r.DAEMONSETS),
            (self.endpoints, r.SERVICES),
        ):
            controller.dirty.update(self.store.sorted_keys(rt))

    def tick_controllers_only(self, now: float) -> None:
        """After an HPA rescale: let the workload controllers react at the same instant."""
        for _ in range(_MAX_ROUNDS):
            progressed = False
            for controller in (
                self.deployments,
                self.replicasets,
                self.statefulsets,
                self.scheduler,
                self.kubelet,
                self.endpoints,
            ):
                progressed |= controller.run(now)
            if not progressed:
                break

    def next_due(self) -> float:
        candidates = [self._next_sample, self._next_hpa, self.nodes.next_due()]
        wakeup = self.kubelet.next_wakeup()
        if wakeup is not None:
            candidates.append(wakeup)
        return min(candidates)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:  # a flag as well as cancel(): never hang stop() on a swallowed cancellation
            self._wake.clear()
            try:
                self.tick()
            except Exception:
                log.exception("embedded cluster: reconcile failed")
            delay = self.clock.real_seconds(max(self.next_due() - self.clock.now_seconds(), 0.0))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(max(delay, 0.005), _IDLE_REAL_SECONDS)):
                    await self._wake.wait()

    async def advance(self, seconds: float) -> None:
        """Jump simulated time forward, stepping ≤15 s and stopping at every due time on the way."""
        target = self.clock.now_seconds() + max(seconds, 0.0)
        self.tick()  # what was written before the jump is reconciled at the time it was written
        steps = 0
        while True:
            now = self.clock.now_seconds()
            if now >= target:
                break
            step_to = min(target, now + MAX_STEP_SECONDS, max(self.next_due(), now + 0.001))
            self.clock.advance(step_to - now)
            self.tick()
            steps += 1
            if steps % 200 == 0:
                await asyncio.sleep(0)  # let the API server answer requests during long pre-runs
        self.tick()

    def _busiest_workloads(self) -> dict[str, float]:
        """Current requests/s of the 25 busiest workloads (the scale scenario has thousands)."""
        return _top_rps(self.load.workload_rps, 25)

    # -- control -------------------------------------------------------------------------------------------
    def set_load(self, namespace: str, name: str, *, enabled: bool, rps: float | None = None) -> None:
        self.load.set_load(namespace, name, enabled=enabled, rps=rps)
        if self._wake is not None:
            self._wake.set()

    def status(self) -> dict[str, Any]:
        counts = {
            rt.plural if not rt.group else f"{rt.plural}.{rt.group}": self.store.count(rt)
            for rt in r.ALL
            if rt.group != "metrics.k8s.io"
        }
        running = sum(1 for p in self.kubelet.pods.values() if any(c.state == "running" for c in p.containers))
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "speed": self.clock.speed,
            "simTime": self.clock.rfc3339(),
            "simSeconds": self.clock.now_seconds(),
            "startupSeconds": round(self.startup_seconds, 3),
            "counts": {key: value for key, value in counts.items() if value},
            "runningPods": running,
            "oomKills": self.load.oom_kills,
            "metricsSampledAt": self.metrics.summary()["sampledAt"],
            "load": self._busiest_workloads(),
        }


def _top_rps(workload_rps: dict[tuple[str, str], float], limit: int) -> dict[str, float]:
    busiest = sorted(((rps, key) for key, rps in workload_rps.items() if rps > 0), reverse=True)[:limit]
    return {f"{ns}/{name}": round(rps, 3) for rps, (ns, name) in sorted(busiest, key=lambda item: item[1])}


def _align(seconds: float, period: float) -> float:
    return (seconds // period) * period


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
