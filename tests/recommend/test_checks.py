from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ContainerStatus, Probe, Workload
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.checks import CHECKS, check_workload, failures, image_tag_ok
from tests.recommend.factories import (
    NOW,
    container,
    container_history,
    deployment,
    hpa,
    pdb,
    pod,
    snapshot,
    workload_history,
)

Case = Callable[[], tuple[Workload, ClusterSnapshot, WorkloadHistory | None]]


def _alone(workload: Workload, **extra: object) -> tuple[Workload, ClusterSnapshot, None]:
    covered = pdb("web", dict(workload.selector.match_labels))
    return workload, snapshot(workloads=[workload], pdbs=[covered], **extra), None  # type: ignore[arg-type]


def _good() -> Workload:
    return deployment()


def _with_history(cpu: float, memory: float) -> tuple[Workload, ClusterSnapshot, WorkloadHistory]:
    workload = deployment(containers=[container(cpu=100, memory=100 * MIB)])
    history = workload_history(workload, [container_history("web-7d9f-0", [cpu] * 120, [memory] * 120)])
    return workload, _alone(workload)[1], history


def _restarts(count: int) -> tuple[Workload, ClusterSnapshot, None]:
    workload = deployment()
    status = ContainerStatus("app", True, count, "running", last_termination_at=NOW - timedelta(hours=2))
    return workload, _alone(workload, pods=[pod(workload, statuses=[status])])[1], None


def _oom(reason: str | None) -> tuple[Workload, ClusterSnapshot, None]:
    workload = deployment()
    status = ContainerStatus("app", True, 1, "running", last_termination_reason=reason)
    return workload, _alone(workload, pods=[pod(workload, statuses=[status])])[1], None


def _hpa_case(
    workload: Workload, *, minimum: int = 2, maximum: int = 5, min_available: int = 1
) -> tuple[Workload, ClusterSnapshot, None]:
    return (
        workload,
        snapshot(
            workloads=[workload],
            hpas=[hpa(workload, minimum=minimum, maximum=maximum)],
            pdbs=[pdb("web", {"app": "web"}, min_available)],
        ),
        None,
    )


def _applied(replicas: bool) -> Workload:
    spec: dict[str, object] = {"template": {}}
    if replicas:
        spec["replicas"] = 3
    return deployment(annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": spec})})


CASES: list[tuple[str, Case, Case]] = [
    # (check id, a minimal object that triggers it, one that does not)
    ("cpuRequestsMissing", lambda: _alone(deployment(containers=[container(cpu=None)])), lambda: _alone(_good())),
    ("memoryRequestsMissing", lambda: _alone(deployment(containers=[container(memory=None)])), lambda: _alone(_good())),
    (
        "memoryLimitsMissing",
        lambda: _alone(deployment(containers=[container(memory_limit=None)])),
        lambda: _alone(_good()),
    ),
    (
        "readinessProbeMissing",
        lambda: _alone(deployment(containers=[container(readiness=None)])),
        lambda: _alone(_good()),
    ),
    (
        "livenessProbeMissing",
        lambda: _alone(deployment(containers=[container(liveness=None)])),
        lambda: _alone(_good()),
    ),
    (
        "probesIdentical",
        lambda: _alone(
            deployment(containers=[container(readiness=Probe("tcpSocket", 8080), liveness=Probe("tcpSocket", 8080))])
        ),
        lambda: _alone(_good()),
    ),
    (
        "imageTagNotSpecific",
        lambda: _alone(deployment(containers=[container(image="nginx:latest")])),
        lambda: _alone(_good()),
    ),
    ("singleReplica", lambda: _alone(deployment(replicas=1)), lambda: _alone(deployment(replicas=2))),
    (
        "pdbMissing",
        lambda: (deployment(replicas=3), snapshot(workloads=[deployment(replicas=3)]), None),
        lambda: _alone(deployment(replicas=3)),
    ),
    ("restartsHigh", lambda: _restarts(4), lambda: _restarts(3)),
    ("oomKilled", lambda: _oom("OOMKilled"), lambda: _oom("Error")),
    ("cpuOverAllocated", lambda: _with_history(40, 80 * MIB), lambda: _with_history(60, 80 * MIB)),
    ("cpuUnderAllocated", lambda: _with_history(250, 80 * MIB), lambda: _with_history(150, 80 * MIB)),
    ("memoryOverAllocated", lambda: _with_history(60, 40 * MIB), lambda: _with_history(60, 60 * MIB)),
    ("memoryUnderAllocated", lambda: _with_history(60, 250 * MIB), lambda: _with_history(60, 150 * MIB)),
    (
        "hpaTargetMissingCpuRequest",
        lambda: _hpa_case(deployment(containers=[container(cpu=None)])),
        lambda: _hpa_case(_good()),
    ),
    ("hpaMinReplicasBelowTwo", lambda: _hpa_case(_good(), minimum=1), lambda: _hpa_case(_good(), minimum=2)),
    (
        "hpaMinEqualsMax",
        lambda: _hpa_case(_good(), minimum=3, maximum=3),
        lambda: _hpa_case(_good(), minimum=3, maximum=6),
    ),
    ("hpaStaticReplicas", lambda: _hpa_case(_applied(True)), lambda: _hpa_case(_applied(False))),
    (
        "pdbMinAvailableBlocksHpa",
        lambda: _hpa_case(_good(), minimum=2, min_available=2),
        lambda: _hpa_case(_good(), minimum=3, min_available=2),
    ),
]


def test_every_check_has_a_case():
    assert sorted(case[0] for case in CASES) == sorted(CHECKS)


@pytest.mark.parametrize(("check_id", "triggering", "passing"), CASES, ids=[case[0] for case in CASES])
def test_check_triggers_and_passes(check_id: str, triggering: Case, passing: Case) -> None:
    workload, snap, history = triggering()
    failed = [result.id for result in failures(check_workload(workload, snap, history=history))]
    assert check_id in failed

    workload, snap, history = passing()
    results = check_workload(workload, snap, history=history)
    assert check_id not in [result.id for result in failures(results)]
    assert check_id in [result.id for result in results if result.passed]


def test_a_good_workload_fails_nothing():
    workload, snap, _ = _alone(_good())
    assert failures(check_workload(workload, snap)) == []


def test_manifest_only_snapshot_matches_pdb_by_selector():
    workload = deployment(replicas=3)
    results = check_workload(workload, snapshot(workloads=[workload], pdbs=[pdb("web", {"app": "web"})]))
    assert [r.id for r in results if r.id == "pdbMissing" and r.passed] == ["pdbMissing"]


def test_allocation_checks_need_enough_history():
    workload = deployment(containers=[container(cpu=100, memory=100 * MIB)])
    history = workload_history(workload, [container_history("web-7d9f-0", [10] * 50)])
    results = check_workload(workload, _alone(workload)[1], history=history)
    assert not [r for r in results if "Allocated" in r.id]


def test_failure_message_and_fix():
    workload, snap, _ = _alone(deployment(containers=[container(image="nginx")]))
    [result] = [r for r in failures(check_workload(workload, snap)) if r.id == "imageTagNotSpecific"]
    assert result.severity == "danger"
    assert result.message == "container app image nginx is untagged or :latest"
    assert result.fix == "pin an explicit version tag"


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("nginx", False),
        ("nginx:latest", False),
        ("registry:5000/nginx", False),
        ("registry:5000/nginx:1.27", True),
        ("nginx@sha256:abc", True),
        ("hashicorp/http-echo:1.0", True),
    ],
)
def test_image_tag_ok(image: str, ok: bool) -> None:
    assert image_tag_ok(image) is ok
