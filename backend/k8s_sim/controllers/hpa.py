"""The HorizontalPodAutoscaler controller (autoscaling/v2), running analysis/hpa.py every 15 s simulated.

The HPA object is read with the same pure translation the backend uses (`domain.autoscaling`), so a
quantity tolerance ("50m"), `minReplicas: 0` and every metric source mean here what they mean there.

Each sync reads the scale target's `spec.replicas` and selector, the selected pods and their latest
metrics.k8s.io readings, steps the HPA's in-memory state (recommendations + scale events, as the real
controller keeps them), writes `spec.replicas` of the target when it rescales (with a SuccessfulRescale
event "New size: N; reason: ..."), and writes the HPA status: currentReplicas, desiredReplicas,
currentMetrics, conditions AbleToScale / ScalingActive / ScalingLimited, lastScaleTime.
A metric that cannot be computed (e.g. pods without CPU requests) leaves `currentMetrics` without a
value — kubectl shows `<unknown>/50%` — with ScalingActive=False FailedGetResourceMetric and Warning
events, as in a real cluster.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from k8s_optimizer.analysis.hpa import Decision, HpaState, MetricResult, PodReading, readings_key
from k8s_optimizer.domain.autoscaling import hpa_from_json
from k8s_optimizer.domain.quantities import format_cpu, parse_cpu_millicores, parse_memory_bytes
from k8s_sim import resources as r
from k8s_sim.admission import selector_matches
from k8s_sim.controllers.base import Key, Recorder, condition, isolated, key_of, parse_time, set_condition
from k8s_sim.controllers.custom_metrics import is_pods_metric, pod_value_milli
from k8s_sim.load import LoadModel
from k8s_sim.store import Obj, ObjectStore, ResourceType, WatchEvent

SYNC_SECONDS = 15.0
_TARGETS: dict[str, ResourceType] = {
    "Deployment": r.DEPLOYMENTS,
    "StatefulSet": r.STATEFULSETS,
    "ReplicaSet": r.REPLICASETS,
}
_COMPONENT = "horizontal-pod-autoscaler"


class HpaController:
    def __init__(self, store: ObjectStore, recorder: Recorder, load: LoadModel) -> None:
        self.store = store
        self.recorder = recorder
        self.load = load
        self.states: dict[Key, HpaState] = {}
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == r.HPAS and event.type == "DELETED":
            self.states.pop(key_of(event.object), None)

    def run(self, now_seconds: float) -> bool:
        wrote = False
        for hpa in self.store.list_objects(r.HPAS):
            wrote |= isolated(self.recorder, _COMPONENT, hpa, functools.partial(self._sync, hpa, now_seconds))
        return wrote

    def _sync(self, hpa: Obj, now: float) -> bool:
        namespace, name = key_of(hpa)
        ref = hpa["spec"].get("scaleTargetRef") or {}
        rt = _TARGETS.get(str(ref.get("kind")))
        target = self.store.get(rt, namespace, str(ref.get("name"))) if rt is not None else None
        if target is None or rt is None:
            return self._no_target(hpa, ref)
        state = self.states.setdefault((namespace, name), HpaState())
        model = hpa_from_json(hpa)  # Resource metrics, and Pods metrics served from the load model
        pods = {
            readings_key(metric): self._pods(target, metric.resource or metric.metric_name or "", metric.container)
            for metric in model.metrics
            if metric.resource or (metric.type == "Pods" and metric.metric_name)
        }
        current = int(target["spec"].get("replicas", 1))
        decision = state.step(model, now_seconds=now, current_replicas=current, pods=pods)
        if decision.rescale:
            self._rescale(rt, target, decision.desired_replicas)
            message = f"New size: {decision.desired_replicas}; reason: {decision.reason}"
            self.recorder.record(hpa, "Normal", "SuccessfulRescale", message, _COMPONENT)
        if decision.error:
            self._record_errors(hpa, decision)
        return self._write_status(hpa, decision, now) or decision.rescale

    def _pods(self, target: Obj, resource: str, container: str | None) -> list[PodReading]:
        selector = target["spec"].get("selector")
        namespace = target["metadata"]["namespace"]
        readings: list[PodReading] = []
        for pod in self.store.list_objects(r.PODS, namespace):
            if not selector_matches(selector, pod["metadata"].get("labels") or {}):
                continue
            readings.append(self._reading(pod, resource, container))
        return readings

    def _reading(self, pod: Obj, resource: str, container: str | None) -> PodReading:
        """A pod as the controller sees it, quantities in milli-units (Quantity.MilliValue())."""
        key = key_of(pod)
        status = pod.get("status", {})
        ready = condition(status.get("conditions") or [], "Ready")
        metrics = self.load.readings.get(key)
        if metrics and container:  # a container metric reads that container alone (missing: no metric)
            metrics = {name: reading for name, reading in metrics.items() if name == container}
        usage = None
        if metrics and resource == "cpu":
            usage = math.ceil(sum(reading.cpu_nanocores for reading in metrics.values()) / 1_000_000)
        elif metrics and resource == "memory":
            usage = sum(reading.memory_bytes for reading in metrics.values()) * 1000
        elif is_pods_metric(resource):
            usage = pod_value_milli(self.load, key, resource)
        requests: dict[str, int | None] = {}
        for spec in pod["spec"].get("containers") or ():
            request = ((spec.get("resources") or {}).get("requests") or {}).get(resource)
            requests[spec["name"]] = _milli(resource, request) if request is not None else None
        return PodReading(
            name=key[1],
            requests_milli=requests,
            usage_milli=usage,
            phase=str(status.get("phase", "Pending")),
            deleting=bool(pod["metadata"].get("deletionTimestamp")),
            ready=None if ready is None else str(ready.get("status", "Unknown")),
            start_seconds=parse_time(status.get("startTime")),
            ready_transition_seconds=(parse_time(ready.get("lastTransitionTime")) or 0.0) if ready else 0.0,
            metric_timestamp_seconds=self.load.sample_seconds or 0.0,
        )

    def _rescale(self, rt: ResourceType, target: Obj, replicas: int) -> None:
        def change(obj: Obj) -> None:
            obj["spec"]["replicas"] = replicas

        self.store.mutate(rt, *key_of(target), change)

    def _record_errors(self, hpa: Obj, decision: Decision) -> None:
        first = next((m for m in decision.metrics if m.error), None)
        if first is not None and first.error:
            self.recorder.record(hpa, "Warning", first.condition_reason, first.error, _COMPONENT)
        self.recorder.record(hpa, "Warning", "FailedComputeMetricsReplicas", str(decision.error), _COMPONENT)

    def _no_target(self, hpa: Obj, ref: Obj) -> bool:
        kind = str(ref.get("kind", "")).lower()
        message = f'the HPA controller was unable to get the target\'s current scale: {kind}s/scale.apps "{ref.get("name")}" not found'  # noqa: E501
        self.recorder.record(hpa, "Warning", "FailedGetScale", message, _COMPONENT)
        now_text = self.store.clock.rfc3339()

        def change(obj: Obj) -> None:
            conditions = obj.setdefault("status", {}).setdefault("conditions", [])
            set_condition(
                conditions,
                {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale", "message": message},
                now_text,
            )

        before = hpa["metadata"]["resourceVersion"]
        after = self.store.mutate(r.HPAS, *key_of(hpa), change)
        return after is not None and after["metadata"]["resourceVersion"] != before

    def _write_status(self, hpa: Obj, decision: Decision, now: float) -> bool:
        now_text = self.store.clock.rfc3339(now)

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status["observedGeneration"] = obj["metadata"].get("generation", 1)
            status["currentReplicas"] = decision.current_replicas
            status["desiredReplicas"] = decision.desired_replicas
            status["currentMetrics"] = _metric_statuses(decision.metrics) or None
            if decision.rescale:
                status["lastScaleTime"] = now_text
            conditions = status.setdefault("conditions", [])
            for item in decision.conditions:
                set_condition(
                    conditions,
                    {"type": item.type, "status": item.status, "reason": item.reason, "message": item.message},
                    now_text,
                )
            order = ["AbleToScale", "ScalingActive", "ScalingLimited"]
            conditions.sort(key=lambda c: order.index(c["type"]) if c["type"] in order else 9)

        before = hpa["metadata"]["resourceVersion"]
        after = self.store.mutate(r.HPAS, *key_of(hpa), change)
        return after is not None and after["metadata"]["resourceVersion"] != before


def _metric_statuses(results: Sequence[MetricResult]) -> list[Obj]:
    statuses: list[Obj] = []
    for result in results:
        if result.error is not None:
            statuses.append({"type": ""})  # what the real controller writes for a metric it could not compute
            continue
        current: Obj = {}
        if result.utilization_percent is not None:
            current["averageUtilization"] = result.utilization_percent
        if result.average_value_milli is not None:
            current["averageValue"] = _milli_quantity(
                result.target.resource or result.target.metric_name or "", result.average_value_milli
            )
        if result.target.type == "Pods":
            statuses.append(
                {"type": "Pods", "pods": {"metric": {"name": result.target.metric_name}, "current": current}}
            )
            continue
        source: Obj = {"name": result.target.resource, "current": current}
        if result.target.container:
            source["container"] = result.target.container
            statuses.append({"type": "ContainerResource", "containerResource": source})
        else:
            statuses.append({"type": "Resource", "resource": source})
    return statuses


def _milli(resource: str, quantity: str) -> int:
    if resource == "cpu":
        return parse_cpu_millicores(quantity)
    return parse_memory_bytes(quantity) * 1000


def _milli_quantity(resource: str, milli: int) -> str:
    if resource == "cpu":
        return format_cpu(milli)
    whole = milli // 1000
    return str(whole) if milli % 1000 == 0 else f"{milli}m"
