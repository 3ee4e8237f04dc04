"""HPA controller: scales up under load, holds for the 300 s stabilisation window, then scales down."""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.load import PREFIX
from tests.sim.embedded import deployment, events_for, running_cluster

STEADY = {
    PREFIX + "rps": "40",
    PREFIX + "cpu-per-request-millicores": "5",
    PREFIX + "cpu-baseline-millicores": "0",
    PREFIX + "noise": "0",
    PREFIX + "diurnal-amplitude": "0",
}


def _hpa(name: str) -> dict[str, object]:
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [metric],
        },
    }


def _replicas(cluster: object, name: str) -> int:
    return int(cluster.store.require(r.DEPLOYMENTS, "default", name)["spec"]["replicas"])  # type: ignore[attr-defined]


async def test_hpa_scales_up_then_down_after_stabilisation() -> None:
    async with running_cluster("demo") as cluster:
        container = {
            "name": "app",
            "image": "busybox:1.36.1",
            "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}},
        }
        cluster.store.create(
            r.DEPLOYMENTS, deployment("default", "cpu-app", replicas=1, container=container, annotations=STEADY)
        )
        cluster.store.create(r.HPAS, _hpa("cpu-app"))
        await cluster.advance(120)
        # 40 rps × 5 m = 200 m on one pod = 200 % of a 100 m request; ratio 4 -> ceil(4 × 1) = 4 (= max(2×1, 4))
        assert _replicas(cluster, "cpu-app") == 4
        messages = [e["message"] for e in events_for(cluster, "cpu-app", "SuccessfulRescale")]
        assert messages == ["New size: 4; reason: cpu resource utilization (percentage of request) above target"]
        status = cluster.store.require(r.HPAS, "default", "cpu-app")["status"]
        assert status["currentMetrics"] == [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 50, "averageValue": "50m"}},
            }
        ]
        assert (status["currentReplicas"], status["desiredReplicas"]) == (4, 4)
        cluster.set_load("default", "cpu-app", enabled=False)
        await cluster.advance(240)
        assert _replicas(cluster, "cpu-app") == 4  # the highest recommendation of the last 300 s is still 4
        conditions = {
            c["type"]: c["reason"] for c in cluster.store.require(r.HPAS, "default", "cpu-app")["status"]["conditions"]
        }
        assert conditions == {
            "AbleToScale": "ScaleDownStabilized",
            "ScalingActive": "ValidMetricFound",
            "ScalingLimited": "DesiredWithinRange",  # the limits apply to the stabilised 4, not the raw 0
        }
        await cluster.advance(90)
        assert _replicas(cluster, "cpu-app") == 1
        messages = [e["message"] for e in events_for(cluster, "cpu-app", "SuccessfulRescale")]
        assert messages[-1] == "New size: 1; reason: All metrics below target"


async def test_hpa_without_cpu_requests_reports_unknown() -> None:
    async with running_cluster("broken") as cluster:
        await cluster.advance(30)
        status = cluster.store.require(r.HPAS, "broken", "no-requests")["status"]
        assert status["currentMetrics"] == [{"type": ""}]
        active = next(c for c in status["conditions"] if c["type"] == "ScalingActive")
        assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
        assert active["message"].startswith(
            "the HPA was unable to compute the replica count: failed to get cpu utilization: "
            "missing request for cpu in container web of Pod no-requests-"
        )
        assert events_for(cluster, "no-requests", "FailedComputeMetricsReplicas")[0]["type"] == "Warning"
        assert cluster.store.require(r.DEPLOYMENTS, "broken", "no-requests")["spec"]["replicas"] == 2


async def test_hpa_on_memory_average_value() -> None:
    async with running_cluster("demo") as cluster:
        container = {
            "name": "app",
            "image": "busybox:1.36.1",
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
        }
        annotations = {PREFIX + "memory-baseline-mib": "100", PREFIX + "noise": "0"}
        cluster.store.create(
            r.DEPLOYMENTS, deployment("default", "mem-app", replicas=1, container=container, annotations=annotations)
        )
        hpa = _hpa("mem-app")
        target = {"type": "AverageValue", "averageValue": "40Mi"}
        hpa["spec"]["metrics"] = [{"type": "Resource", "resource": {"name": "memory", "target": target}}]  # type: ignore[index]
        cluster.store.create(r.HPAS, hpa)
        await cluster.advance(180)
        # ~100 MiB per pod against 40 MiB: ratio 2.5 whatever the replica count (memory doesn't spread), so
        # 1 -> ceil(2.5) = 3 -> ceil(7.5) = 8, capped at max(2×3, 4) = 6 -> 15, capped by maxReplicas 10
        messages = [e["message"] for e in events_for(cluster, "mem-app", "SuccessfulRescale")]
        assert messages[:2] == [f"New size: {n}; reason: memory resource above target" for n in (3, 6)]
        assert _replicas(cluster, "mem-app") == 10
        status = cluster.store.require(r.HPAS, "default", "mem-app")["status"]
        assert status["currentMetrics"][0]["resource"]["name"] == "memory"


async def test_quantity_tolerance_is_reconciled_and_does_not_block_later_hpas() -> None:
    # issue #14 item 8: `tolerance: "50m"` is a Kubernetes quantity; parsing it with float() raised on every pass
    # and the HPAs sorting after it were never reconciled
    async with running_cluster("demo") as cluster:
        container = {
            "name": "app",
            "image": "busybox:1.36.1",
            "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}},
        }
        for name in ("a-tolerant", "b-plain"):
            cluster.store.create(
                r.DEPLOYMENTS, deployment("default", name, replicas=1, container=container, annotations=STEADY)
            )
        tolerant = _hpa("a-tolerant")
        tolerant["spec"]["behavior"] = {"scaleUp": {"tolerance": "50m"}, "scaleDown": {"tolerance": "0.2"}}  # type: ignore[index]
        cluster.store.create(r.HPAS, tolerant)
        cluster.store.create(r.HPAS, _hpa("b-plain"))
        await cluster.advance(60)
        # behavior path: 200 % against 50 % wants 4; the default scale-up policies allow max(1 + 4, 2 × 1) = 5
        assert _replicas(cluster, "a-tolerant") == 4
        assert _replicas(cluster, "b-plain") == 4
        stored = cluster.store.require(r.HPAS, "default", "a-tolerant")["spec"]["behavior"]
        assert stored["scaleUp"]["tolerance"] == "50m"
