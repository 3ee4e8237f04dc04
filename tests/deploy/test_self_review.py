"""The optimizer passes its own review: its best-practice checks, run on its own manifests, find nothing.

The manifests are translated into domain objects by the same code that translates live API objects
(k8s/translate.py), with the `last-applied-configuration` annotation `kubectl apply` would add, and checked
by recommend/checks.py. Only the demo apps annotated `k8s-optimizer/showcase` (mis-sized on purpose so the
optimizer has something to show) are exempt, and they must still be caught.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from k8s_optimizer.domain.objects import Workload, WorkloadKind
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.k8s.translate import translate_hpa, translate_pdb, translate_workload
from k8s_optimizer.recommend.checks import LAST_APPLIED, check_workload, failures
from k8s_optimizer.recommend.model import CheckResult
from tests.deploy.manifests import is_showcase, render

WORKLOAD_KINDS: tuple[WorkloadKind, ...] = ("Deployment", "StatefulSet", "DaemonSet")


def _as_applied(manifest: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server holds it after `kubectl apply`: with the last-applied annotation."""
    applied = copy.deepcopy(manifest)
    annotations = applied["metadata"].setdefault("annotations", {})
    annotations[LAST_APPLIED] = json.dumps(manifest, sort_keys=True)
    return applied


def _snapshot(manifests: list[dict[str, Any]]) -> tuple[ClusterSnapshot, list[Workload]]:
    workloads = [translate_workload(m["kind"], _as_applied(m)) for m in manifests if m["kind"] in WORKLOAD_KINDS]
    hpas = [translate_hpa(m) for m in manifests if m["kind"] == "HorizontalPodAutoscaler"]
    pdbs = [translate_pdb(m) for m in manifests if m["kind"] == "PodDisruptionBudget"]
    snapshot = ClusterSnapshot(
        taken_at=datetime(2026, 1, 1, tzinfo=UTC),
        namespaces={},
        nodes={},
        pods={},
        services={},
        endpoints={},
        workloads={w.ref(): w for w in workloads},
        hpas={(h.namespace, h.name): h for h in hpas},
        pdbs={(p.namespace, p.name): p for p in pdbs},
        events={},
    )
    return snapshot, workloads


def _review(manifests: list[dict[str, Any]]) -> dict[str, list[CheckResult]]:
    snapshot, workloads = _snapshot(manifests)
    return {w.name: check_workload(w, snapshot) for w in workloads}


def _shipped() -> list[dict[str, Any]]:
    return render("base") + render("demo")


def _showcase_names() -> set[str]:
    return {m["metadata"]["name"] for m in _shipped() if is_showcase(m)}


def test_every_shipped_workload_except_the_showcase_passes_every_check() -> None:
    reviews = _review(_shipped())
    assert sorted(reviews) == [
        "echo-demo",
        "high-cpu-app",
        "memory-intensive-app",
        "optimizer-backend",
        "optimizer-dashboard",
    ]
    findings = {
        name: [f"{r.id}: {r.message}" for r in failures(results)]
        for name, results in reviews.items()
        if name not in _showcase_names()
    }
    assert findings == {"echo-demo": [], "optimizer-backend": [], "optimizer-dashboard": []}


def test_the_checks_ran_on_every_container_and_the_hpa() -> None:
    reviews = _review(_shipped())
    echo_ids = {r.id for r in reviews["echo-demo"]}
    assert {
        "probesIdentical",
        "imageTagNotSpecific",
        "pdbMissing",
        "hpaStaticReplicas",
        "hpaMinReplicasBelowTwo",
    } <= echo_ids
    assert {"singleReplica", "pdbMissing"} <= {r.id for r in reviews["optimizer-backend"]}


def test_only_the_two_mis_sized_demo_apps_are_exempt_and_they_are_still_caught() -> None:
    assert _showcase_names() == {"high-cpu-app", "memory-intensive-app"}
    reviews = _review(_shipped())
    assert [r.id for r in failures(reviews["high-cpu-app"])] == ["pdbMissing"]
    assert [r.id for r in failures(reviews["memory-intensive-app"])] == ["singleReplica"]
    for manifest in _shipped():
        if is_showcase(manifest):
            assert manifest["metadata"]["annotations"]["k8s-optimizer/showcase-reason"]


def test_the_review_would_catch_a_regression_in_the_shipped_manifests() -> None:
    # Guards against a vacuous pass: break echo-demo the way the original shipped it.
    manifests = [
        m for m in _shipped() if not (m["kind"] == "PodDisruptionBudget" and m["metadata"]["name"] == "echo-demo")
    ]
    echo = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "echo-demo")
    broken = copy.deepcopy(echo)
    broken["spec"]["replicas"] = 3
    broken["spec"]["template"]["spec"]["containers"][0]["image"] = "ealen/echo-server:latest"
    manifests = [broken if m is echo else m for m in manifests]
    assert sorted(r.id for r in failures(_review(manifests)["echo-demo"])) == [
        "hpaStaticReplicas",
        "imageTagNotSpecific",
        "pdbMissing",
    ]
