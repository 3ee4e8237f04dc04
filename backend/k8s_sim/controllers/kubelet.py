"""The kubelets of every node: pod lifecycle, IPs, readiness, restarts, OOM kills and back-off.

A bound pod goes Pending (ContainerCreating) → Running one simulated second later with an IP from its
node's pod CIDR; it turns Ready after its readiness probe's initialDelaySeconds. Containers die when the
load model says their memory exceeded the limit (OOMKilled, exit 137) or when a `sim.k8s-optimizer.io/
exit-after-seconds` annotation says the process exits (Error, exit 1); each death bumps restartCount,
records lastState.terminated and restarts with the kubelet's crash back-off: the first crash after a
clean run restarts at once, the next ones wait 10 s doubling to 300 s in CrashLoopBackOff (reset after
10 minutes of clean running).

Work is driven by a wake-up heap keyed by pod, so 10,000 idle pods cost nothing per step.
"""

from __future__ import annotations

import heapq
import ipaddress
import math
import zlib
from dataclasses import dataclass, field

from k8s_sim import resources as r
from k8s_sim.controllers import kubelet_checks as checks
from k8s_sim.controllers.base import Key, Recorder, key_of, parse_time, set_condition
from k8s_sim.store import Obj, ObjectStore, WatchEvent

ANNOTATION_PREFIX = "sim.k8s-optimizer.io/"
READINESS_ANNOTATION = ANNOTATION_PREFIX + "readiness"  # "fail": the readiness probe never succeeds
EXIT_AFTER_ANNOTATION = ANNOTATION_PREFIX + "exit-after-seconds"  # the main container exits with code 1
COMPLETE_AFTER_ANNOTATION = ANNOTATION_PREFIX + "complete-after-seconds"  # the main container exits 0
JOB_POD_SECONDS = 5.0  # a Job's pod without the annotation runs this long, then succeeds
CONTAINER_START_SECONDS = 1.0  # sandbox + image already present: Running one second after binding
BACKOFF_INITIAL_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 300.0
BACKOFF_RESET_SECONDS = 600.0  # a container that ran this long starts its back-off afresh


@dataclass(slots=True)
class ContainerRuntime:
    name: str
    image: str
    probe_delay_seconds: float | None  # readinessProbe.initialDelaySeconds; None: no probe
    container_id: str = ""
    state: str = "waiting"  # waiting | running
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    started_at: float | None = None
    restart_count: int = 0
    backoff_exponent: int = 0  # 0: the next crash restarts at once (no back-off entry yet, as in the kubelet)
    backoff_until: float = 0.0
    last_terminated: Obj | None = None
    terminated: Obj | None = None  # set when the container ran to its end and is not restarted
    pull_attempts: int = 0


@dataclass(slots=True)
class PodRuntime:
    key: Key
    uid: str
    node: str
    containers: list[ContainerRuntime]
    readiness_fails: bool = False
    exit_after_seconds: float | None = None
    complete_after_seconds: float | None = None  # the main container exits 0 after this long
    restart_policy: str = "Always"
    ip: str = ""
    start_seconds: float | None = None
    ready: bool = False
    ready_since: float | None = None
    generation: int = 0  # bumps on every state change; stale wake-ups are dropped
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message) to record


def _image_id(image: str) -> str:
    digest = f"{zlib.crc32(image.encode()):08x}" * 8
    repository = image.split(":", 1)[0] if "@" not in image else image.split("@", 1)[0]
    if "/" not in repository:
        repository = f"docker.io/library/{repository}"
    elif repository.count("/") == 1 and "." not in repository.split("/", 1)[0]:
        repository = f"docker.io/{repository}"
    return f"{repository}@sha256:{digest}"


