"""HPA metric specs other than Resource keep the metric's name and target (what a metric replay needs)."""

from __future__ import annotations

from k8s_optimizer.domain.objects import HPAMetricTarget
from k8s_optimizer.k8s.translate import translate_metric_target


def test_a_pods_metric_keeps_its_name_and_average_value() -> None:
    raw = {
        "type": "Pods",
        "pods": {
            "metric": {"name": "http_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": "500m"},
        },
    }
    assert translate_metric_target(raw) == HPAMetricTarget(
        type="Pods", target_type="AverageValue", average_value=0.5, metric_name="http_requests_per_second"
    )


def test_an_external_metric_keeps_its_value() -> None:
    raw = {
        "type": "External",
        "external": {"metric": {"name": "queue_depth"}, "target": {"type": "Value", "value": "30"}},
    }
    assert translate_metric_target(raw) == HPAMetricTarget(
        type="External", target_type="Value", value=30.0, metric_name="queue_depth"
    )
