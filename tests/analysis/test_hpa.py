"""Hand-computed cases of the autoscaling/v2 algorithm (replica_calculator.go + horizontal.go)."""

from __future__ import annotations

import pytest

from k8s_optimizer.analysis.hpa import Condition, HpaState, PodReading, metric_replicas, uniform_pods
from k8s_optimizer.domain.autoscaling import hpa_from_json
from k8s_optimizer.domain.objects import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA,
    HPAMetricTarget,
    ObjectRef,
    ScalingPolicy,
    ScalingRules,
)

CPU50 = HPAMetricTarget("Resource", "cpu", "Utilization", 50)
Behavior = tuple[ScalingRules, ScalingRules]


def HpaSpec(  # noqa: N802 - reads like the spec it builds
    *,
    max_replicas: int,
    min_replicas: int = 1,
    metrics: tuple[HPAMetricTarget, ...] = (HPAMetricTarget("Resource", "cpu", "Utilization", 80),),
    behavior: Behavior | None = None,
) -> HPA:
    up, down = behavior if behavior is not None else (None, None)
    return HPA("ns", "web", ObjectRef("Deployment", "ns", "web"), min_replicas, max_replicas, metrics, up, down)


def busy(count: int, usage_milli: int) -> list[PodReading]:
    return uniform_pods(count, request_milli=100, usage_milli_per_pod=usage_milli)


def pod(name: str, usage: int | None, request: int | None = 100, **kw: object) -> PodReading:
    return PodReading(name=name, requests_milli={"app": request}, usage_milli=usage, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pods", "current", "expected_replicas", "expected_utilization"),
    [
        # 55 % of request vs 50 % target: ratio 1.1 is inside the 0.1 tolerance -> unchanged
        ([pod("a", 55), pod("b", 55), pod("c", 55)], 3, 3, 55),
        # 90 % vs 50 %: ratio 1.8 -> ceil(1.8 × 3) = 6
        ([pod("a", 90), pod("b", 90), pod("c", 90)], 3, 6, 90),
        # 329 m over 300 m requested = 109.67 % truncated to 109; 109/99 -> ceil(1.101 × 3) = 4
        ([pod("a", 109), pod("b", 110), pod("c", 110)], 3, 4, 109),
        # 20 % vs 50 %: ratio 0.4 -> ceil(0.4 × 3) = 2
        ([pod("a", 20), pod("b", 20), pod("c", 20)], 3, 2, 20),
        # a pending pod is unready: ignored on scale-down; ratio 0.4 over 3 ready pods -> 2
        ([pod("a", 20), pod("b", 20), pod("c", 20), pod("d", None, phase="Pending")], 4, 2, 20),
        # failed and deleting pods are ignored entirely
        ([pod("a", 90), pod("b", 90), pod("x", 500, phase="Failed"), pod("y", 500, deleting=True)], 4, 4, 90),
    ],
)
def test_utilization_replicas(
    pods: list[PodReading], current: int, expected_replicas: int, expected_utilization: int
) -> None:
    target = HPAMetricTarget("Resource", "cpu", "Utilization", 99) if expected_utilization == 109 else CPU50
    result = metric_replicas(current, target, pods, now_seconds=1000.0)
    assert result.error is None
    assert (result.replicas, result.utilization_percent) == (expected_replicas, expected_utilization)


def test_missing_metrics_count_as_full_request_on_scale_down() -> None:
    # 30 m / 300 m = 10 % -> ratio 0.2; the missing pod counts as 100 m: 130/400 = 32 % -> 0.64 -> ceil(2.56) = 3
    pods = [pod("a", 10), pod("b", 10), pod("c", 10), pod("d", None)]
    assert metric_replicas(4, CPU50, pods, 1000.0).replicas == 3


def test_missing_metrics_count_as_zero_on_scale_up() -> None:
    # 300/300 = 100 % -> ratio 2; the missing pod as 0: 300/400 = 75 % -> 1.5 -> ceil(1.5 × 4) = 6
    pods = [pod("a", 100), pod("b", 100), pod("c", 100), pod("d", None)]
    assert metric_replicas(4, CPU50, pods, 1000.0).replicas == 6


def test_unready_pods_count_as_zero_on_scale_up() -> None:
    # d started 100 s ago and is not ready (inside the 5 min CPU initialisation period) -> counted as 0
    unready = pod("d", 400, ready="False", start_seconds=900.0, ready_transition_seconds=900.0)
    pods = [pod("a", 100), pod("b", 100), pod("c", 100), unready]
    assert metric_replicas(4, CPU50, pods, 1000.0).replicas == 6


