"""The autoscaling/v2 HorizontalPodAutoscaler algorithm, exactly as kube-controller-manager runs it.

Why this exists: both the embedded cluster's HPA controller and the optimizer's HPA replay must predict
the *same* replica counts a real cluster would produce, so the algorithm lives once, pure, here
(`pkg/controller/podautoscaler/replica_calculator.go` + `horizontal.go`). The HPA itself is the domain
model (`domain.objects.HPA`, read from JSON by `domain.autoscaling.hpa_from_json`); the controller's
flags are `domain.autoscaling.HpaControllerConfig`. Quantities here are milli-units, as the
controller's MilliValue().

- `PodReading`: one pod as the controller sees it (phase, Ready condition status, start time,
  per-container requests, the metric reading). `uniform_pods(...)` builds N identical ready pods.
- `MetricReadings`: what the metrics APIs returned this sync: per-pod readings per resource (or Pods
  metric name), and the values of Object/External metrics.
- `metric_replicas(...)`: one metric's proposal (GetResourceReplicas, GetRawResourceReplicas,
  GetMetricReplicas, GetObject[PerPod]MetricReplicas, GetExternal[PerPod]MetricReplicas).
- `HpaState(config).step(hpa, ...)` -> `Decision`: one controller sync: per-metric proposals, max over
  metrics, stabilisation (timestamped recommendations), rate limiting by behavior policies (timestamped
  scale events, outdated slots reused as upstream does) or the legacy limit, min/max clamp, the status
  conditions, and the SuccessfulRescale reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from k8s_optimizer.domain.autoscaling import HpaControllerConfig, tolerance_value
from k8s_optimizer.domain.objects import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA,
    HPAMetricTarget,
    ScalingPolicy,
    ScalingRules,
)
from k8s_optimizer.domain.quantities import parse_quantity

DEFAULT_CONFIG = HpaControllerConfig()
_MAX_INT32 = 2**31 - 1
_MIN_INT32 = -(2**31)

PodsInput = Sequence["PodReading"] | Mapping[str, Sequence["PodReading"]]


class HpaError(ValueError):
    """A metric that cannot be computed (the controller's error; the HPA shows `<unknown>`)."""


# -- inputs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PodReading:
    """One pod selected by the scale target, with its metric reading (None: no metric)."""

    name: str
    requests_milli: Mapping[str, int | None]  # container name -> request (None: no request set)
    usage_milli: int | None
    phase: str = "Running"
    deleting: bool = False
    ready: str | None = "True"  # the Ready condition's status (True/False/Unknown); None: no Ready condition
    start_seconds: float | None = 0.0
    ready_transition_seconds: float = 0.0
    metric_timestamp_seconds: float = math.inf  # default: "a full window after any transition"
    metric_window_seconds: float = 15.0


def uniform_pods(count: int, *, request_milli: int, usage_milli_per_pod: int) -> list[PodReading]:
    """N long-running ready pods with the same request and usage (what a history-driven simulator needs)."""
    return [
        PodReading(name=f"pod-{index}", requests_milli={"main": request_milli}, usage_milli=usage_milli_per_pod)
        for index in range(count)
    ]


@dataclass(frozen=True, slots=True)
class MetricReadings:
    """One sync's metric answers, in milli-units (Quantity.MilliValue()).

    `pods`: the selected pods with their reading, keyed by `readings_key(metric)` ("cpu", "memory",
    "cpu/<container>", or a Pods metric's name); every list is the whole selection (pods without a reading
    have `usage_milli=None`). `values_milli`: an Object metric's value, or the sum of an External metric's
    series (GetExternalMetricReplicas adds them up), keyed by metric name.
    """

    pods: Mapping[str, Sequence[PodReading]] = field(default_factory=dict)
    values_milli: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, pods: PodsInput, hpa: HPA) -> MetricReadings:
        """One pod list serves every resource metric; a mapping is taken as is."""
        if isinstance(pods, Mapping):
            return cls(pods=pods)
        keys = {readings_key(metric) for metric in hpa.metrics}
        return cls(pods=dict.fromkeys(keys, pods))


