"""A `Pods`-metric HPA (requests per second per pod) scales from the load model's requests, like the
rate of the `http_requests_total` counter the pods expose."""

from __future__ import annotations

from datetime import UTC, datetime

from k8s_sim import resources as r
from k8s_sim.load import PREFIX
from k8s_sim.scrape.exposition import render_text
from tests.sim.embedded import deployment, events_for, pods_of, running_cluster
from tests.sim.scrape.exposition import parse, select

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RPS = 40.0


def rps_hpa(metric: str, average_value: str) -> dict[str, object]:
    return {
        "metadata": {"name": "api", "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": metric},
                        "target": {"type": "AverageValue", "averageValue": average_value},
                    },
                }
            ],
        },
    }


async def _api_cluster_objects(cluster: object, metric: str) -> None:
    annotations = {PREFIX + "rps": str(RPS), PREFIX + "noise": "0", PREFIX + "diurnal-amplitude": "0"}
    container = {
        "name": "app",
        "image": "nginx:1.27",
        "ports": [{"containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    store = cluster.store  # type: ignore[attr-defined]
    store.create(r.DEPLOYMENTS, deployment("default", "api", replicas=1, container=container, annotations=annotations))
    service = {
        "metadata": {"name": "api", "namespace": "default"},
        "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]},
    }
    store.create(r.SERVICES, service)
    store.create(r.HPAS, rps_hpa(metric, "10"))


async def test_pods_metric_hpa_scales_on_requests_per_pod() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await _api_cluster_objects(cluster, "http_requests_per_second")
        await cluster.advance(120)
        pods = pods_of(cluster, "default", "api")
        # 40 requests/s over pods at 10 each: 4 replicas (the first sync sees 40 on one pod)
        assert len(pods) == 4
        hpa = cluster.store.require(r.HPAS, "default", "api")
        assert hpa["status"]["desiredReplicas"] == 4
        assert hpa["status"]["currentMetrics"] == [
            {
                "type": "Pods",
                "pods": {"metric": {"name": "http_requests_per_second"}, "current": {"averageValue": "10"}},
            }
        ]
        (rescale,) = events_for(cluster, "api", "SuccessfulRescale")
        assert rescale["message"].startswith("New size: 4; reason: ")
        # the pods' counters grow at the rate the HPA read
        key = ("default", pods[0]["metadata"]["name"])
        families = cluster.scrape.traffic.pod(key)
        assert families is not None
        (before,), _ = parse(render_text(families))
        await cluster.advance(15)
        families = cluster.scrape.traffic.pod(key)
        assert families is not None
        (after,), _ = parse(render_text(families))
        assert round(after.value - before.value, 6) == round(cluster.load.pod_rps[key] * 15, 6) == 150.0
        ksm, _ = parse(render_text(cluster.scrape.state.families()))
        (target,) = select(ksm, "kube_horizontalpodautoscaler_spec_target_metric", horizontalpodautoscaler="api")
        assert (target.labels["metric_name"], target.labels["metric_target_type"], target.value) == (
            "http_requests_per_second",
            "average",
            10,
        )
        (observed,) = select(ksm, "kube_horizontalpodautoscaler_status_target_metric", horizontalpodautoscaler="api")
        assert (observed.labels["metric_name"], observed.labels["metric_target_type"], observed.value) == (
            "http_requests_per_second",
            "average",
            10,
        )


async def test_unknown_pods_metric_is_unknown() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await _api_cluster_objects(cluster, "queue_length")
        await cluster.advance(60)
        hpa = cluster.store.require(r.HPAS, "default", "api")
        assert hpa["status"]["currentMetrics"] == [{"type": ""}]
        assert len(pods_of(cluster, "default", "api")) == 1
        ksm, _ = parse(render_text(cluster.scrape.state.families()))
        assert not select(ksm, "kube_horizontalpodautoscaler_status_target_metric", horizontalpodautoscaler="api")
        assert events_for(cluster, "api", "FailedGetPodsMetric")


async def test_pods_hpa_knob_adds_a_scaled_service() -> None:
    async with running_cluster("demo", start=START, pods_hpa=True) as cluster:
        await cluster.advance(300)
        hpa = cluster.store.require(r.HPAS, "rps-demo", "rps-api")
        (metric,) = hpa["status"]["currentMetrics"]
        assert metric["type"] == "Pods"
        assert metric["pods"]["metric"] == {"name": "http_requests_per_second"}
        # ~34 requests/s over 3 pods is above 10 per pod (seed 1, this start): one step up to 4, then held
        assert len(pods_of(cluster, "rps-demo", "rps-api")) == hpa["status"]["currentReplicas"] == 4
        assert [e["message"] for e in events_for(cluster, "rps-api", "SuccessfulRescale")] == [
            "New size: 4; reason: pods metric http_requests_per_second above target"
        ]
        assert 30 <= cluster.load.workload_rps[("rps-demo", "rps-api")] <= 40
