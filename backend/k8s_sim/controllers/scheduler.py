"""kube-scheduler, reduced to what matters for right-sizing: requests must fit a node's allocatable.

Pending pods without a node are bound to a schedulable node whose free allocatable CPU and memory cover
the pod's requests and whose NoSchedule/NoExecute taints the pod tolerates (so nothing lands on the
tainted control-plane node by accident); among the fitting nodes the least-requested one wins, as the
default NodeResourcesFit scoring does. Pods that fit nowhere stay Pending with PodScheduled=False
(Unschedulable) and a FailedScheduling event with the real "0/3 nodes are available: ..." message, and
are retried when capacity frees up.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field

from k8s_optimizer.domain.quantities import parse_cpu_millicores, parse_memory_bytes
from k8s_sim import resources as r
from k8s_sim.controllers import placement
from k8s_sim.controllers.base import Key, Recorder, isolated, key_of, set_condition
from k8s_sim.store import Obj, ObjectStore, WatchEvent

RETRY_SECONDS = 30.0  # unschedulable pods are retried at least this often (the scheduler's flush interval)


def pod_requests(spec: Obj) -> tuple[int, int]:
    """(cpu millicores, memory bytes) requested by a pod's app containers."""
    cpu = memory = 0
    for container in spec.get("containers") or ():
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_cpu_millicores(requests["cpu"]) if "cpu" in requests else 0
        memory += parse_memory_bytes(requests["memory"]) if "memory" in requests else 0
    return cpu, memory


@dataclass(slots=True)
class NodeInfo:
    name: str
    cpu_millicores: int
    memory_bytes: int
    pods: int
    taints: list[Obj]
    labels: dict[str, str]
    schedulable: bool
    requested_cpu: int = 0
    requested_memory: int = 0
    pod_count: int = 0
    pod_keys: set[Key] = field(default_factory=set)


def _tolerates(pod_spec: Obj, taint: Obj) -> bool:
    for toleration in pod_spec.get("tolerations") or ():
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists" and not toleration.get("key"):
            return True
        if toleration.get("key") != taint.get("key"):
            continue
        if toleration.get("operator") == "Exists" or toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


