from __future__ import annotations

from collections.abc import Sequence

import pytest

from k8s_optimizer.analysis.hpa_simulation import (
    SearchSpace,
    SimulationResult,
    aggregate_cpu_usage,
    best_candidate,
    candidates,
    cpu_target_percent,
    memory_target_percent,
    simulate,
    spec_for,
)
from k8s_optimizer.domain.autoscaling import HpaControllerConfig
from k8s_optimizer.domain.objects import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HPA,
    HPAMetricTarget,
    ScalingPolicy,
    ScalingRules,
)
from k8s_optimizer.domain.usage import UsagePoint
from tests.recommend.factories import container_history, deployment, hpa, workload_history


def _load(values: Sequence[float], step_seconds: float = 15.0) -> list[UsagePoint]:
    return [UsagePoint(index * step_seconds, value) for index, value in enumerate(values)]


def _replicas(result: SimulationResult) -> list[int]:
    return [step.replicas for step in result.steps]


def _spec(*, minimum: int, maximum: int, target: int, behavior: bool = True) -> HPA:
    target_hpa = hpa(deployment(), minimum=minimum, maximum=maximum, cpu_percent=target)
    if behavior:
        target_hpa = hpa(
            deployment(), minimum=minimum, maximum=maximum, cpu_percent=target,
            scale_up=DEFAULT_SCALE_UP, scale_down=DEFAULT_SCALE_DOWN,
        )  # fmt: skip
    return spec_for(target_hpa, min_replicas=minimum, max_replicas=maximum, target_percent=target)


def test_scale_up_follows_the_default_policies():
    # 1000m on 1 pod of 100m at target 50 % wants 20 replicas; default behaviour allows
    # max(+4 pods, +100 %) per 15 s: 1 → 5 → 10 → 20.
    result = simulate(
        _load([1000] * 6), _spec(minimum=1, maximum=20, target=50), request_millicores_per_pod=100, initial_replicas=1
    )
    assert _replicas(result) == [1, 5, 10, 20, 20, 20]


def test_scale_up_legacy_limit_without_behavior():
    # No behaviour: at most max(2 × current, 4) per sync: 1 → 4 → 8 → 16 → 20 (max).
    spec = _spec(minimum=1, maximum=20, target=50, behavior=False)
    result = simulate(_load([1000] * 6), spec, request_millicores_per_pod=100, initial_replicas=1)
    assert _replicas(result) == [1, 4, 8, 16, 20, 20]


def test_scale_down_waits_for_the_stabilisation_window():
    # 10 pods at 100 % of target; load halves at t=60 s. The highest recommendation of the last 300 s
    # (10) holds until the t=45 s one ages out at t=345 s; the next sync (t=360 s) runs 5 replicas.
    load = _load([1000] * 4 + [500] * 30)
    result = simulate(
        load, _spec(minimum=1, maximum=20, target=100), request_millicores_per_pod=100, initial_replicas=10
    )
    replicas = _replicas(result)
    assert replicas[:24] == [10] * 24
    assert replicas[24:] == [5] * 10


@pytest.mark.parametrize(("total_millicores", "expected"), [(545, 10), (560, 12)])
def test_tolerance(total_millicores, expected):
    # 10 pods × 100m at target 50 %: 545m → 54 % → ratio 1.08 (within 0.1: no change); 560m → 1.12 → ceil(11.2) = 12.
    result = simulate(
        _load([total_millicores] * 3),
        _spec(minimum=1, maximum=20, target=50),
        request_millicores_per_pod=100,
        initial_replicas=10,
    )
    assert _replicas(result)[-1] == expected


def test_summary_metrics():
    result = simulate(
        _load([1000] * 6), _spec(minimum=1, maximum=20, target=50), request_millicores_per_pod=100, initial_replicas=1,
        replica_hour_usd=0.01,
    )  # fmt: skip
    # replicas 1+5+10+20+20+20 = 76 replica-syncs of 15 s = 0.3167 replica-h
    assert result.summary.replica_hours == pytest.approx(76 * 15 / 3600, abs=1e-4)
    assert result.summary.cost_usd == pytest.approx(0.0032, abs=1e-4)
    assert result.summary.time_at_max_seconds == 45.0
    assert result.summary.time_at_min_seconds == 15.0
    assert result.summary.scale_events_per_hour == pytest.approx(3 / (90 / 3600))
    assert result.summary.max_utilization_percent == 1000.0
    assert result.summary.time_over_target_seconds == 45.0  # 1000 %, 200 %, 100 % of request against a 55 % limit


