from __future__ import annotations

from dataclasses import asdict, replace

import pytest

from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.usage import ContainerKey
from k8s_optimizer.recommend.engine import analyze, patch_for
from k8s_optimizer.recommend.model import AnalysisReport, HPASettings, Recommendation, ResourceValues
from k8s_optimizer.recommend.policy import Policy, Prices
from tests.recommend.factories import (
    NOW_SECONDS,
    container,
    container_history,
    deployment,
    endpoints_for,
    hpa,
    node,
    pdb,
    pod,
    service,
    snapshot,
    workload_history,
)

POINTS = 240  # 4 h of one-minute points

FAT = deployment("fat", containers=[container(cpu=1000, memory=1024 * MIB, memory_limit=1024 * MIB)])
THIN = deployment("thin", containers=[container(cpu=100, memory=256 * MIB, memory_limit=256 * MIB)])
OOM = deployment("oom", containers=[container(cpu=200, memory=128 * MIB, memory_limit=128 * MIB)])
ECHO = deployment("echo", containers=[container(cpu=100, memory=128 * MIB, memory_limit=128 * MIB)])


def _histories() -> dict[ObjectRef, WorkloadHistory]:
    fat = [
        container_history(f"fat-7d9f-{i}", [100 + (i * 7 + j) % 20 for j in range(POINTS)], [200 * MIB] * POINTS)
        for i in range(2)
    ]
    thin = [
        container_history(f"thin-7d9f-{i}", [380 + j % 10 for j in range(POINTS)], [200 * MIB] * POINTS)
        for i in range(2)
    ]
    oom = [
        container_history(f"oom-7d9f-{i}", [150] * POINTS, [120 * MIB] * POINTS, ooms=[NOW_SECONDS - 600])
        for i in range(2)
    ]
    # echo: a daily-ish wave between 100m and 900m of total load over 2 pods, 15 s resolution
    wave = [100 + 800 * abs(((j % 480) / 240) - 1) for j in range(POINTS * 4)]
    echo = [
        container_history(f"echo-7d9f-{i}", [w / 2 for w in wave], [60 * MIB] * len(wave), step_seconds=15)
        for i in range(2)
    ]
    return {
        FAT.ref(): workload_history(FAT, fat),
        THIN.ref(): workload_history(THIN, thin),
        OOM.ref(): workload_history(OOM, oom),
        ECHO.ref(): workload_history(ECHO, echo),
    }


def _snapshot() -> ClusterSnapshot:
    workloads = [FAT, THIN, OOM, ECHO]
    pods = [pod(w, i) for w in workloads for i in range(2)]
    services = [service(w.name) for w in workloads]
    endpoints = [endpoints_for(s, [p for p in pods if p.labels["app"] == s.name]) for s in services]
    return snapshot(
        workloads=workloads,
        pods=pods,
        services=services,
        endpoints=endpoints,
        hpas=[hpa(ECHO, minimum=2, maximum=10, cpu_percent=50)],
        pdbs=[pdb(w.name, {"app": w.name}) for w in workloads],
        nodes=[node()],
    )


@pytest.fixture(scope="module")
def report():
    return analyze(_snapshot(), _histories(), policy=Policy(), prices=Prices(), now_seconds=NOW_SECONDS)


def _rec(report: AnalysisReport, name: str, kind: str = "resources") -> Recommendation:
    [rec] = [r for r in report.recommendations if r.target.name == name and r.kind == kind]
    return rec


def test_over_provisioned_app_gets_a_cut_with_savings(report):
    rec = _rec(report, "fat")
    assert isinstance(rec.proposed, ResourceValues)
    assert rec.proposed.cpu_request_millicores is not None
    assert rec.proposed.cpu_request_millicores < 200
    assert rec.proposed.memory_request_bytes == 237 * MIB  # p90 of daily peaks 200Mi → bucket edge 215.8 MB × 1.15
    assert rec.savings_monthly_usd > 0
    assert rec.priority == "high"
    assert rec.kubectl_patch.startswith("kubectl -n shop patch deployment fat --type strategic -p '")
    assert rec.verify_commands[0] == "kubectl -n shop rollout status deployment/fat"
    assert patch_for(rec) == rec.patch


