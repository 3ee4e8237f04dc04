"""What the views expose of the optimizer's report: the HPA simulation timeline, workload diagnoses, scores."""

from __future__ import annotations

import dataclasses

from k8s_optimizer.api.views import ViewContext, hpa_out
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.k8s.translate import translate_hpa
from k8s_optimizer.recommend.model import (
    Diagnosis,
    HPASettings,
    HPASimulationSummary,
    Recommendation,
    ServiceScore,
    TimelinePoint,
)
from tests.api.conftest import BackendFactory
from tests.api.fakes import NOW, WEB, build_report, build_snapshot, web_deployment, web_pod, web_recommendation

HPA_REF = ObjectRef("HorizontalPodAutoscaler", "shop", "web")


def _hpa_recommendation() -> Recommendation:
    return dataclasses.replace(
        web_recommendation(target=HPA_REF, patch={"spec": {"minReplicas": 2, "maxReplicas": 6}}),
        id="rec-web-hpa",
        kind="hpa",
        container=None,
        current=HPASettings(2, 5, 70),
        proposed=HPASettings(2, 6, 60),
        bounds=None,
        timeline=(
            TimelinePoint(NOW.timestamp(), 180.1234, 2, 3),
            TimelinePoint(NOW.timestamp() + 60, 420.0, 5, 6),
        ),
        simulation_current=HPASimulationSummary(48.0, 2.4, 3600.0, 0.0, 1.5, 140.0, 1800.0),
        simulation_proposed=HPASimulationSummary(52.5, 2.63, 0.0, 600.0, 2.0, 95.0, 120.0),
    )


def test_hpa_recommendation_carries_the_simulated_timeline(make_backend: BackendFactory) -> None:
    report = build_report(recommendations=(web_recommendation(), _hpa_recommendation()))
    client = make_backend(report=report).client
    body = client.get("/api/v1/recommendations/rec-web-hpa").json()
    assert body["timeline"] == [
        {
            "timestamp": "2026-11-26T12:00:00Z",
            "usage_millicores": 180.123,
            "current_replicas": 2,
            "proposed_replicas": 3,
        },
        {"timestamp": "2026-11-26T12:01:00Z", "usage_millicores": 420.0, "current_replicas": 5, "proposed_replicas": 6},
    ]
    assert body["simulation_current"] == {
        "replica_hours": 48.0,
        "cost_usd": 2.4,
        "time_at_max_seconds": 3600.0,
        "time_at_min_seconds": 0.0,
        "scale_events_per_hour": 1.5,
        "max_utilization_percent": 140.0,
        "time_over_target_seconds": 1800.0,
    }
    assert body["simulation_proposed"]["time_over_target_seconds"] == 120.0
    resources = client.get("/api/v1/recommendations/rec-web-app").json()
    assert (resources["timeline"], resources["simulation_current"]) == ([], None)
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert set(schema["TimelinePointOut"]["required"]) == {
        "timestamp",
        "usage_millicores",
        "current_replicas",
        "proposed_replicas",
    }


def test_workload_diagnoses_reach_the_workload_detail(make_backend: BackendFactory) -> None:
    finding = Diagnosis(
        "crash-loop",
        WEB,
        "danger",
        "pod web-7d4b9-0 is crash-looping (CrashLoopBackOff)",
        "kubectl -n shop logs web-7d4b9-0 --previous",
        "fix the crash",
        ("web-7d4b9-0",),
    )
    report = dataclasses.replace(build_report(), workload_diagnoses={WEB: (finding,)})
    client = make_backend(report=report).client
    detail = client.get("/api/v1/workloads/shop/Deployment/web").json()
    assert detail["diagnoses"] == 1
    assert detail["diagnosis"] == [
        {
            "id": "crash-loop",
            "service": {"kind": "Deployment", "namespace": "shop", "name": "web"},
            "severity": "danger",
            "message": "pod web-7d4b9-0 is crash-looping (CrashLoopBackOff)",
            "evidence_command": "kubectl -n shop logs web-7d4b9-0 --previous",
            "fix": "fix the crash",
            "pods": ["web-7d4b9-0"],
        }
    ]
    assert client.get("/api/v1/workloads?kind=Deployment").json()["items"][0]["diagnoses"] == 1