def test_aggregate_sums_pods_per_slot():
    workload = deployment()
    history = workload_history(
        workload,
        [
            container_history("web-0", [100, 200], step_seconds=15),
            container_history("web-1", [50, 50], step_seconds=15),
        ],
    )
    totals = aggregate_cpu_usage(history)
    assert [point.value for point in totals] == [150.0, 250.0]


def test_cpu_target_percent():
    workload = deployment()
    assert cpu_target_percent(hpa(workload, cpu_percent=65)) == 65
    assert cpu_target_percent(hpa(workload, cpu_percent=None)) == 80  # no metrics: the API default
    memory_only = hpa(workload, cpu_percent=None, metrics=(HPAMetricTarget("Resource", "memory", "Utilization", 70),))
    assert cpu_target_percent(memory_only) is None
    assert memory_target_percent(memory_only) == 70
    assert memory_target_percent(hpa(workload, cpu_percent=65)) is None


def test_custom_behavior_is_used():
    slow = ScalingRules(0, "Max", (ScalingPolicy("Pods", 1, 60),))
    target_hpa = hpa(deployment(), minimum=1, maximum=10, cpu_percent=50, scale_up=slow)
    spec = spec_for(target_hpa, min_replicas=1, max_replicas=10, target_percent=50)
    result = simulate(_load([1000] * 6), spec, request_millicores_per_pod=100, initial_replicas=1)
    assert _replicas(result) == [1, 2, 2, 2, 2, 3]  # one pod per 60 s


def test_search_finds_fewest_replica_hours_under_target():
    # Steady 1000m; request 100m. At target 50 % the HPA holds 20 replicas; at 70 % it holds 15.
    load = _load([1000] * 240)
    space = SearchSpace(min_replicas_floor=2, max_replicas_cap=50, targets_percent=(50, 70))
    runs = [
        simulate(load, spec_for(hpa(deployment()), min_replicas=low, max_replicas=high, target_percent=target),
                 request_millicores_per_pod=100, initial_replicas=20)
        for low, high, target in candidates(load, 100, space)
    ]  # fmt: skip
    best = best_candidate(runs)
    assert best is not None
    assert best.target_utilization_percent == 70
    assert best.steps[-1].replicas == 15
    assert best.min_replicas == 15  # 14 and 15 cost the same here; the tie goes to the safer floor
    assert best.max_replicas == 18


def test_controller_settings_and_the_hpas_own_tolerance_reach_the_replay():
    # 115 m on 2 pods of 100 m at a 50 % target: 57 % → ratio 1.15 (the per-pod usage is ceil(115/2) = 58m → 58 %,
    # ratio 1.16): outside the default 10 % tolerance, so the HPA grows to ceil(1.16 × 2) = 3
    load = _load([115] * 4)
    spec = _spec(minimum=1, maximum=10, target=50)
    assert _replicas(simulate(load, spec, request_millicores_per_pod=100, initial_replicas=2)) == [2, 3, 3, 3]
    # a cluster whose controller runs --horizontal-pod-autoscaler-tolerance=0.2 keeps 2
    wide = HpaControllerConfig(tolerance=0.2)
    kept = simulate(load, spec, request_millicores_per_pod=100, initial_replicas=2, config=wide)
    assert _replicas(kept) == [2, 2, 2, 2]
    # and so does an HPA whose own behavior.scaleUp.tolerance is "200m" (a quantity)
    tolerant = hpa(
        deployment(), minimum=1, maximum=10, cpu_percent=50,
        scale_up=ScalingRules(0, "Max", DEFAULT_SCALE_UP.policies, tolerance="200m"), scale_down=DEFAULT_SCALE_DOWN,
    )  # fmt: skip
    own = spec_for(tolerant, min_replicas=1, max_replicas=10, target_percent=50)
    assert _replicas(simulate(load, own, request_millicores_per_pod=100, initial_replicas=2)) == [2, 2, 2, 2]