class Scheduler:
    def __init__(self, store: ObjectStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self.nodes: dict[str, NodeInfo] = {}
        self._bound: dict[Key, tuple[str, int, int]] = {}  # pod -> (node, cpu, memory) counted on that node
        self._pending: set[Key] = set()
        self._unschedulable: dict[Key, float] = {}  # pod -> last attempt
        self._capacity_changed = False
        store.add_listener(self._on_event)

    # -- change feed ---------------------------------------------------------------------------------------
    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == r.NODES:
            self._on_node(event)
        elif event.resource == r.PODS:
            self._on_pod(event)

    def _on_node(self, event: WatchEvent) -> None:
        node = event.object
        name = node["metadata"]["name"]
        if event.type == "DELETED":
            self.nodes.pop(name, None)
            return
        allocatable = node.get("status", {}).get("allocatable") or {}
        info = self.nodes.get(name)
        fresh = NodeInfo(
            name=name,
            cpu_millicores=parse_cpu_millicores(allocatable.get("cpu", "0")),
            memory_bytes=parse_memory_bytes(allocatable.get("memory", "0")),
            pods=int(allocatable.get("pods", "110")),
            taints=list(node.get("spec", {}).get("taints") or ()),
            labels=dict(node["metadata"].get("labels") or {}),
            schedulable=not node.get("spec", {}).get("unschedulable", False),
        )
        if info is not None:
            fresh.requested_cpu, fresh.requested_memory = info.requested_cpu, info.requested_memory
            fresh.pod_count, fresh.pod_keys = info.pod_count, info.pod_keys
        self.nodes[name] = fresh
        self._capacity_changed = True

    def _on_pod(self, event: WatchEvent) -> None:
        pod = event.object
        key = key_of(pod)
        terminal = pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
        node_name = pod.get("spec", {}).get("nodeName")
        if event.type == "DELETED" or terminal or node_name:
            self._pending.discard(key)
            self._unschedulable.pop(key, None)
        if event.type == "DELETED" or terminal:
            self._release(key)
        elif node_name:
            if key not in self._bound:
                cpu, memory = pod_requests(pod["spec"])
                self._account(key, node_name, cpu, memory)
        elif key not in self._unschedulable:  # those are retried on a timer or when capacity frees up
            self._pending.add(key)

    def _account(self, key: Key, node_name: str, cpu: int, memory: int) -> None:
        self._bound[key] = (node_name, cpu, memory)
        info = self.nodes.get(node_name)
        if info is not None:
            info.requested_cpu += cpu
            info.requested_memory += memory
            info.pod_count += 1
            info.pod_keys.add(key)

    def _release(self, key: Key) -> None:
        bound = self._bound.pop(key, None)
        if bound is None:
            return
        info = self.nodes.get(bound[0])
        if info is not None:
            info.requested_cpu -= bound[1]
            info.requested_memory -= bound[2]
            info.pod_count -= 1
            info.pod_keys.discard(key)
        self._capacity_changed = True

    # -- scheduling ----------------------------------------------------------------------------------------
    def run(self, now_seconds: float) -> bool:
        work = set(self._pending)
        self._pending.clear()
        if self._capacity_changed:
            work |= set(self._unschedulable)
            self._capacity_changed = False
        work |= {key for key, last in self._unschedulable.items() if last + RETRY_SECONDS <= now_seconds}
        wrote = False
        for key in sorted(work):
            pod = self.store.get(r.PODS, *key)
            sync = functools.partial(self._schedule, key, now_seconds)
            wrote |= isolated(self.recorder, "default-scheduler", pod, sync)
        return wrote

    def _schedule(self, key: Key, now_seconds: float) -> bool:
        pod = self.store.get(r.PODS, *key)
        if pod is None or pod["spec"].get("nodeName") or pod.get("status", {}).get("phase") != "Pending":
            return False
        if pod["spec"].get("schedulingGates"):
            return self._gated(pod, key)
        cpu, memory = pod_requests(pod["spec"])
        reasons: Counter[str] = Counter()
        blocked = placement.pre_filter(self.store, pod)
        if blocked is not None:
            return self._unschedulable_pod(pod, key, reasons, now_seconds, detail=blocked)
        best: NodeInfo | None = None
        for info in sorted(self.nodes.values(), key=lambda n: n.name):
            reason = self._misfit(pod["spec"], info, cpu, memory) or self._affinity_misfit(pod, info)
            if reason:
                reasons.update(reason)
            elif best is None or _score(info) > _score(best):
                best = info
        if best is None:
            return self._unschedulable_pod(pod, key, reasons, now_seconds)
        self._bind(pod, key, best, cpu, memory)
        return True

    def _misfit(self, spec: Obj, info: NodeInfo, cpu: int, memory: int) -> list[str]:
        if not info.schedulable:
            return ["node(s) were unschedulable"]
        for taint in info.taints:
            if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(spec, taint):
                return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
        if not placement.node_fits(spec, info.labels, info.name):
            return [placement.NODE_AFFINITY_REASON]
        reasons = []
        if info.requested_cpu + cpu > info.cpu_millicores:
            reasons.append("Insufficient cpu")
        if info.requested_memory + memory > info.memory_bytes:
            reasons.append("Insufficient memory")
        if info.pod_count + 1 > info.pods:
            reasons.append("Too many pods")
        return reasons

    def _affinity_misfit(self, pod: Obj, info: NodeInfo) -> list[str]:
        affinity = pod["spec"].get("affinity") or {}
        if not affinity.get("podAffinity") and not affinity.get("podAntiAffinity"):
            return []
        reason = placement.pod_affinity_reason(pod["spec"], pod, info.labels, self._domain_pods)
        return [reason] if reason else []

    def _domain_pods(self, label: str, value: str) -> list[Obj]:
        """Pods bound to nodes whose `label` is `value` ('' and '': every bound pod)."""
        found: list[Obj] = []
        for info in self.nodes.values():
            if label and info.labels.get(label) != value:
                continue
            found.extend(pod for key in info.pod_keys if (pod := self.store.get(r.PODS, *key)) is not None)
        return found

    def _gated(self, pod: Obj, key: Key) -> bool:
        now_text = self.store.clock.rfc3339()

        def change(updated: Obj) -> None:
            conditions = updated.setdefault("status", {}).setdefault("conditions", [])
            new = {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
            set_condition(conditions, {**new, "message": placement.GATED_MESSAGE, "lastProbeTime": None}, now_text)

        self.store.mutate(r.PODS, key[0], key[1], change)
        return False

    def _bind(self, pod: Obj, key: Key, node: NodeInfo, cpu: int, memory: int) -> None:
        now_text = self.store.clock.rfc3339()

        def change(updated: Obj) -> None:
            updated["spec"]["nodeName"] = node.name
            conditions = updated.setdefault("status", {}).setdefault("conditions", [])
            set_condition(conditions, {"type": "PodScheduled", "status": "True"}, now_text)
            for item in conditions:
                if item["type"] == "PodScheduled":
                    item.pop("reason", None)
                    item.pop("message", None)
                    item["lastProbeTime"] = None

        self._unschedulable.pop(key, None)
        self._account(key, node.name, cpu, memory)
        self.store.mutate(r.PODS, key[0], key[1], change)
        message = f"Successfully assigned {key[0]}/{key[1]} to {node.name}"
        self.recorder.record(pod, "Normal", "Scheduled", message, "default-scheduler")

    def _unschedulable_pod(
        self, pod: Obj, key: Key, reasons: Counter[str], now_seconds: float, detail: str = ""
    ) -> bool:
        self._unschedulable[key] = now_seconds
        total = len(self.nodes)
        # as the real one sorts; a PreFilter failure (`detail`) holds for every node and has no counts
        detail = detail or ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
        message = (
            f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: "
            f"{total} Preemption is not helpful for scheduling."
        )
        now_text = self.store.clock.rfc3339()

        def change(updated: Obj) -> None:
            conditions = updated.setdefault("status", {}).setdefault("conditions", [])
            new = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
            set_condition(conditions, {**new, "lastProbeTime": None}, now_text)

        self.store.mutate(r.PODS, key[0], key[1], change)
        self.recorder.record(pod, "Warning", "FailedScheduling", message, "default-scheduler")
        return False


def _score(info: NodeInfo) -> float:
    """LeastAllocated: the mean free fraction of CPU and memory."""
    cpu_free = 1 - info.requested_cpu / max(info.cpu_millicores, 1)
    memory_free = 1 - info.requested_memory / max(info.memory_bytes, 1)
    return (cpu_free + memory_free) / 2