class Kubelet:
    def __init__(self, store: ObjectStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self.pods: dict[Key, PodRuntime] = {}
        self._wakeups: list[tuple[float, int, Key, int]] = []  # (due, seq, pod, generation)
        self._seq = 0
        self._new: set[Key] = set()
        self._node_cidrs: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
        self._used_ips: dict[str, set[str]] = {}
        self.unpullable: frozenset[str] = frozenset()  # image patterns whose pulls fail (a scenario knob)
        store.add_listener(self._on_event)

    # -- change feed ---------------------------------------------------------------------------------------
    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == r.NODES and event.type != "DELETED":
            cidr = event.object.get("spec", {}).get("podCIDR")
            if cidr:
                self._node_cidrs[event.object["metadata"]["name"]] = ipaddress.ip_network(cidr)
            return
        if event.resource != r.PODS:
            return
        key = key_of(event.object)
        if event.type == "DELETED":
            runtime = self.pods.pop(key, None)
            if runtime is not None and runtime.ip:
                self._used_ips.get(runtime.node, set()).discard(runtime.ip)
            self._new.discard(key)
            return
        if key not in self.pods and event.object.get("spec", {}).get("nodeName"):
            self._new.add(key)

    def next_wakeup(self) -> float | None:
        return self._wakeups[0][0] if self._wakeups else None

    def _wake(self, runtime: PodRuntime, due: float) -> None:
        self._seq += 1
        heapq.heappush(self._wakeups, (due, self._seq, runtime.key, runtime.generation))

    # -- reconcile -----------------------------------------------------------------------------------------
    def run(self, now_seconds: float) -> bool:
        wrote = False
        for key in sorted(self._new):
            wrote |= self._admit(key, now_seconds)
        self._new.clear()
        while self._wakeups and self._wakeups[0][0] <= now_seconds:
            _, _, key, generation = heapq.heappop(self._wakeups)
            runtime = self.pods.get(key)
            if runtime is not None and runtime.generation == generation:
                self._advance(runtime, now_seconds)
                wrote = True
        return wrote

    def _admit(self, key: Key, now_seconds: float) -> bool:
        pod = self.store.get(r.PODS, *key)
        if pod is None or key in self.pods:
            return False
        runtime = self._runtime_for(pod)
        self.pods[key] = runtime
        status = pod.get("status", {})
        if status.get("phase") == "Running" and status.get("podIP"):
            self._adopt(runtime, pod)  # created in its final state (scale scenario, static pods)
            return False
        if status.get("phase") in ("Succeeded", "Failed"):
            return False
        runtime.ip = self._node_ip(runtime.node) if pod["spec"].get("hostNetwork") else self._allocate_ip(runtime.node)
        runtime.start_seconds = now_seconds
        runtime.generation += 1
        self._wake(runtime, now_seconds + CONTAINER_START_SECONDS)
        self._write(runtime)
        return True

    def _runtime_for(self, pod: Obj) -> PodRuntime:
        annotations = pod["metadata"].get("annotations") or {}
        containers = []
        for container in pod["spec"].get("containers") or ():
            probe = container.get("readinessProbe")
            delay = float(probe.get("initialDelaySeconds", 0)) if probe else None
            containers.append(ContainerRuntime(container["name"], container.get("image", ""), delay))
        exit_after = annotations.get(EXIT_AFTER_ANNOTATION)
        complete_after = annotations.get(COMPLETE_AFTER_ANNOTATION)
        owner_kind = next((ref.get("kind") for ref in pod["metadata"].get("ownerReferences") or ()), None)
        if complete_after is None and owner_kind == "Job":
            complete_after = str(JOB_POD_SECONDS)
        return PodRuntime(
            complete_after_seconds=float(complete_after) if complete_after else None,
            restart_policy=str(pod["spec"].get("restartPolicy", "Always")),
            key=key_of(pod),
            uid=pod["metadata"].get("uid", ""),
            node=pod["spec"]["nodeName"],
            containers=containers,
            readiness_fails=annotations.get(READINESS_ANNOTATION) == "fail",
            exit_after_seconds=float(exit_after) if exit_after else None,
        )

    def _adopt(self, runtime: PodRuntime, pod: Obj) -> None:
        status = pod["status"]
        runtime.ip = status["podIP"]
        self._used_ips.setdefault(runtime.node, set()).add(runtime.ip)
        runtime.start_seconds = parse_time(status.get("startTime"))
        by_name = {s["name"]: s for s in status.get("containerStatuses") or ()}
        for container in runtime.containers:
            seen = by_name.get(container.name, {})
            running = (seen.get("state") or {}).get("running")
            container.container_id = seen.get("containerID", "")
            container.restart_count = int(seen.get("restartCount", 0))
            if running is not None:
                container.state = "running"
                container.started_at = parse_time(running.get("startedAt"))
        ready = [c for c in status.get("conditions") or () if c.get("type") == "Ready"]
        runtime.ready = bool(ready) and ready[0].get("status") == "True"
        runtime.ready_since = parse_time(ready[0].get("lastTransitionTime")) if ready else None

    def _allocate_ip(self, node: str) -> str:
        cidr = self._node_cidrs.get(node)
        used = self._used_ips.setdefault(node, set())
        if cidr is None:
            return ""
        for host in cidr.hosts():
            text = str(host)
            if host.packed[-1] >= 2 and text not in used:  # .1 is the node's bridge
                used.add(text)
                return text
        return ""

    # -- the state machine ---------------------------------------------------------------------------------
    def _advance(self, runtime: PodRuntime, now: float) -> None:
        for container in runtime.containers:
            if container.state == "waiting" and container.waiting_reason in _STARTABLE:
                self._start_container(runtime, container, now)
        self._maybe_exit(runtime, now)
        self._update_readiness(runtime, now)
        self._schedule_next(runtime, now)
        self._write(runtime)

    def _start_container(self, runtime: PodRuntime, container: ContainerRuntime, now: float) -> None:
        if (
            container.waiting_reason == "CrashLoopBackOff"
            and container.waiting_message
            and now < self._backoff_until(container)
        ):
            return
        if container.waiting_reason != "CrashLoopBackOff" and self._blocked(runtime, container, now):
            return
        first = not container.container_id
        container.state = "running"
        container.started_at = now
        container.waiting_reason = container.waiting_message = ""
        seed = f"{runtime.uid}/{container.name}/{container.restart_count}".encode()
        container.container_id = "containerd://" + f"{zlib.crc32(seed):08x}" * 8
        if first:
            runtime.events.append(
                ("Normal", "Pulled", f'Container image "{container.image}" already present on machine')
            )
        runtime.events.append(("Normal", "Created", f"Created container: {container.name}"))
        runtime.events.append(("Normal", "Started", f"Started container {container.name}"))

    def _blocked(self, runtime: PodRuntime, container: ContainerRuntime, now: float) -> bool:
        """A missing volume source, an unpullable image or a missing env reference (kubelet_checks)."""
        if container.backoff_until > now and container.waiting_reason in checks.BLOCKING_REASONS:
            return True
        pod = self.store.get(r.PODS, *runtime.key)
        if pod is None:
            return True
        spec: Obj = next((c for c in pod["spec"].get("containers") or () if c.get("name") == container.name), {})
        retry = checks.RETRY_SECONDS
        blocker = checks.mount_blocker(self.store, pod)
        if blocker is None and checks.is_unpullable(container.image, self.unpullable):
            blocker = checks.pull_blocker(container.image, container.pull_attempts)
            container.pull_attempts += 1
            retry = checks.pull_backoff_seconds(container.pull_attempts)
        if blocker is None:
            blocker = checks.config_blocker(self.store, pod, spec)
        if blocker is None:
            return False
        if blocker.reason:
            container.waiting_reason, container.waiting_message = blocker.reason, blocker.message
        container.backoff_until = now + retry
        runtime.events.extend(blocker.events)
        return True

    def _complete(self, runtime: PodRuntime, container: ContainerRuntime, now: float, reason: str, code: int) -> None:
        """The container ran to its end and is not restarted (restartPolicy Never, or OnFailure with exit 0)."""
        container.state = "terminated"
        container.terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": self.store.clock.rfc3339(container.started_at or now),
            "finishedAt": self.store.clock.rfc3339(now),
            "containerID": container.container_id,
        }

    @staticmethod
    def _backoff_until(container: ContainerRuntime) -> float:
        return container.backoff_until

    def _maybe_exit(self, runtime: PodRuntime, now: float) -> None:
        main = runtime.containers[0] if runtime.containers else None
        done = runtime.complete_after_seconds
        started = main.started_at if main is not None and main.state == "running" else None
        if done is not None and started is not None and now >= started + done:
            for container in runtime.containers:
                if container.state == "running":
                    self._complete(runtime, container, now, "Completed", 0)
            return
        if runtime.exit_after_seconds is None or main is None:
            return
        if (
            main.state == "running"
            and main.started_at is not None
            and now >= main.started_at + runtime.exit_after_seconds
        ):
            self._terminate(runtime, main, now, "Error", 1)

    def _update_readiness(self, runtime: PodRuntime, now: float) -> None:
        ready = bool(runtime.containers) and all(self._container_ready(runtime, c, now) for c in runtime.containers)
        if ready != runtime.ready:
            runtime.ready = ready
            runtime.ready_since = now
        if runtime.readiness_fails and any(c.state == "running" for c in runtime.containers):
            message = "Readiness probe failed: HTTP probe failed with statuscode: 503"
            runtime.events.append(("Warning", "Unhealthy", message))

    def _container_ready(self, runtime: PodRuntime, container: ContainerRuntime, now: float) -> bool:
        if container.state != "running" or container.started_at is None:
            return False
        if container.probe_delay_seconds is None:
            return True
        if runtime.readiness_fails:
            return False
        return now >= container.started_at + container.probe_delay_seconds

    def _schedule_next(self, runtime: PodRuntime, now: float) -> None:
        runtime.generation += 1
        due = [self._container_due(runtime, container) for container in runtime.containers]
        main = runtime.containers[0] if runtime.containers else None
        if runtime.exit_after_seconds is not None and main and main.state == "running" and main.started_at is not None:
            due.append(main.started_at + runtime.exit_after_seconds)
        if runtime.complete_after_seconds is not None and main and main.state == "running" and main.started_at:
            due.append(main.started_at + runtime.complete_after_seconds)
        if runtime.readiness_fails:
            due.append(now + 300.0)  # the failing probe keeps reporting (the Unhealthy event's count grows)
        future = [t for t in due if t > now]
        if future:
            self._wake(runtime, min(future))

    def _container_due(self, runtime: PodRuntime, container: ContainerRuntime) -> float:
        """When this container next needs the kubelet: end of back-off, or its readiness delay (-inf: never)."""
        if container.state == "waiting" and container.waiting_reason == "CrashLoopBackOff":
            return self._backoff_until(container)
        if container.state == "waiting" and container.waiting_reason in _STARTABLE and container.backoff_until:
            return container.backoff_until  # a blocked start is retried
        waiting_for_probe = not runtime.ready and container.probe_delay_seconds and not runtime.readiness_fails
        if container.state == "running" and container.started_at is not None and waiting_for_probe:
            return container.started_at + float(container.probe_delay_seconds or 0.0)
        return -math.inf

    def _terminate(self, runtime: PodRuntime, container: ContainerRuntime, now: float, reason: str, code: int) -> None:
        if runtime.restart_policy == "Never":
            self._complete(runtime, container, now, reason, code)
            return
        ran = now - (container.started_at or now)
        container.backoff_exponent = 0 if ran >= BACKOFF_RESET_SECONDS else container.backoff_exponent
        container.last_terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": self.store.clock.rfc3339(container.started_at or now),
            "finishedAt": self.store.clock.rfc3339(now),
            "containerID": container.container_id,
        }
        container.restart_count += 1
        backoff = _backoff_seconds(container.backoff_exponent)
        container.backoff_exponent += 1
        pod_name = f"{runtime.key[1]}_{runtime.key[0]}({runtime.uid})"
        if backoff == 0:  # the first crash after a clean run: restarted at once, no CrashLoopBackOff
            container.waiting_reason = "Restarting"
            self._start_container(runtime, container, now)
            return
        container.backoff_until = now + backoff
        container.state = "waiting"
        container.waiting_reason = "CrashLoopBackOff"
        container.waiting_message = (
            f"back-off {int(backoff)}s restarting failed container={container.name} pod={pod_name}"
        )
        container.started_at = None
        message = f"Back-off restarting failed container {container.name} in pod {pod_name}"
        runtime.events.append(("Warning", "BackOff", message))

    def kill(self, key: Key, container_name: str, *, reason: str = "OOMKilled", exit_code: int = 137) -> bool:
        """Called by the load model when a container's memory exceeded its limit."""
        runtime = self.pods.get(key)
        if runtime is None:
            return False
        now = self.store.clock.now_seconds()
        for container in runtime.containers:
            if container.name == container_name and container.state == "running":
                self._terminate(runtime, container, now, reason, exit_code)
                if reason == "OOMKilled":
                    self._record_node_oom(runtime, container)
                self._update_readiness(runtime, now)
                self._schedule_next(runtime, now)
                self._write(runtime)
                return True
        return False

    def _record_node_oom(self, runtime: PodRuntime, container: ContainerRuntime) -> None:
        node = self.store.get(r.NODES, "", runtime.node)
        if node is not None:
            pid = zlib.crc32(f"{runtime.uid}{container.restart_count}".encode()) % 60000 + 1000
            message = f"System OOM encountered, victim process: {container.name}, pid: {pid}"
            self.recorder.record(node, "Warning", "SystemOOM", message, "kubelet", runtime.node)

    # -- status --------------------------------------------------------------------------------------------
    def _write(self, runtime: PodRuntime) -> None:
        clock = self.store.clock
        node_ip = self._node_ip(runtime.node)

        def change(pod: Obj) -> None:
            status = pod.setdefault("status", {})
            started = any(c.started_at is not None or c.restart_count for c in runtime.containers)
            status["phase"] = _phase(runtime, started)
            status["hostIP"] = node_ip
            status["hostIPs"] = [{"ip": node_ip}]
            if started and runtime.ip:
                status["podIP"] = runtime.ip
                status["podIPs"] = [{"ip": runtime.ip}]
            status["startTime"] = clock.rfc3339(runtime.start_seconds)
            conditions = status.setdefault("conditions", [])
            self._conditions(conditions, runtime, started)
            status["containerStatuses"] = [self._container_status(c, runtime.ready) for c in runtime.containers]

        pod = self.store.mutate(r.PODS, runtime.key[0], runtime.key[1], change)
        if pod is not None:
            for type_, reason, message in runtime.events:
                self.recorder.record(pod, type_, reason, message, "kubelet", runtime.node)
        runtime.events.clear()

    def _conditions(self, conditions: list[Obj], runtime: PodRuntime, started: bool) -> None:
        clock = self.store.clock
        now_text = clock.rfc3339()
        ready_text = clock.rfc3339(runtime.ready_since) if runtime.ready_since is not None else now_text
        not_ready = [c.name for c in runtime.containers if c.state != "running"] or [runtime.containers[0].name]
        values = {
            "PodReadyToStartContainers": {"status": "True" if started or runtime.ip else "False"},
            "Initialized": {"status": "True"},
            "Ready": {"status": "True" if runtime.ready else "False"},
            "ContainersReady": {"status": "True" if runtime.ready else "False"},
        }
        for kind, value in values.items():
            new: Obj = {"type": kind, **value, "lastProbeTime": None}
            if kind in ("Ready", "ContainersReady") and not runtime.ready:
                new["reason"] = "ContainersNotReady"
                new["message"] = f"containers with unready status: [{' '.join(sorted(not_ready))}]"
            set_condition(conditions, new, ready_text if kind in ("Ready", "ContainersReady") else now_text)
            if runtime.ready and kind in ("Ready", "ContainersReady"):
                for item in conditions:
                    if item["type"] == kind:
                        item.pop("reason", None)
                        item.pop("message", None)
        order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        conditions.sort(key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))

    def _container_status(self, container: ContainerRuntime, pod_ready: bool) -> Obj:
        clock = self.store.clock
        if container.state == "terminated" and container.terminated is not None:
            state: Obj = {"terminated": dict(container.terminated)}
        elif container.state == "running":
            state = {"running": {"startedAt": clock.rfc3339(container.started_at)}}
        else:
            waiting: Obj = {"reason": container.waiting_reason}
            if container.waiting_message:
                waiting["message"] = container.waiting_message
            state = {"waiting": waiting}
        status: Obj = {
            "name": container.name,
            "state": state,
            "lastState": {"terminated": container.last_terminated} if container.last_terminated else {},
            "ready": pod_ready and container.state == "running",
            "restartCount": container.restart_count,
            "image": container.image,
            "imageID": _image_id(container.image) if container.container_id else "",
            "started": container.state == "running",
        }
        if container.container_id:
            status["containerID"] = container.container_id
        return status

    def _node_ip(self, node: str) -> str:
        obj = self.store.get(r.NODES, "", node)
        for address in (obj or {}).get("status", {}).get("addresses") or ():
            if address.get("type") == "InternalIP":
                return str(address["address"])
        return ""


_STARTABLE = ("ContainerCreating", "CrashLoopBackOff", *checks.BLOCKING_REASONS)


def _phase(runtime: PodRuntime, started: bool) -> str:
    """Succeeded/Failed once every container ran to its end; Running once one started; else Pending."""
    ends = [c.terminated for c in runtime.containers]
    if runtime.containers and all(end is not None for end in ends):
        return "Succeeded" if all(end and end.get("exitCode") == 0 for end in ends) else "Failed"
    return "Running" if started else "Pending"


def _backoff_seconds(exponent: int) -> float:
    """0 for the first crash, then 10 s doubling up to 300 s (the kubelet's crash back-off)."""
    if exponent == 0:
        return 0.0
    return float(min(BACKOFF_INITIAL_SECONDS * 2 ** (exponent - 1), BACKOFF_MAX_SECONDS))