def test_score_says_whether_efficiency_was_measured(make_backend: BackendFactory) -> None:
    unmeasured = ServiceScore(ObjectRef("Service", "shop", "web"), 0.0, 80.0, 50.0, 65.0, "D", 5, 1, 0, 0, False)
    report = dataclasses.replace(build_report(), scores={ObjectRef("Service", "shop", "web"): unmeasured})
    client = make_backend(report=report).client
    score = client.get("/api/v1/services/shop/web").json()["score"]
    assert (score["efficiency_measured"], score["overall"]) == (False, 65.0)
    default = make_backend().client.get("/api/v1/services?namespace=shop&sort=name").json()["items"][1]["score"]
    assert default["efficiency_measured"] is True


def test_joins_carry_over_only_while_their_inputs_are_unchanged() -> None:
    snapshot = build_snapshot()
    first = ViewContext.build(snapshot, None)
    scaled = dataclasses.replace(snapshot, workloads={**snapshot.workloads, WEB: web_deployment(5)})
    second = ViewContext.build(scaled, None, first)
    assert second.topology.service_pods is first.topology.service_pods  # a Deployment scale changes no join
    assert second.workload_summary(scaled.workloads[WEB]).replicas == 5
    third_pod = web_pod(3)
    grown = dataclasses.replace(scaled, pods={**scaled.pods, ("shop", third_pod.name): third_pod})
    third = ViewContext.build(grown, None, second)
    assert third.topology.service_pods is not second.topology.service_pods
    web = grown.services[("shop", "web")]
    assert [p.name for p in third.topology.backing_pods(web)] == ["web-7d4b9-0", "web-7d4b9-1", "web-7d4b9-3"]
    assert third.topology.services_of_pod(third_pod) == ["web"]


def test_hpa_out_shows_every_metric_kind_as_written() -> None:
    hpa = translate_hpa(
        {
            "metadata": {"namespace": "shop", "name": "queue"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "worker"},
                "minReplicas": 0,
                "maxReplicas": 20,
                "metrics": [
                    {
                        "type": "Pods",
                        "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "500m"}},
                    },
                    {
                        "type": "Object",
                        "object": {
                            "describedObject": {
                                "apiVersion": "networking.k8s.io/v1",
                                "kind": "Ingress",
                                "name": "main",
                            },
                            "metric": {"name": "hits"},
                            "target": {"type": "Value", "value": "10k"},
                        },
                    },
                    {
                        "type": "External",
                        "external": {
                            "metric": {"name": "queue_ready", "selector": {"matchLabels": {"queue": "jobs"}}},
                            "target": {"type": "AverageValue", "averageValue": "30"},
                        },
                    },
                ],
                "behavior": {"scaleUp": {"tolerance": "50m"}},
            },
        }
    )
    out = hpa_out(hpa).model_dump(mode="json")
    assert out["min_replicas"] == 0
    pods, obj, external = out["metrics"]
    assert (pods["type"], pods["metric_name"], pods["target_type"], pods["average_value_quantity"]) == (
        "Pods", "rps", "AverageValue", "500m"
    )  # fmt: skip
    assert pods["average_value"] == 0.5
    assert (obj["type"], obj["metric_name"], obj["value_quantity"], obj["value"]) == ("Object", "hits", "10k", 10000.0)
    assert obj["described_object"] == {"kind": "Ingress", "namespace": "shop", "name": "main"}
    assert (external["metric_name"], external["metric_selector"], external["average_value_quantity"]) == (
        "queue_ready", {"queue": "jobs"}, "30"
    )  # fmt: skip
    assert out["scale_up"]["tolerance"] == "50m"
    assert out["scale_down"] == {
        "stabilization_window_seconds": None,
        "select_policy": "Max",
        "policies": [{"type": "Percent", "value": 100, "period_seconds": 15}],
        "tolerance": None,
    }