def test_missing_request_is_an_error() -> None:
    result = metric_replicas(2, CPU50, [pod("p-0", 50, request=None), pod("p-1", 50)], 1000.0)
    assert result.error == "failed to get cpu utilization: missing request for cpu in container app of Pod p-0"


def test_average_value_target() -> None:
    # average (300 + 500) / 2 = 400 m vs 200 m -> ratio 2 -> ceil(2 × 2) = 4
    target = HPAMetricTarget("Resource", "cpu", "AverageValue", average_value_quantity="200m")
    result = metric_replicas(2, target, [pod("a", 300, request=None), pod("b", 500, request=None)], 1000.0)
    assert (result.replicas, result.average_value_milli) == (4, 400)


def _conditions(decision_conditions: tuple[Condition, ...]) -> dict[str, tuple[str, str]]:
    latest: dict[str, tuple[str, str]] = {}
    for condition in decision_conditions:
        latest[condition.type] = (condition.status, condition.reason)
    return latest


def test_legacy_scale_up_is_limited_to_twice_or_four() -> None:
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,))
    decision = HpaState().step(spec, now_seconds=0.0, current_replicas=2, pods=busy(2, 1000))
    assert (decision.desired_replicas, decision.rescale) == (4, True)
    assert decision.reason == "cpu resource utilization (percentage of request) above target"
    assert _conditions(decision.conditions) == {
        "ScalingActive": ("True", "ValidMetricFound"),
        "AbleToScale": ("True", "SucceededRescale"),
        "ScalingLimited": ("True", "ScaleUpLimit"),
    }


def test_legacy_scale_down_waits_for_the_300_s_stabilisation_window() -> None:
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,))
    state = HpaState()
    up = state.step(spec, now_seconds=0.0, current_replicas=4, pods=busy(4, 100))
    assert up.desired_replicas == 8
    idle = busy(8, 10)  # 10 % -> raw recommendation ceil(0.2 × 8) = 2
    held = [state.step(spec, now_seconds=t, current_replicas=8, pods=idle) for t in range(15, 301, 15)]
    assert {d.desired_replicas for d in held} == {8}  # the t=0 recommendation of 8 is still inside the window at t=300
    assert _conditions(held[0].conditions)["AbleToScale"] == ("True", "ScaleDownStabilized")
    down = state.step(spec, now_seconds=315.0, current_replicas=8, pods=idle)
    assert (down.desired_replicas, down.reason) == (2, "All metrics below target")


def test_behavior_policies_pick_the_largest_increase() -> None:
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=(DEFAULT_SCALE_UP, DEFAULT_SCALE_DOWN))
    state = HpaState()
    # proposal 40; Pods policy 2 + 4 = 6, Percent 2 × 2 = 4; selectPolicy Max -> 6
    first = state.step(spec, now_seconds=0.0, current_replicas=2, pods=busy(2, 1000))
    assert first.desired_replicas == 6
    # 15 s later the t=0 event is outside the 15 s period: 6 + 4 = 10, 6 × 2 = 12 -> 12, capped by max 10
    second = state.step(spec, now_seconds=15.0, current_replicas=6, pods=busy(6, 1000))
    assert second.desired_replicas == 10
    assert _conditions(second.conditions)["ScalingLimited"] == ("True", "TooManyReplicas")


def test_behavior_period_counts_earlier_scale_events() -> None:
    slow_up = ScalingRules(0, "Max", (ScalingPolicy("Pods", 2, 60),))
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=(slow_up, DEFAULT_SCALE_DOWN))
    state = HpaState()
    hot = 1000
    first = state.step(spec, now_seconds=0.0, current_replicas=2, pods=busy(2, hot))
    assert first.desired_replicas == 4
    # periodStart = 4 − 2 added in the last 60 s = 2 -> limit 2 + 2 = 4: no further growth yet
    held = state.step(spec, now_seconds=15.0, current_replicas=4, pods=busy(4, hot))
    assert (held.desired_replicas, held.rescale) == (4, False)
    assert _conditions(held.conditions)["ScalingLimited"] == ("True", "ScaleUpLimit")
    later = state.step(spec, now_seconds=75.0, current_replicas=4, pods=busy(4, hot))
    assert later.desired_replicas == 6


def test_behavior_percent_scale_down_and_disabled() -> None:
    half = ScalingRules(0, "Max", (ScalingPolicy("Percent", 50, 60),))
    spec = HpaSpec(max_replicas=20, metrics=(CPU50,), behavior=(DEFAULT_SCALE_UP, half))
    idle = busy(10, 1)
    assert HpaState().step(spec, now_seconds=0.0, current_replicas=10, pods=idle).desired_replicas == 5  # int(10 × 0.5)
    off = ScalingRules(0, "Disabled", half.policies)
    disabled = HpaSpec(max_replicas=20, metrics=(CPU50,), behavior=(DEFAULT_SCALE_UP, off))
    assert HpaState().step(disabled, now_seconds=0.0, current_replicas=10, pods=idle).desired_replicas == 10