def readings_key(metric: HPAMetricTarget) -> str:
    """Which pod readings a metric reads: "cpu", "cpu/<container>" for a container metric, a Pods metric's name."""
    if metric.type == "Pods":
        return metric.metric_name or ""
    if metric.type == "ContainerResource" and metric.container:
        return f"{metric.resource or 'cpu'}/{metric.container}"
    return metric.resource or "cpu"


# -- outputs --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: Literal["True", "False"]
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's proposal; `error` set means the metric is invalid (`<unknown>`)."""

    target: HPAMetricTarget
    replicas: int = 0
    utilization_percent: int | None = None
    average_value_milli: int | None = None
    value_milli: int | None = None
    error: str | None = None  # the controller's wrapped error ("failed to get cpu utilization: ...")
    cause: str | None = None  # what the ScalingActive condition quotes
    condition_reason: str = ""  # FailedGetResourceMetric, FailedGetPodsMetric, ...


@dataclass(frozen=True, slots=True)
class Decision:
    current_replicas: int
    desired_replicas: int
    rescale: bool
    reason: str  # the SuccessfulRescale reason ("" when not rescaling)
    metrics: tuple[MetricResult, ...]
    conditions: tuple[Condition, ...]  # in the order the controller sets them; later wins per type
    error: str | None = None  # set when no replica count could be computed (FailedComputeMetricsReplicas)


@dataclass(slots=True)
class ScaleEvent:
    """timestampedScaleEvent: replicas added (or removed) at a time; outdated slots are reused."""

    timestamp_seconds: float
    replica_change: int
    outdated: bool = False


def metric_name(metric: HPAMetricTarget) -> str:
    """The metric's name as the controller writes it into reasons and conditions."""
    if metric.type in ("Resource", "ContainerResource"):
        scope = "container resource" if metric.type == "ContainerResource" else "resource"
        suffix = " utilization (percentage of request)" if metric.target_type == "Utilization" else ""
        return f"{metric.resource} {scope}{suffix}"
    if metric.type == "Pods":
        return f"pods metric {metric.metric_name}"
    if metric.type == "Object" and metric.described_object is not None:
        return f"{metric.described_object.kind} metric {metric.metric_name}"
    selector = "nil" if metric.metric_selector is None else "&LabelSelector{...}"
    return f"external metric {metric.metric_name}({selector})"


def target_milli(metric: HPAMetricTarget, *, average: bool) -> int | None:
    """The target quantity in milli-units (Quantity.MilliValue(): rounded up)."""
    text = metric.average_value_quantity if average else metric.value_quantity
    if text is not None:
        return math.ceil(parse_quantity(text) * 1000)
    number = metric.average_value if average else metric.value
    if number is None:
        return None
    if metric.resource == "cpu":
        return math.ceil(number)  # already millicores
    return math.ceil(number * 1000)


# -- the replica calculator (replica_calculator.go) ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tolerances:
    """isWithin: (1 − scaleDown) ≤ ratio ≤ (1 + scaleUp)."""

    up: float = DEFAULT_CONFIG.tolerance
    down: float = DEFAULT_CONFIG.tolerance

    def within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


def behavior_of(hpa: HPA) -> tuple[ScalingRules, ScalingRules] | None:
    """(scale_up, scale_down) with API defaults for a direction left out; None: no behavior (legacy path)."""
    if hpa.scale_up is None and hpa.scale_down is None:
        return None
    return hpa.scale_up or DEFAULT_SCALE_UP, hpa.scale_down or DEFAULT_SCALE_DOWN


def tolerances_for(hpa: HPA, config: HpaControllerConfig) -> Tolerances:
    """tolerancesForHpa: the controller's tolerance, overridden per direction by `behavior.*.tolerance`."""
    up = down = config.tolerance
    if hpa.scale_up is not None and hpa.scale_up.tolerance is not None:
        up = tolerance_value(hpa.scale_up.tolerance)
    if hpa.scale_down is not None and hpa.scale_down.tolerance is not None:
        down = tolerance_value(hpa.scale_down.tolerance)
    return Tolerances(up, down)


@dataclass(slots=True)
class _Groups:
    ready_count: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


