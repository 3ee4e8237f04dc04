"""The autoscaling/v2 HorizontalPodAutoscaler algorithm, exactly as kube-controller-manager runs it.

Why this exists: both the embedded cluster's HPA controller and the optimizer's HPA simulator must
predict the *same* replica counts a real cluster would produce, so the algorithm lives once, pure, here
(`pkg/controller/podautoscaler/replica_calculator.go` + `horizontal.go`; constants in anchors.md §3).

API (all pure; times are plain seconds, quantities are milli-units as the controller's MilliValue()):

- `PodReading`: one pod as the controller sees it (phase, Ready condition, start time, per-container
  requests, the metric reading). `uniform_pods(...)` builds N identical ready pods for a simulator.
- `HpaSpec` (+ `MetricTarget`, `Behavior`, `ScalingRules`, `ScalingPolicy`); `spec_from_k8s(spec_dict)`
  parses a (defaulted or not) `HorizontalPodAutoscaler.spec` dict, applying the API defaults.
- `resource_replicas(...)` / `average_value_replicas(...)`: the per-metric replica calculation.
- `HpaState.step(spec, now_seconds=, current_replicas=, pods=)` -> `Decision`: one controller sync
  (every 15 s in a real cluster): per-metric proposals, max over metrics, stabilisation (with a timestamped
  recommendation history), rate limiting by behavior policies or the legacy 2×/4 limit, min/max clamp,
  the status conditions (AbleToScale / ScalingActive / ScalingLimited), and the rescale reason used in
  the `SuccessfulRescale` event ("New size: N; reason: ..."). The state keeps recommendations and scale
  events between steps, as the controller keeps them in memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from k8s_optimizer.domain.quantities import parse_quantity

TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
SYNC_PERIOD_SECONDS = 15.0  # --horizontal-pod-autoscaler-sync-period
DOWNSCALE_STABILIZATION_SECONDS = 300  # --horizontal-pod-autoscaler-downscale-stabilization
CPU_INITIALIZATION_PERIOD_SECONDS = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY_SECONDS = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
DEFAULT_CPU_UTILIZATION = 80  # the API default metric when spec.metrics is empty
_SCALE_UP_LIMIT_FACTOR = 2.0  # legacy path (no behavior): at most max(2 × current, 4)
_SCALE_UP_LIMIT_MINIMUM = 4.0

PolicyType = Literal["Pods", "Percent"]
PodsInput = Sequence["PodReading"] | Mapping[str, Sequence["PodReading"]]
SelectPolicy = Literal["Max", "Min", "Disabled"]


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
    ready: bool | None = True  # the Ready condition's status; None: no Ready condition yet
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
class MetricTarget:
    """A Resource (or ContainerResource, when `container` is set) metric with one kind of target."""

    resource: str = "cpu"
    average_utilization: int | None = None  # percent of request
    average_value_milli: int | None = None
    container: str = ""

    @property
    def name(self) -> str:
        """The metric's name as the controller writes it into reasons and conditions."""
        if self.average_utilization is not None:
            return f"{self.resource} resource utilization (percentage of request)"
        return f"{self.resource} resource"


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True, slots=True)
class ScalingRules:
    stabilization_window_seconds: int
    select_policy: SelectPolicy
    policies: tuple[ScalingPolicy, ...]
    tolerance: float = TOLERANCE


@dataclass(frozen=True, slots=True)
class Behavior:
    scale_up: ScalingRules
    scale_down: ScalingRules


DEFAULT_SCALE_UP = ScalingRules(0, "Max", (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)))
DEFAULT_SCALE_DOWN = ScalingRules(DOWNSCALE_STABILIZATION_SECONDS, "Max", (ScalingPolicy("Percent", 100, 15),))


@dataclass(frozen=True, slots=True)
class HpaSpec:
    max_replicas: int
    min_replicas: int = 1
    metrics: tuple[MetricTarget, ...] = (MetricTarget(average_utilization=DEFAULT_CPU_UTILIZATION),)
    behavior: Behavior | None = None  # None: the legacy normalisation path


