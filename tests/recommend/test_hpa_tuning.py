from __future__ import annotations

from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import HPAMetricTarget
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.recommend.hpa_tuning import MAX_TIMELINE_POINTS, recommend_hpa
from k8s_optimizer.recommend.model import HPASettings
from k8s_optimizer.recommend.policy import Policy, Prices
from tests.recommend.factories import container, container_history, deployment, hpa, workload_history

ECHO = deployment("echo", containers=[container(cpu=100, memory=128 * MIB)])


def _history(per_pod_millicores: list[float], step_seconds: float) -> WorkloadHistory:
    pods = [container_history(f"echo-7d9f-{i}", per_pod_millicores, step_seconds=step_seconds) for i in range(2)]
    return workload_history(ECHO, pods)


def test_steady_low_load_proposes_fewer_replica_hours():
    # 2 × 20m on 100m requests at a 50 % target: the HPA sits at its floor of 4; 2 replicas at 70 % suffice.
    rec = recommend_hpa(
        hpa(ECHO, minimum=4, maximum=10, cpu_percent=50), ECHO, _history([20] * 900, 15), Policy(), Prices()
    )
    assert rec is not None
    assert rec.current == HPASettings(4, 10, 50)
    assert isinstance(rec.proposed, HPASettings)
    assert rec.proposed.min_replicas == 2
    assert rec.simulation_current is not None
    assert rec.simulation_proposed is not None
    assert rec.simulation_current.replica_hours == 15.0  # 4 replicas × 3.75 h
    assert rec.simulation_proposed.replica_hours < rec.simulation_current.replica_hours
    assert rec.savings_monthly_usd > 0
    assert 0 < len(rec.timeline) <= MAX_TIMELINE_POINTS
    assert rec.timeline[0].current_replicas == 4


def test_sparse_regular_samples_are_enough():
    # one sample per 15 min over 3 h (a 60× simulation scraped every 15 s)
    rec = recommend_hpa(
        hpa(ECHO, minimum=4, maximum=10, cpu_percent=50), ECHO, _history([20] * 13, 900), Policy(), Prices()
    )
    assert rec is not None


def test_no_recommendation_without_history_or_cpu_target():
    assert recommend_hpa(hpa(ECHO), ECHO, None, Policy(), Prices()) is None
    memory = hpa(ECHO, metrics=(HPAMetricTarget("Resource", "memory", "Utilization", 70),))
    assert recommend_hpa(memory, ECHO, _history([20] * 900, 15), Policy(), Prices()) is None
    short = _history([20] * 100, 15)  # 25 minutes
    assert recommend_hpa(hpa(ECHO), ECHO, short, Policy(), Prices()) is None


def test_already_optimal_settings_give_nothing():
    first = recommend_hpa(
        hpa(ECHO, minimum=4, maximum=10, cpu_percent=50), ECHO, _history([20] * 900, 15), Policy(), Prices()
    )
    assert first is not None
    assert isinstance(first.proposed, HPASettings)
    best = first.proposed
    tuned = hpa(
        ECHO, minimum=best.min_replicas, maximum=best.max_replicas, cpu_percent=best.target_cpu_utilization_percent
    )
    assert recommend_hpa(tuned, ECHO, _history([20] * 900, 15), Policy(), Prices()) is None