def _cpu_unready(pod: PodReading, now_seconds: float, config: HpaControllerConfig) -> bool:
    if pod.ready is None or pod.start_seconds is None:
        return True
    if pod.start_seconds + config.cpu_initialization_period_seconds > now_seconds:
        # within the initialisation period: unready, or no full metric window since the last transition
        return pod.ready == "False" or (
            pod.metric_timestamp_seconds < pod.ready_transition_seconds + pod.metric_window_seconds
        )
    # after it: ignore only pods that are unready and have never been ready (Unknown counts as ready)
    never_ready = pod.start_seconds + config.initial_readiness_delay_seconds > pod.ready_transition_seconds
    return pod.ready == "False" and never_ready


def _group_pods(pods: Sequence[PodReading], resource: str, now: float, config: HpaControllerConfig) -> _Groups:
    groups = _Groups()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            groups.ignored.add(pod.name)
        elif pod.phase == "Pending":
            groups.unready.add(pod.name)
        elif pod.usage_milli is None:
            groups.missing.add(pod.name)
        elif resource == "cpu" and _cpu_unready(pod, now, config):
            groups.unready.add(pod.name)
        else:
            groups.ready_count += 1
    return groups


def _pod_request(pod: PodReading, metric: HPAMetricTarget) -> int:
    """calculatePodRequestsFromContainers: the named container's request, or every container's sum."""
    total = 0
    for container, request in pod.requests_milli.items():
        if metric.container and container != metric.container:
            continue
        if request is None:
            raise HpaError(f"missing request for {metric.resource} in container {container} of Pod {pod.name}")
        total += request
        if metric.container:
            return total
    if metric.container:
        raise HpaError(f"container {metric.container} not found in Pod {pod.name}")
    return total