def test_under_provisioned_app_gets_an_increase(report):
    rec = _rec(report, "thin")
    assert isinstance(rec.proposed, ResourceValues)
    assert rec.proposed.cpu_request_millicores is not None
    assert rec.proposed.cpu_request_millicores > 400
    assert rec.savings_monthly_usd < 0


def test_ooming_app_gets_a_memory_bump(report):
    rec = _rec(report, "oom")
    assert isinstance(rec.proposed, ResourceValues)
    # the bump max(128Mi + 100Mi, 128Mi × 1.2) = 228Mi goes into the peaks histogram, as VPA does: its bucket
    # edge 258403663 B + trunc(15 %) = 297164212 B, rounded up to whole MiB by balanced: 284Mi
    assert rec.proposed.memory_request_bytes == 284 * MIB
    assert rec.proposed.memory_limit_bytes == 284 * MIB
    assert "OOMKilled" in rec.rationale


def test_hpa_recommendation_is_backed_by_a_timeline(report):
    rec = _rec(report, "echo", "hpa")
    assert rec.target == ObjectRef("HorizontalPodAutoscaler", "shop", "echo")
    assert isinstance(rec.proposed, HPASettings)
    assert rec.current == HPASettings(2, 10, 50)
    assert rec.timeline
    assert rec.simulation_current is not None
    assert rec.simulation_proposed is not None
    assert rec.simulation_proposed.replica_hours < rec.simulation_current.replica_hours
    assert rec.savings_monthly_usd > 0
    assert rec.kubectl_patch.startswith("kubectl -n shop patch hpa echo --type strategic -p '")


def test_hpa_workload_cpu_is_not_shrunk_naively(report):
    [echo] = report.container_recommendations["Deployment/shop/echo"]
    assert echo.rationale.startswith("HPA targets 50 % CPU")


def test_ids_are_stable_across_passes(report):
    again = analyze(_snapshot(), _histories(), policy=Policy(), prices=Prices(), now_seconds=NOW_SECONDS)
    assert [r.id for r in again.recommendations] == [r.id for r in report.recommendations]


def test_cost_scores_and_json_friendliness(report):
    assert set(report.cost.services) == {"shop/echo", "shop/fat", "shop/oom", "shop/thin"}
    assert report.cost.cluster.idle_monthly_usd > 0
    fat = report.scores["shop/fat"]
    assert fat.efficiency < 20  # ~110m used of 1000m requested
    assert fat.letter in "ABCDF"
    assert report.diagnoses == {}
    asdict(report)  # plain data all the way down


def test_broken_service_caps_the_overall_score():
    snap = _snapshot()
    broken = replace(snap, services={**snap.services, ("shop", "fat"): service("fat", target_port=9999)})
    result = analyze(broken, _histories(), policy=Policy(), prices=Prices(), now_seconds=NOW_SECONDS)
    assert [d.id for d in result.diagnoses["shop/fat"]] == ["targetPortMismatch"]
    assert result.scores["shop/fat"].overall <= 49


def test_named_policies_run(report):
    for name in ("krr-simple", "vpa"):
        result = analyze(_snapshot(), _histories(), policy=Policy.named(name), prices=Prices(), now_seconds=NOW_SECONDS)
        assert result.policy == name
        assert [r for r in result.recommendations if r.target.name == "fat"]


@pytest.mark.slow
def test_ten_thousand_containers_in_one_pass():
    """Scale correctness; the speed target (≤ 2 s) is measured by `make bench`, not here."""
    workloads = [deployment(f"w{i}", containers=[container(cpu=500, memory=512 * MIB)]) for i in range(5000)]
    pods = [pod(w, i) for w in workloads for i in range(2)]
    template = container_history("template", [100 + j % 7 for j in range(120)], step_seconds=120)
    histories = {  # the series tuples are shared (building 2.4 million points would dominate the test)
        w.ref(): workload_history(
            w, [replace(template, key=ContainerKey("shop", f"{w.name}-7d9f-{i}", "app")) for i in range(2)]
        )
        for w in workloads
    }
    snap = snapshot(workloads=workloads, pods=pods, services=[service(w.name) for w in workloads[:500]], nodes=[node()])
    result = analyze(snap, histories, policy=Policy(), prices=Prices(), now_seconds=NOW_SECONDS)
    assert len(result.container_recommendations) == 5000
    assert len(result.recommendations) == 5000  # 500m requested, ~103m used: every container gets a cut
