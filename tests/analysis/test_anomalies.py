from __future__ import annotations

import pytest

from k8s_optimizer.analysis import anomalies
from k8s_optimizer.analysis.anomalies import hpa_anomalies, pod_event_anomalies, series_anomalies
from k8s_optimizer.domain.objects import ContainerStatus, HPACondition, ObjectRef
from k8s_optimizer.domain.usage import UsagePoint
from tests.recommend.factories import deployment, hpa, pod

REF = ObjectRef("Deployment", "shop", "web")


def _points(values: list[float]) -> list[UsagePoint]:
    return [UsagePoint(float(index * 60), value) for index, value in enumerate(values)]


def _kinds(values: list[float]) -> list[tuple[str, str]]:
    return [(a.kind, a.severity) for a in series_anomalies("s", REF, _points(values))]


def test_flat_series_has_no_anomalies():
    assert _kinds([100.0] * 30) == []


def test_zscore_severities():
    # 99 readings of 100 and one outlier; σ of the whole series sets the z-score.
    found = series_anomalies("s", REF, _points([100.0, 101.0] * 50 + [130.0]))
    zscores = [a for a in found if a.kind == "zscore"]
    assert [(a.severity, a.value) for a in zscores] == [("critical", 130.0)]
    assert zscores[0].expected_low is not None
    assert zscores[0].expected_high is not None
    assert zscores[0].expected_low < 100.5 < zscores[0].expected_high


def test_spike_and_drop():
    values = [100.0] * 10 + [250.0] + [100.0] * 10 + [40.0] + [100.0] * 10
    found = series_anomalies("s", REF, _points(values))
    spikes = [(a.timestamp_seconds, a.value, a.expected_high) for a in found if a.kind == "spike"]
    drops = [(a.timestamp_seconds, a.value, a.expected_low) for a in found if a.kind == "drop"]
    # 100 → 250 is a spike, 250 → 100 and 100 → 40 are drops, and the recovery 40 → 100 is 2.5× again.
    assert spikes == [(600.0, 250.0, 200.0), (1320.0, 100.0, 80.0)]
    assert drops == [(660.0, 100.0, 125.0), (1260.0, 40.0, 50.0)]


def test_no_spike_on_a_doubling_exactly():
    assert "spike" not in [k for k, _ in _kinds([100.0] * 10 + [200.0] * 10)]


def test_drift_between_halves():
    assert ("drift", "low") in _kinds([100.0] * 10 + [140.0] * 10)
    assert "drift" not in [k for k, _ in _kinds([100.0] * 10 + [125.0] * 10)]


def test_oscillation():
    assert ("oscillation", "medium") in _kinds([50.0, 150.0] * 10)
    assert "oscillation" not in [k for k, _ in _kinds([99.0, 101.0] * 10)]  # flips, but σ ≪ 0.2·mean


def test_short_series_are_ignored():
    assert _kinds([1.0, 100.0, 1.0]) == []


def test_pod_events():
    web = deployment()
    statuses = [
        ContainerStatus("app", False, 5, "waiting", reason="CrashLoopBackOff", last_termination_reason="OOMKilled"),
    ]
    found = sorted(a.kind for a in pod_event_anomalies(pod(web, statuses=statuses), REF, 1000.0))
    assert found == ["crash_loop", "oom_killed", "restart_burst"]
    assert list(pod_event_anomalies(pod(web), REF, 1000.0)) == []


def test_hpa_pinned_at_max():
    web = deployment()
    pinned = hpa(web, maximum=5, current_replicas=5, desired_replicas=5)
    [anomaly] = hpa_anomalies(pinned, 1000.0)
    assert (anomaly.kind, anomaly.target, anomaly.expected_high) == ("hpa_pinned_at_max", web.ref(), 5.0)
    limited = hpa(web, maximum=5, conditions=(HPACondition("ScalingLimited", "True", "TooManyReplicas", "x"),))
    assert len(list(hpa_anomalies(limited, 1000.0))) == 1
    assert list(hpa_anomalies(hpa(web, maximum=5, current_replicas=3, desired_replicas=3), 1000.0)) == []


@pytest.mark.parametrize(
    ("series", "value", "shown"),
    [
        ("Deployment/ns/web/app/memory_bytes", 29313024.0, "28.0 MiB"),
        ("Deployment/ns/web/app/cpu_millicores", 212.4, "212m"),
        ("replicas", 3.0, "3.0"),
    ],
)
def test_messages_show_values_in_their_unit(series: str, value: float, shown: str) -> None:
    assert anomalies._shown(series, value) == shown
