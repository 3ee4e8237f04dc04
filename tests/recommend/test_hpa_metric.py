"""HPAs on Pods/Object/External metrics: replayed from the metric's series, or said plainly to be unsimulated."""

from __future__ import annotations

import dataclasses
import math

from k8s_optimizer.domain.objects import HPAMetricTarget
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.recommend.hpa_metric import SCALE, metric_replay, recommend_metric_hpa, replay_metric_hpa
from k8s_optimizer.recommend.model import HPASettings
from k8s_optimizer.recommend.policy import Policy, Prices
from tests.recommend.factories import container, container_history, deployment, hpa, workload_history

WEB = deployment("web", containers=[container(cpu=100, memory=128 * MIB)])
RPS = HPAMetricTarget("Pods", target_type="AverageValue", average_value=50.0, metric_name="http_requests_per_second")


def _history(per_pod_rps: list[float], step_seconds: float = 60.0, replicas: int = 2):  # type: ignore[no-untyped-def]
    pods = [container_history(f"web-7d9f-{i}", [20] * len(per_pod_rps), step_seconds=step_seconds) for i in range(2)]
    base = workload_history(WEB, pods)
    start = 1_700_000_000.0
    series = tuple(UsagePoint(start + i * step_seconds, v) for i, v in enumerate(per_pod_rps))
    return dataclasses.replace(
        base,
        replicas=(UsagePoint(start, float(replicas)),),
        metric_series={"http_requests_per_second": series},
    )


def test_without_the_metric_series_the_hpa_is_plainly_not_simulated() -> None:
    rec = recommend_metric_hpa(hpa(WEB, metrics=(RPS,)), WEB, workload_history(WEB, []), Policy(), Prices())
    assert rec is not None
    assert rec.rationale.startswith(
        "not simulated (metric source unknown): this HPA scales on the Pods metric 'http_requests_per_second'"
    )
    assert rec.proposed is None
    assert rec.patch == {}
    assert rec.timeline == ()


def test_a_pods_metric_is_the_total_load_divided_over_the_replicas() -> None:
    replay = metric_replay(RPS, _history([30.0, 45.0]), 1)
    assert replay is not None
    assert [p.value for p in replay.load] == [60.0, 90.0]  # average per pod × the 2 pods that reported it
    assert replay.target_per_pod == 50.0


def test_the_replay_is_the_hpa_controller_on_that_load() -> None:
    # 90 rps in total against 50 per pod: the controller settles on ceil(90 / 50) = 2 pods
    replay = metric_replay(RPS, _history([45.0] * 240), 1)
    assert replay is not None
    result = replay_metric_hpa(
        replay, hpa(WEB, minimum=1, maximum=10, metrics=(RPS,)), min_replicas=1, max_replicas=10, initial_replicas=6,
        hour_usd=0.0,
    )  # fmt: skip
    assert result.steps[0].replicas == 6
    assert result.steps[-1].replicas == 2
    assert result.steps[-1].usage_millicores == 90 * SCALE


def test_a_daily_wave_gets_bounds_that_cover_its_peak_with_a_timeline() -> None:
    # per-pod rps on 2 pods: 10..190 over a day; total peaks at 380 rps → 380 / 50 × 1.25 = 9.5 → max 10
    wave = [100 + 90 * math.sin(2 * math.pi * i / 1440) for i in range(1440 * 2)]
    rec = recommend_metric_hpa(hpa(WEB, minimum=2, maximum=30, metrics=(RPS,)), WEB, _history(wave), Policy(), Prices())
    assert rec is not None
    assert rec.current == HPASettings(2, 30, 0)
    assert rec.proposed == HPASettings(2, 10, 0)
    assert rec.patch == {"spec": {"minReplicas": 2, "maxReplicas": 10}}
    assert rec.rationale.startswith("replayed 24.0 h of http_requests_per_second (target 50 per pod) through the HPA")
    assert rec.timeline
    assert rec.simulation_proposed is not None
    assert rec.simulation_proposed.time_at_max_seconds == 0