def test_invalid_metric_reports_unknown_and_keeps_replicas() -> None:
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,))
    decision = HpaState().step(spec, now_seconds=0.0, current_replicas=2, pods=[pod("w-0", 5, request=None)])
    assert (decision.desired_replicas, decision.rescale) == (2, False)
    assert decision.error == (
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: "
        "missing request for cpu in container app of Pod w-0"
    )
    assert _conditions(decision.conditions) == {"ScalingActive": ("False", "FailedGetResourceMetric")}


def test_replicas_outside_min_max_are_forced_in() -> None:
    spec = HpaSpec(min_replicas=2, max_replicas=5)
    above = HpaState().step(spec, now_seconds=0.0, current_replicas=8, pods=[])
    assert (above.desired_replicas, above.reason) == (5, "Current number of replicas above Spec.MaxReplicas")
    below = HpaState().step(spec, now_seconds=0.0, current_replicas=1, pods=[])
    assert (below.desired_replicas, below.reason) == (2, "Current number of replicas below Spec.MinReplicas")
    zero = HpaState().step(spec, now_seconds=0.0, current_replicas=0, pods=[])
    assert (zero.desired_replicas, zero.rescale) == (0, False)


def test_hpa_from_json_applies_api_defaults() -> None:
    hpa = hpa_from_json(
        {
            "metadata": {"namespace": "shop", "name": "web"},
            "spec": {
                "maxReplicas": 10,
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "behavior": {"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
            },
        }
    )
    assert hpa.min_replicas == 1
    assert hpa.metrics == (HPAMetricTarget("Resource", "cpu", "Utilization", 80),)
    assert hpa.scale_up == DEFAULT_SCALE_UP
    # the scale-down window stays unset: the controller's --horizontal-pod-autoscaler-downscale-stabilization fills it
    assert hpa.scale_down == ScalingRules(None, "Max", (ScalingPolicy("Pods", 1, 60),))
    value = hpa_from_json(
        {
            "spec": {
                "maxReplicas": 3,
                "minReplicas": 0,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "256Mi"}},
                    }
                ],
            }
        }
    )
    assert value.min_replicas == 0  # 0 is a value (scale to zero), not "unset"
    assert value.metrics == (
        HPAMetricTarget(
            "Resource", "memory", "AverageValue", average_value=float(256 * 2**20), average_value_quantity="256Mi"
        ),
    )
    assert (value.scale_up, value.scale_down) == (None, None)


def test_ratio_exactly_one_with_a_missing_pod_keeps_the_count() -> None:
    # 3 pods at 50 % and a new pod without metrics, target 50 %: the ratio is exactly 1.0, so the missing pod is
    # neither counted as 100 % (scale-down) nor as 0 % (scale-up) and the controller keeps 4 (not 3).
    pods = [pod("a", 50), pod("b", 50), pod("c", 50), pod("d", None)]
    assert metric_replicas(4, CPU50, pods, 1000.0).replicas == 4
    value = HPAMetricTarget("Resource", "cpu", "AverageValue", average_value_quantity="50m")
    assert metric_replicas(4, value, pods, 1000.0).replicas == 4


def test_ready_unknown_counts_as_ready() -> None:
    # only a Ready condition that is False (or missing) makes a pod unready; Unknown does not
    unknown = pod("d", 100, ready="Unknown", start_seconds=0.0, ready_transition_seconds=5.0)
    pods = [pod("a", 100), pod("b", 100), pod("c", 100), unknown]
    assert metric_replicas(4, CPU50, pods, 1000.0).replicas == 8  # 100 % / 50 % × 4 ready pods
    false = pod("d", 100, ready="False", start_seconds=0.0, ready_transition_seconds=5.0)
    assert metric_replicas(4, CPU50, [*pods[:3], false], 1000.0).replicas == 6  # unready counted as 0 %: 75 % → 1.5 × 4


def test_min_replicas_zero_is_kept() -> None:
    spec = HpaSpec(min_replicas=0, max_replicas=5, metrics=(CPU50,))
    decision = HpaState().step(spec, now_seconds=0.0, current_replicas=0, pods=[])
    # scaling is not disabled when minReplicas is 0: the controller goes on to compute the metrics
    assert [(c.type, c.reason) for c in decision.conditions] == [("ScalingActive", "FailedGetResourceMetric")]