_DEFAULT_METRICS = (MetricTarget(average_utilization=DEFAULT_CPU_UTILIZATION),)


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

    target: MetricTarget
    replicas: int = 0
    utilization_percent: int | None = None
    average_value_milli: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    current_replicas: int
    desired_replicas: int
    rescale: bool
    reason: str  # the SuccessfulRescale reason ("" when not rescaling)
    metrics: tuple[MetricResult, ...]
    conditions: tuple[Condition, ...]  # in the order the controller sets them; later wins per type
    error: str | None = None  # set when no replica count could be computed (FailedComputeMetricsReplicas)


# -- parsing a Kubernetes spec dict ------------------------------------------------------------------------
def _rules_from_k8s(raw: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    """Fill nil fields with the defaults, as SetDefaults_HorizontalPodAutoscalerBehavior does."""
    if raw is None:
        return default
    window = raw.get("stabilizationWindowSeconds")
    policies = raw.get("policies")
    tolerance = raw.get("tolerance")
    return ScalingRules(
        stabilization_window_seconds=default.stabilization_window_seconds if window is None else int(window),
        select_policy=raw.get("selectPolicy") or default.select_policy,
        policies=default.policies
        if policies is None
        else tuple(ScalingPolicy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in policies),
        tolerance=TOLERANCE if tolerance is None else float(tolerance),
    )


def _metric_from_k8s(raw: Mapping[str, Any]) -> MetricTarget | None:
    kind = raw.get("type")
    if kind not in ("Resource", "ContainerResource"):
        return None  # Pods/Object/External metrics have no source in the embedded cluster
    source = raw.get("resource") if kind == "Resource" else raw.get("containerResource")
    source = source or {}
    target = source.get("target") or {}
    value = target.get("averageValue")
    return MetricTarget(
        resource=str(source.get("name", "cpu")),
        average_utilization=int(target["averageUtilization"]) if target.get("averageUtilization") is not None else None,
        average_value_milli=_milli(value) if value is not None else None,
        container=str(source.get("container", "")),
    )


def _milli(quantity: str | int | float) -> int:
    return math.ceil(parse_quantity(quantity) * 1000)


def spec_from_k8s(spec: Mapping[str, Any]) -> HpaSpec:
    """An autoscaling/v2 `spec` dict -> HpaSpec, with the API server's defaults applied."""
    metrics = tuple(m for m in (_metric_from_k8s(raw) for raw in spec.get("metrics") or ()) if m is not None)
    raw_behavior = spec.get("behavior")
    behavior = None
    if raw_behavior is not None:
        behavior = Behavior(
            scale_up=_rules_from_k8s(raw_behavior.get("scaleUp"), DEFAULT_SCALE_UP),
            scale_down=_rules_from_k8s(raw_behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
        )
    return HpaSpec(
        max_replicas=int(spec["maxReplicas"]),
        min_replicas=int(spec.get("minReplicas") or 1),
        metrics=metrics or _DEFAULT_METRICS,
        behavior=behavior,
    )


# -- per-metric replica calculation (replica_calculator.go) ----------------------------------------------
@dataclass(slots=True)
class _Groups:
    ready_count: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


def _cpu_unready(pod: PodReading, now_seconds: float) -> bool:
    if pod.ready is None or pod.start_seconds is None:
        return True
    if pod.start_seconds + CPU_INITIALIZATION_PERIOD_SECONDS > now_seconds:
        # within the initialisation period: unready, or no full metric window since the last transition
        return (
            not pod.ready
        ) or pod.metric_timestamp_seconds < pod.ready_transition_seconds + pod.metric_window_seconds
    # after it: ignore only pods that are unready and have never been ready
    return (not pod.ready) and pod.start_seconds + INITIAL_READINESS_DELAY_SECONDS > pod.ready_transition_seconds


def _group_pods(pods: Sequence[PodReading], resource: str, now_seconds: float) -> _Groups:
    groups = _Groups()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            groups.ignored.add(pod.name)
        elif pod.phase == "Pending":
            groups.unready.add(pod.name)
        elif pod.usage_milli is None:
            groups.missing.add(pod.name)
        elif resource == "cpu" and _cpu_unready(pod, now_seconds):
            groups.unready.add(pod.name)
        else:
            groups.ready_count += 1
    return groups


def _pod_requests(pods: Sequence[PodReading], target: MetricTarget) -> dict[str, int]:
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        for container, request in pod.requests_milli.items():
            if target.container and container != target.container:
                continue
            if request is None:
                raise HpaError(f"missing request for {target.resource} in container {container} of Pod {pod.name}")
            total += request
        requests[pod.name] = total
    return requests


def _utilization(
    metrics: Mapping[str, int], requests: Mapping[str, int], target_percent: int
) -> tuple[float, int, int]:
    """(ratio, integer-truncated utilisation %, raw average) over pods that have both a metric and a request."""
    usage_total = request_total = entries = 0
    for name, value in metrics.items():
        if name in requests:
            usage_total += value
            request_total += requests[name]
            entries += 1
    if request_total == 0:
        raise HpaError("no metrics returned matched known pods")
    utilization = (usage_total * 100) // request_total
    return utilization / target_percent, utilization, usage_total // entries


def _within(ratio: float, tolerance_up: float, tolerance_down: float) -> bool:
    return (1.0 - tolerance_down) <= ratio <= (1.0 + tolerance_up)


@dataclass(frozen=True, slots=True)
class _Tolerances:
    up: float = TOLERANCE
    down: float = TOLERANCE


def _usable_metrics(pods: Sequence[PodReading], resource: str, now_seconds: float) -> tuple[dict[str, int], _Groups]:
    if not pods:
        raise HpaError("no pods returned by selector while calculating replica count")
    groups = _group_pods(pods, resource, now_seconds)
    metrics = {
        pod.name: pod.usage_milli
        for pod in pods
        if pod.usage_milli is not None and pod.name not in groups.ignored and pod.name not in groups.unready
    }
    if not metrics:
        raise HpaError("did not receive metrics for targeted pods (pods might be unready)")
    return metrics, groups


def _final_count(current: int, ratio: float, new_ratio: float, entries: int, tol: _Tolerances) -> int:
    if _within(new_ratio, tol.up, tol.down) or (ratio > 1.0 > new_ratio) or (ratio < 1.0 < new_ratio):
        return current  # too small a change, or the corrected ratio flips the scale direction
    replicas = math.ceil(new_ratio * entries)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def resource_replicas(
    current_replicas: int,
    target: MetricTarget,
    pods: Sequence[PodReading],
    now_seconds: float,
    tolerances: tuple[float, float] = (TOLERANCE, TOLERANCE),
) -> MetricResult:
    """GetResourceReplicas: a Utilization target (percent of the pods' requests). Raises HpaError."""
    assert target.average_utilization is not None
    tol = _Tolerances(*tolerances)
    metrics, groups = _usable_metrics(pods, target.resource, now_seconds)
    requests = _pod_requests(pods, target)
    ratio, utilization, raw = _utilization(metrics, requests, target.average_utilization)
    result = MetricResult(target, current_replicas, utilization, raw)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if _within(ratio, tol.up, tol.down):
            return result
        return MetricResult(target, math.ceil(ratio * groups.ready_count), utilization, raw)
    if groups.missing:
        fallback_percent = max(100, target.average_utilization)
        for name in groups.missing:
            # scale-down: missing pods count as 100 % of request; scale-up: as 0 %
            metrics[name] = requests[name] * fallback_percent // 100 if ratio < 1.0 else 0
    if scale_up_with_unready:
        for name in groups.unready:
            metrics[name] = 0
    new_ratio, _, _ = _utilization(metrics, requests, target.average_utilization)
    return MetricResult(target, _final_count(current_replicas, ratio, new_ratio, len(metrics), tol), utilization, raw)


def average_value_replicas(
    current_replicas: int,
    target: MetricTarget,
    pods: Sequence[PodReading],
    now_seconds: float,
    tolerances: tuple[float, float] = (TOLERANCE, TOLERANCE),
) -> MetricResult:
    """GetRawResourceReplicas: an AverageValue target (no requests needed). Raises HpaError."""
    assert target.average_value_milli is not None
    tol = _Tolerances(*tolerances)
    goal = target.average_value_milli
    metrics, groups = _usable_metrics(pods, target.resource, now_seconds)
    average = sum(metrics.values()) // len(metrics)
    ratio = average / goal
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if _within(ratio, tol.up, tol.down):
            return MetricResult(target, current_replicas, None, average)
        return MetricResult(target, math.ceil(ratio * groups.ready_count), None, average)
    for name in groups.missing:
        metrics[name] = goal if ratio < 1.0 else 0
    if scale_up_with_unready:
        for name in groups.unready:
            metrics[name] = 0
    new_ratio = (sum(metrics.values()) // len(metrics)) / goal
    return MetricResult(target, _final_count(current_replicas, ratio, new_ratio, len(metrics), tol), None, average)


def metric_replicas(
    current_replicas: int,
    target: MetricTarget,
    pods: Sequence[PodReading],
    now_seconds: float,
    tolerances: tuple[float, float] = (TOLERANCE, TOLERANCE),
) -> MetricResult:
    """One metric's proposal; errors come back as a MetricResult with `error` set (never raised)."""
    try:
        if target.average_utilization is not None:
            return resource_replicas(current_replicas, target, pods, now_seconds, tolerances)
        if target.average_value_milli is not None:
            return average_value_replicas(current_replicas, target, pods, now_seconds, tolerances)
        raise HpaError("invalid resource metric source: neither a utilization target nor a value target set")
    except HpaError as exc:
        return MetricResult(target, error=f"failed to get {target.resource} utilization: {exc}")


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


@dataclass(slots=True)
class HpaState:
    """What the controller remembers per HPA between syncs: raw recommendations and scale events."""

    recommendations: list[tuple[float, int]] = field(default_factory=list)  # (timestamp, raw desired)
    scale_up_events: list[tuple[float, int]] = field(default_factory=list)  # (timestamp, replicas added)
    scale_down_events: list[tuple[float, int]] = field(default_factory=list)  # (timestamp, replicas removed)
    _initialized: bool = False

    def step(self, spec: HpaSpec, *, now_seconds: float, current_replicas: int, pods: PodsInput) -> Decision:
        """One reconcile: compute, normalise, decide; records the recommendation and any scale event.

        `pods` is one list (its readings serve every metric) or a mapping resource name -> list, when the
        HPA has metrics on several resources (e.g. {"cpu": [...], "memory": [...]}).
        """
        if not self._initialized:  # recordInitialRecommendation
            self.recommendations.append((now_seconds, current_replicas))
            self._initialized = True
        conditions: list[Condition] = []
        if current_replicas == 0 and spec.min_replicas != 0:
            conditions.append(_DISABLED)
            return Decision(0, 0, False, "", (), tuple(conditions))
        if current_replicas > spec.max_replicas:
            return self._forced(spec, now_seconds, current_replicas, spec.max_replicas, _ABOVE_MAX)
        if current_replicas < spec.min_replicas:
            return self._forced(spec, now_seconds, current_replicas, spec.min_replicas, _BELOW_MIN)
        return self._compute(spec, now_seconds, current_replicas, pods, conditions)

    def _forced(self, spec: HpaSpec, now: float, current: int, desired: int, reason: str) -> Decision:
        conditions = (_rescaled(desired),)
        self._store_scale_event(spec.behavior, now, current, desired)
        return Decision(current, desired, True, reason, (), conditions)

    def _compute(
        self, spec: HpaSpec, now: float, current: int, pods: PodsInput, conditions: list[Condition]
    ) -> Decision:
        results = tuple(
            metric_replicas(current, m, _pods_for(pods, m.resource), now, _tolerances(spec)) for m in spec.metrics
        )
        valid = [r for r in results if r.error is None]
        proposal, best = 0, None
        for result in valid:
            if proposal == 0 or result.replicas > proposal:
                proposal, best = result.replicas, result
        invalid = len(results) - len(valid)
        if invalid >= len(results) or (invalid > 0 and proposal < current):
            first = next(r for r in results if r.error is not None)
            message = f"the HPA was unable to compute the replica count: {first.error}"
            conditions.append(Condition("ScalingActive", "False", "FailedGetResourceMetric", message))
            error = f"invalid metrics ({invalid} invalid out of {len(results)}), first error is: {first.error}"
            return Decision(current, current, False, "", results, tuple(conditions), error)
        assert best is not None
        message = f"the HPA was able to successfully calculate a replica count from {best.target.name}"
        conditions.append(Condition("ScalingActive", "True", "ValidMetricFound", message))
        reason = ""
        if proposal > current:
            reason = f"{best.target.name} above target"
        elif proposal < current:
            reason = "All metrics below target"
        if spec.behavior is None:
            desired = self._normalize_legacy(spec, now, current, proposal, conditions)
        else:
            desired = self._normalize_with_behavior(spec, spec.behavior, now, current, proposal, conditions)
        rescale = desired != current
        if rescale:
            conditions.append(_rescaled(desired))
            self._store_scale_event(spec.behavior, now, current, desired)
        return Decision(current, desired, rescale, reason if rescale else "", results, tuple(conditions))

    # legacy path: stabilise over the fixed 300 s window, then the 2×/4 rate limit and min/max
    def _normalize_legacy(
        self, spec: HpaSpec, now: float, current: int, proposal: int, conditions: list[Condition]
    ) -> int:
        stabilized = self._stabilize_legacy(now, proposal)
        picked = _DOWN_STABILIZED if stabilized != proposal else _READY
        conditions.append(Condition("AbleToScale", "True", *picked))
        scale_up_limit = int(max(_SCALE_UP_LIMIT_FACTOR * current, _SCALE_UP_LIMIT_MINIMUM))
        maximum, limited = (spec.max_replicas, _TOO_MANY)
        if spec.max_replicas > scale_up_limit:
            maximum, limited = scale_up_limit, _SCALE_UP_LIMITED
        if stabilized < spec.min_replicas:
            desired, why = spec.min_replicas, _TOO_FEW
        elif stabilized > maximum:
            desired, why = maximum, limited
        else:
            desired, why = stabilized, _WITHIN
        conditions.append(Condition("ScalingLimited", "False" if desired == stabilized else "True", *why))
        return desired

    def _stabilize_legacy(self, now: float, proposal: int) -> int:
        cutoff = now - DOWNSCALE_STABILIZATION_SECONDS
        highest = proposal
        old_index = -1
        for index, (stamp, recommendation) in enumerate(self.recommendations):
            if stamp < cutoff:
                old_index = index
            elif recommendation > highest:
                highest = recommendation
        if old_index >= 0:
            self.recommendations[old_index] = (now, proposal)
        else:
            self.recommendations.append((now, proposal))
        return highest

    # behavior path: stabilise between the up/down windows, then rate-limit by the policies
    def _normalize_with_behavior(
        self, spec: HpaSpec, behavior: Behavior, now: float, current: int, proposal: int, conditions: list[Condition]
    ) -> int:
        stabilized = self._stabilize_with_behavior(behavior, now, current, proposal)
        if stabilized != proposal:
            why = _UP_STABILIZED if proposal >= current else _DOWN_STABILIZED
            conditions.append(Condition("AbleToScale", "True", *why))
        else:
            conditions.append(Condition("AbleToScale", "True", *_READY))
        desired, why = self._rate_limit(spec, behavior, now, current, stabilized)
        conditions.append(Condition("ScalingLimited", "False" if desired == stabilized else "True", *why))
        return desired

    def _stabilize_with_behavior(self, behavior: Behavior, now: float, current: int, proposal: int) -> int:
        up_cutoff = now - behavior.scale_up.stabilization_window_seconds
        down_cutoff = now - behavior.scale_down.stabilization_window_seconds
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
        if old_index >= 0:
            self.recommendations[old_index] = (now, proposal)
        else:
            self.recommendations.append((now, proposal))
        return stabilized

    def _rate_limit(
        self, spec: HpaSpec, behavior: Behavior, now: float, current: int, desired: int
    ) -> tuple[int, tuple[str, str]]:
        if desired > current:
            limit = max(self._scale_up_limit(behavior.scale_up, now, current), current)
            maximum, why = (limit, _SCALE_UP_LIMITED) if spec.max_replicas > limit else (spec.max_replicas, _TOO_MANY)
            if desired > maximum:
                return maximum, why
        elif desired < current:
            limit = min(self._scale_down_limit(behavior.scale_down, now, current), current)
            minimum, why = (limit, _SCALE_DOWN_LIMITED) if spec.min_replicas < limit else (spec.min_replicas, _TOO_FEW)
            if desired < minimum:
                return minimum, why
        return desired, _WITHIN

    def _period_start(self, policy: ScalingPolicy, now: float, current: int) -> int:
        cutoff = now - policy.period_seconds
        added = sum(change for stamp, change in self.scale_up_events if stamp > cutoff)
        removed = sum(change for stamp, change in self.scale_down_events if stamp > cutoff)
        return current - added + removed

    def _scale_up_limit(self, rules: ScalingRules, now: float, current: int) -> int:
        if rules.select_policy == "Disabled":
            return current
        proposals = []
        for policy in rules.policies:
            start = self._period_start(policy, now, current)
            if policy.type == "Pods":
                proposals.append(start + policy.value)
            else:  # Percent rounds up so that a small deployment can still grow
                proposals.append(math.ceil(start * (1 + policy.value / 100)))
        if not proposals:
            return -(2**31) if rules.select_policy == "Max" else 2**31 - 1
        return max(proposals) if rules.select_policy == "Max" else min(proposals)

    def _scale_down_limit(self, rules: ScalingRules, now: float, current: int) -> int:
        if rules.select_policy == "Disabled":
            return current
        proposals = []
        for policy in rules.policies:
            start = self._period_start(policy, now, current)
            if policy.type == "Pods":
                proposals.append(start - policy.value)
            else:
                proposals.append(int(start * (1 - policy.value / 100)))
        if not proposals:
            return 2**31 - 1 if rules.select_policy == "Max" else -(2**31)
        # "Max" means the biggest change, which for a scale-down is the lowest count
        return min(proposals) if rules.select_policy == "Max" else max(proposals)

    def _store_scale_event(self, behavior: Behavior | None, now: float, previous: int, new: int) -> None:
        if behavior is None:
            return  # the legacy path never reads scale events
        if new > previous:
            rules, events, change = behavior.scale_up, self.scale_up_events, new - previous
        else:
            rules, events, change = behavior.scale_down, self.scale_down_events, previous - new
        longest = max((p.period_seconds for p in rules.policies), default=0)
        events[:] = [(stamp, delta) for stamp, delta in events if stamp >= now - longest]
        events.append((now, change))


def _pods_for(pods: PodsInput, resource: str) -> Sequence[PodReading]:
    if isinstance(pods, Mapping):
        return pods.get(resource, ())
    return pods


def _tolerances(spec: HpaSpec) -> tuple[float, float]:
    if spec.behavior is None:
        return (TOLERANCE, TOLERANCE)
    return (spec.behavior.scale_up.tolerance, spec.behavior.scale_down.tolerance)