def _utilization(metrics: Mapping[str, int], requests: Mapping[str, int], target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio, integer-truncated utilisation %, raw average)."""
    usage_total = request_total = entries = 0
    for name, value in metrics.items():
        if name in requests:
            usage_total += value
            request_total += requests[name]
            entries += 1
    if request_total == 0:
        raise HpaError("no metrics returned matched known pods")
    utilization = (usage_total * 100) // request_total
    return utilization / target, utilization, usage_total // entries


def _usable_metrics(
    pods: Sequence[PodReading], resource: str, now: float, config: HpaControllerConfig
) -> tuple[dict[str, int], _Groups]:
    if not pods:
        raise HpaError("no pods returned by selector while calculating replica count")
    groups = _group_pods(pods, resource, now, config)
    metrics = {
        pod.name: pod.usage_milli
        for pod in pods
        if pod.usage_milli is not None and pod.name not in groups.ignored and pod.name not in groups.unready
    }
    if not metrics:
        raise HpaError("did not receive metrics for targeted pods (pods might be unready)")
    return metrics, groups


def _final_count(current: int, ratio: float, new_ratio: float, entries: int, tol: Tolerances) -> int:
    if tol.within(new_ratio) or (ratio > 1.0 > new_ratio) or (ratio < 1.0 < new_ratio):
        return current  # too small a change, or the corrected ratio flips the scale direction
    replicas = math.ceil(new_ratio * entries)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _fill_in(metrics: dict[str, int], groups: _Groups, ratio: float, scale_down_value: Mapping[str, int]) -> None:
    """Missing pods: the fallback on a scale-down, 0 on a scale-up, untouched at exactly 1.0; unready: 0."""
    for name in groups.missing:
        if ratio < 1.0:
            metrics[name] = scale_down_value[name]
        elif ratio > 1.0:
            metrics[name] = 0
    if groups.unready and ratio > 1.0:
        for name in groups.unready:
            metrics[name] = 0


def resource_replicas(
    current: int,
    metric: HPAMetricTarget,
    pods: Sequence[PodReading],
    now_seconds: float,
    tolerances: Tolerances = Tolerances(),
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> MetricResult:
    """GetResourceReplicas: a Utilization target (percent of the pods' requests). Raises HpaError."""
    target = metric.average_utilization
    if target is None:
        raise HpaError("invalid resource metric source: neither a utilization target nor a value target set")
    resource = metric.resource or "cpu"
    metrics, groups = _usable_metrics(pods, resource, now_seconds, config)
    requests = {pod.name: _pod_request(pod, metric) for pod in pods}
    ratio, utilization, raw = _utilization(metrics, requests, target)
    if not (groups.unready and ratio > 1.0) and not groups.missing:
        replicas = current if tolerances.within(ratio) else math.ceil(ratio * groups.ready_count)
        return MetricResult(metric, replicas, utilization, raw)
    fallback = max(100, target)  # a missing pod counts as its whole request (or the target, if above 100 %)
    _fill_in(metrics, groups, ratio, {name: requests[name] * fallback // 100 for name in groups.missing})
    new_ratio, _, _ = _utilization(metrics, requests, target)
    return MetricResult(metric, _final_count(current, ratio, new_ratio, len(metrics), tolerances), utilization, raw)


def plain_replicas(
    current: int,
    metric: HPAMetricTarget,
    goal_milli: int,
    pods: Sequence[PodReading],
    now_seconds: float,
    tolerances: Tolerances = Tolerances(),
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> MetricResult:
    """calcPlainMetricReplicas: an AverageValue target on a resource (CPU readiness rules) or a Pods metric."""
    resource = "" if metric.type == "Pods" else metric.resource or ""
    metrics, groups = _usable_metrics(pods, resource, now_seconds, config)
    average = sum(metrics.values()) // len(metrics)
    ratio = average / goal_milli
    if not (groups.unready and ratio > 1.0) and not groups.missing:
        replicas = current if tolerances.within(ratio) else math.ceil(ratio * groups.ready_count)
        return MetricResult(metric, replicas, None, average)
    _fill_in(metrics, groups, ratio, dict.fromkeys(groups.missing, goal_milli))
    new_ratio = (sum(metrics.values()) // len(metrics)) / goal_milli
    return MetricResult(metric, _final_count(current, ratio, new_ratio, len(metrics), tolerances), None, average)


def _ready_pods(pods: Sequence[PodReading]) -> int:
    return sum(1 for pod in pods if pod.phase == "Running" and pod.ready == "True")


def value_replicas(
    current: int,
    metric: HPAMetricTarget,
    usage_milli: int,
    pods: Sequence[PodReading],
    tolerances: Tolerances = Tolerances(),
) -> MetricResult:
    """Object/External metrics: `Value` targets scale the ready pods by the ratio; `AverageValue` targets
    want ceil(total ÷ per-pod target) (GetObject/External[PerPod]MetricReplicas)."""
    if metric.target_type == "AverageValue":
        goal = target_milli(metric, average=True)
        if goal is None:
            raise HpaError("invalid metric source: no averageValue target")
        replicas = current
        if not tolerances.within(usage_milli / (goal * current)):
            replicas = math.ceil(usage_milli / goal)
        return MetricResult(metric, replicas, None, math.ceil(usage_milli / current), usage_milli)
    goal = target_milli(metric, average=False)
    if goal is None:
        raise HpaError("invalid metric source: no value target")
    ratio = usage_milli / goal
    if current == 0:
        return MetricResult(metric, math.ceil(ratio), None, None, usage_milli)
    if tolerances.within(ratio):
        return MetricResult(metric, current, None, None, usage_milli)
    if not pods:
        raise HpaError("unable to calculate ready pods: no pods returned by selector while calculating replica count")
    return MetricResult(metric, min(math.ceil(ratio * _ready_pods(pods)), _MAX_INT32), None, None, usage_milli)


def _one_metric(
    current: int,
    metric: HPAMetricTarget,
    readings: MetricReadings,
    now: float,
    tol: Tolerances,
    config: HpaControllerConfig,
) -> MetricResult:
    if metric.type in ("Object", "External"):
        value = readings.values_milli.get(metric.metric_name or "")
        if value is None:
            raise HpaError(f"unable to get metric {metric.metric_name}: no value")
        return value_replicas(current, metric, value, next(iter(readings.pods.values()), ()), tol)
    pods = readings.pods.get(readings_key(metric), ())
    if metric.type in ("Resource", "ContainerResource") and metric.target_type == "Utilization":
        return resource_replicas(current, metric, pods, now, tol, config)
    goal = target_milli(metric, average=True)
    if goal is None or metric.type not in ("Resource", "ContainerResource", "Pods"):
        raise HpaError("invalid metric source: neither a utilization target nor a value target set")
    return plain_replicas(current, metric, goal, pods, now, tol, config)


def metric_replicas(
    current: int,
    metric: HPAMetricTarget,
    readings: MetricReadings | Sequence[PodReading],
    now_seconds: float,
    tolerances: Tolerances = Tolerances(),
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> MetricResult:
    """One metric's proposal; errors come back as a MetricResult with `error` set (never raised)."""
    if not isinstance(readings, MetricReadings):
        readings = MetricReadings(pods={readings_key(metric): readings})
    try:
        return _one_metric(current, metric, readings, now_seconds, tolerances, config)
    except HpaError as exc:
        what, reason = _failure(metric)
        error = f"failed to get {what}: {exc}"
        # computeStatusForResourceMetric quotes its wrapped error in the condition; the other kinds quote the cause
        cause = error if metric.type in ("Resource", "ContainerResource") else str(exc)
        return MetricResult(metric, error=error, cause=cause, condition_reason=reason)


def _failure(metric: HPAMetricTarget) -> tuple[str, str]:
    """What computeReplicasForMetric says when a metric fails, and the condition reason it sets."""
    if metric.type == "Pods":
        return "pods metric value", "FailedGetPodsMetric"
    if metric.type == "Object":
        return "object metric value", "FailedGetObjectMetric"
    if metric.type == "External":
        return "external metric value", "FailedGetExternalMetric"
    reason = "FailedGetContainerResourceMetric" if metric.type == "ContainerResource" else "FailedGetResourceMetric"
    kind = "utilization" if metric.target_type == "Utilization" else "usage"
    return f"{metric.resource} {kind}", reason


# -- one controller sync (horizontal.go) -------------------------------------------------------------------
_SCALE_UP_LIMITED = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
_SCALE_DOWN_LIMITED = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
_READY = ("ReadyForNewScale", "recommended size matches current size")
_UP_STABILIZED = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
_DOWN_STABILIZED = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
)
_DISABLED = Condition(
    "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"
)
_ABOVE_MAX = "Current number of replicas above Spec.MaxReplicas"
_BELOW_MIN = "Current number of replicas below Spec.MinReplicas"


def _rescaled(desired: int) -> Condition:
    message = f"the HPA controller was able to update the target scale to {desired}"
    return Condition("AbleToScale", "True", "SucceededRescale", message)


def _replace_or_append(items: list[tuple[float, int]], index: int, item: tuple[float, int]) -> None:
    if index >= 0:
        items[index] = item
    else:
        items.append(item)


@dataclass(slots=True)
class HpaState:
    """What the controller remembers per HPA between syncs, and the controller's settings."""

    config: HpaControllerConfig = DEFAULT_CONFIG
    recommendations: list[tuple[float, int]] = field(default_factory=list)  # (timestamp, raw desired)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)
    _initialized: bool = False

    def step(
        self, hpa: HPA, *, now_seconds: float, current_replicas: int, pods: PodsInput | MetricReadings
    ) -> Decision:
        """One reconcile: compute, normalise, decide; records the recommendation and any scale event.

        `pods` is one list (its readings serve every metric), a mapping resource (or Pods-metric name) →
        list, or `MetricReadings` with Object/External values too.
        """
        if not self._initialized:  # recordInitialRecommendation
            self.recommendations.append((now_seconds, current_replicas))
            self._initialized = True
        if current_replicas == 0 and hpa.min_replicas != 0:
            return Decision(0, 0, False, "", (), (_DISABLED,))
        if current_replicas > hpa.max_replicas:
            return self._forced(hpa, now_seconds, current_replicas, hpa.max_replicas, _ABOVE_MAX)
        if current_replicas < hpa.min_replicas:
            return self._forced(hpa, now_seconds, current_replicas, hpa.min_replicas, _BELOW_MIN)
        readings = pods if isinstance(pods, MetricReadings) else MetricReadings.of(pods, hpa)
        return self._compute(hpa, now_seconds, current_replicas, readings)

    def _forced(self, hpa: HPA, now: float, current: int, desired: int, reason: str) -> Decision:
        self.store_scale_event(hpa, now, current, desired)
        return Decision(current, desired, True, reason, (), (_rescaled(desired),))

    def _compute(self, hpa: HPA, now: float, current: int, readings: MetricReadings) -> Decision:
        tolerances = tolerances_for(hpa, self.config)
        results = tuple(metric_replicas(current, m, readings, now, tolerances, self.config) for m in hpa.metrics)
        valid = [r for r in results if r.error is None]
        proposal, best = 0, None
        for result in valid:
            if proposal == 0 or result.replicas > proposal:
                proposal, best = result.replicas, result
        invalid = len(results) - len(valid)
        conditions: list[Condition] = []
        if invalid >= len(results) or (invalid > 0 and proposal < current):
            first = next(r for r in results if r.error is not None)
            message = f"the HPA was unable to compute the replica count: {first.cause}"
            conditions.append(Condition("ScalingActive", "False", first.condition_reason, message))
            error = f"invalid metrics ({invalid} invalid out of {len(results)}), first error is: {first.error}"
            return Decision(current, current, False, "", results, tuple(conditions), error)
        assert best is not None
        name = metric_name(best.target)
        message = f"the HPA was able to successfully calculate a replica count from {name}"
        conditions.append(Condition("ScalingActive", "True", "ValidMetricFound", message))
        reason = f"{name} above target" if proposal > current else "All metrics below target"
        behavior = behavior_of(hpa)
        if behavior is None:
            desired = self._normalize_legacy(hpa, now, current, proposal, conditions)
        else:
            desired = self._normalize_with_behavior(hpa, *behavior, now, current, proposal, conditions)
        rescale = desired != current
        if rescale:
            conditions.append(_rescaled(desired))
            self.store_scale_event(hpa, now, current, desired)
        return Decision(current, desired, rescale, reason if rescale else "", results, tuple(conditions))

    # legacy path: stabilise over the fixed downscale window, then the factor/minimum limit and min/max
    def _normalize_legacy(self, hpa: HPA, now: float, current: int, proposal: int, conditions: list[Condition]) -> int:
        stabilized = self._stabilize_legacy(now, proposal)
        picked = _DOWN_STABILIZED if stabilized != proposal else _READY
        conditions.append(Condition("AbleToScale", "True", *picked))
        config = self.config
        scale_up_limit = int(max(config.scale_up_limit_factor * current, config.scale_up_limit_minimum))
        maximum, limited = (hpa.max_replicas, _TOO_MANY)
        if hpa.max_replicas > scale_up_limit:
            maximum, limited = scale_up_limit, _SCALE_UP_LIMITED
        if stabilized < hpa.min_replicas:
            desired, why = hpa.min_replicas, _TOO_FEW
        elif stabilized > maximum:
            desired, why = maximum, limited
        else:
            desired, why = stabilized, _WITHIN
        conditions.append(Condition("ScalingLimited", "False" if desired == stabilized else "True", *why))
        return desired

    def _stabilize_legacy(self, now: float, proposal: int) -> int:
        cutoff = now - self.config.downscale_stabilization_seconds
        highest = proposal
        old_index = -1
        for index, (stamp, recommendation) in enumerate(self.recommendations):
            if stamp < cutoff:
                old_index = index
            elif recommendation > highest:
                highest = recommendation
        _replace_or_append(self.recommendations, old_index, (now, proposal))
        return highest

    # behavior path: stabilise between the up/down windows, then rate-limit by the policies
    def _normalize_with_behavior(
        self,
        hpa: HPA,
        up: ScalingRules,
        down: ScalingRules,
        now: float,
        current: int,
        proposal: int,
        conditions: list[Condition],
    ) -> int:
        stabilized = self._stabilize_with_behavior(up, down, now, current, proposal)
        if stabilized != proposal:
            why = _UP_STABILIZED if proposal >= current else _DOWN_STABILIZED
            conditions.append(Condition("AbleToScale", "True", *why))
        else:
            conditions.append(Condition("AbleToScale", "True", *_READY))
        desired, limited = self._rate_limit(hpa, up, down, now, current, stabilized)
        conditions.append(Condition("ScalingLimited", "False" if desired == stabilized else "True", *limited))
        return desired

    def _stabilize_with_behavior(
        self, up: ScalingRules, down: ScalingRules, now: float, current: int, proposal: int
    ) -> int:
        down_window = down.stabilization_window_seconds
        if down_window is None:  # maybeInitScaleDownStabilizationWindow
            down_window = self.config.downscale_stabilization_seconds
        up_cutoff = now - (up.stabilization_window_seconds or 0)
        down_cutoff = now - down_window
        up_recommendation = down_recommendation = proposal
        old_index = -1
        for index, (stamp, recommendation) in enumerate(self.recommendations):
            if stamp > up_cutoff:
                up_recommendation = min(recommendation, up_recommendation)
            if stamp > down_cutoff:
                down_recommendation = max(recommendation, down_recommendation)
            if stamp < up_cutoff and stamp < down_cutoff:
                old_index = index
        stabilized = min(max(current, up_recommendation), down_recommendation)
        _replace_or_append(self.recommendations, old_index, (now, proposal))
        return stabilized

    def _rate_limit(
        self, hpa: HPA, up: ScalingRules, down: ScalingRules, now: float, current: int, desired: int
    ) -> tuple[int, tuple[str, str]]:
        if desired > current:
            limit = max(_scale_up_limit(up, self.scale_up_events, self.scale_down_events, now, current), current)
            maximum, why = (limit, _SCALE_UP_LIMITED) if hpa.max_replicas > limit else (hpa.max_replicas, _TOO_MANY)
            if desired > maximum:
                return maximum, why
        elif desired < current:
            limit = min(_scale_down_limit(down, self.scale_up_events, self.scale_down_events, now, current), current)
            minimum, why = (limit, _SCALE_DOWN_LIMITED) if hpa.min_replicas < limit else (hpa.min_replicas, _TOO_FEW)
            if desired < minimum:
                return minimum, why
        return desired, _WITHIN

    def store_scale_event(self, hpa: HPA, now: float, previous: int, new: int) -> None:
        """storeScaleEvent: mark events older than the longest policy period outdated, reuse the last one."""
        behavior = behavior_of(hpa)
        if behavior is None:
            return  # the legacy path never reads scale events
        if new > previous:
            rules, events, change = behavior[0], self.scale_up_events, new - previous
        else:
            rules, events, change = behavior[1], self.scale_down_events, previous - new
        cutoff = now - max((policy.period_seconds for policy in rules.policies), default=0)
        reuse = -1
        for index, event in enumerate(events):
            if event.timestamp_seconds < cutoff:
                event.outdated = True
            if event.outdated:
                reuse = index
        if reuse >= 0:
            events[reuse] = ScaleEvent(now, change)
        else:
            events.append(ScaleEvent(now, change))


def _changes_in_period(policy: ScalingPolicy, events: Sequence[ScaleEvent], now: float) -> int:
    cutoff = now - policy.period_seconds
    return sum(event.replica_change for event in events if event.timestamp_seconds > cutoff)


def _scale_up_limit(
    rules: ScalingRules, ups: Sequence[ScaleEvent], downs: Sequence[ScaleEvent], now: float, current: int
) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = current - _changes_in_period(policy, ups, now) + _changes_in_period(policy, downs, now)
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:  # Percent rounds up so that a small deployment can still grow
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    if not proposals:
        return _MIN_INT32 if rules.select_policy == "Max" else _MAX_INT32
    return max(proposals) if rules.select_policy == "Max" else min(proposals)


def _scale_down_limit(
    rules: ScalingRules, ups: Sequence[ScaleEvent], downs: Sequence[ScaleEvent], now: float, current: int
) -> int:
    """calculateScaleDownLimitWithBehaviors: "Max" means the biggest change, the lowest count."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = current - _changes_in_period(policy, ups, now) + _changes_in_period(policy, downs, now)
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    if not proposals:
        return _MAX_INT32 if rules.select_policy == "Max" else _MIN_INT32
    return min(proposals) if rules.select_policy == "Max" else max(proposals)
