"""The `broken` scenario's planted faults, read through kubectl like a user would, diagnosed exactly once each.

The snapshot is built from `kubectl get … -o json` of a real embedded-cluster subprocess with the
Kubernetes adapter's own translation (k8s/translate), so this covers the whole path from the wire to
the diagnosis; the pure core never knows it was a simulation. The settled `demo` scenario is the
control: it must come out with no diagnosis at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from k8s_optimizer.domain.objects import ObjectRef, Workload
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.k8s import translate as t
from k8s_optimizer.recommend.checks import failures
from k8s_optimizer.recommend.engine import analyze
from k8s_optimizer.recommend.policy import Policy, Prices
from tests.simcluster import SimCluster

pytestmark = pytest.mark.slow

NAMESPACE = "broken"


def _items(sim: SimCluster, resource: str) -> list[dict[str, Any]]:
    result = sim.kubectl("get", resource, "-A", "-o", "json")
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return items


def _keyed(
    items: list[dict[str, Any]], translate: Callable[[dict[str, Any]], Any]
) -> Iterator[tuple[tuple[str, str], Any]]:
    for item in items:
        meta = item["metadata"]
        yield (meta.get("namespace", ""), meta["name"]), translate(item)


def snapshot_from_kubectl(sim: SimCluster) -> ClusterSnapshot:
    workloads: dict[ObjectRef, Workload] = {}
    for resource, translate in (
        ("deployments", t.translate_deployment),
        ("replicasets", t.translate_replicaset),
        ("statefulsets", t.translate_statefulset),
        ("daemonsets", t.translate_daemonset),
    ):
        for item in _items(sim, resource):
            workload = translate(item)
            workloads[workload.ref()] = workload
    return ClusterSnapshot(
        taken_at=datetime.now(UTC),
        namespaces={item["metadata"]["name"]: t.translate_namespace(item) for item in _items(sim, "namespaces")},
        nodes={item["metadata"]["name"]: t.translate_node(item) for item in _items(sim, "nodes")},
        pods=dict(_keyed(_items(sim, "pods"), t.translate_pod)),
        services=dict(_keyed(_items(sim, "services"), t.translate_service)),
        endpoints=dict(_keyed(_items(sim, "endpoints"), t.translate_endpoints)),
        workloads=workloads,
        hpas=dict(_keyed(_items(sim, "horizontalpodautoscalers"), t.translate_hpa)),
        pdbs=dict(_keyed(_items(sim, "poddisruptionbudgets"), t.translate_pdb)),
        events=dict(_keyed(_items(sim, "events"), t.translate_event)),
    )


def _settled(sim: SimCluster) -> ClusterSnapshot:
    """Let the planted faults develop (the crash loop needs a few restarts), then read the cluster."""
    deadline = time.monotonic() + 30
    snap = snapshot_from_kubectl(sim)
    while time.monotonic() < deadline:
        crashloop = [p for (ns, _), p in snap.pods.items() if ns == NAMESPACE and p.labels.get("app") == "crashloop"]
        if crashloop and any(s.reason == "CrashLoopBackOff" for p in crashloop for s in p.container_statuses):
            return snap
        sim.advance(60)
        snap = snapshot_from_kubectl(sim)
    return snap


@pytest.fixture(scope="module")
def broken_report():
    with SimCluster.start(scenario="broken") as sim:
        snap = _settled(sim)
    return analyze(snap, {}, policy=Policy(), prices=Prices(), now_seconds=snap.taken_at.timestamp())


def test_each_planted_connectivity_fault_is_diagnosed_once(broken_report):
    found = {
        key: [d.id for d in findings] for key, findings in broken_report.diagnoses.items() if key.namespace == NAMESPACE
    }
    assert found == {
        ObjectRef("Service", "broken", "orphan-svc"): ["selectorMatchesNoPods"],
        ObjectRef("Service", "broken", "web-misport"): ["targetPortNotFound"],
        ObjectRef("Service", "broken", "never-ready"): ["readinessProbeFailing"],
    }


def test_each_planted_pod_fault_is_diagnosed_once(broken_report):
    found = {
        key: [d.id for d in findings]
        for key, findings in broken_report.workload_diagnoses.items()
        if key.namespace == NAMESPACE
    }
    assert found == {
        ObjectRef("Deployment", "broken", "crashloop"): ["podsCrashLooping"],
        ObjectRef("Pod", "broken", "too-big"): ["podsUnschedulable"],
    }
    [too_big] = broken_report.workload_diagnoses[ObjectRef("Pod", "broken", "too-big")]
    assert "Insufficient cpu" in too_big.message


def test_hpa_without_requests_is_a_danger_check(broken_report):
    danger = {
        (key, result.id)
        for key, results in broken_report.checks.items()
        for result in failures(list(results))
        if result.severity == "danger" and (key.kind, key.namespace) == ("Deployment", NAMESPACE)
    }
    assert (ObjectRef("Deployment", "broken", "no-requests"), "hpaTargetMissingCpuRequest") in danger


def test_no_diagnosis_outside_the_planted_faults(broken_report):
    elsewhere = [key for key in broken_report.diagnoses if key.namespace != NAMESPACE]
    elsewhere += [key for key in broken_report.workload_diagnoses if key.namespace != NAMESPACE]
    assert elsewhere == []


def test_the_healthy_demo_scenario_has_no_diagnosis():
    """The other side of "no false ones": the demo cluster, once settled, is diagnosed clean."""
    with SimCluster.start(scenario="demo", history_hours=0.5) as sim:
        snap = snapshot_from_kubectl(sim)
    report = analyze(snap, {}, policy=Policy(), prices=Prices(), now_seconds=snap.taken_at.timestamp())
    assert report.diagnoses == {}
    assert report.workload_diagnoses == {}
    assert ObjectRef("Service", "k8s-optimizer", "echo-demo") in report.scores
