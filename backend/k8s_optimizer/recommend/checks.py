"""Best-practice and HPA checks per workload (the reliability/efficiency union of Polaris, kube-score, Popeye).

Each check yields a CheckResult whether it passes or fails, because the reliability score is Polaris's
2·pass / (2·pass + warn + 2·danger). `check_workload` needs only the workload and a snapshot-like
object, so DEPLOY can lint the project's own manifests (no pods, no history) with the same code.
Allocation checks use history (mean usage over the window), never one sample (Popeye #39).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from k8s_optimizer.analysis.percentiles import series_mean
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import HPA, ContainerSpec, ObjectRef, Pod, Workload
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.recommend.model import CheckResult, CheckSeverity
from k8s_optimizer.recommend.policy import Policy

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTART_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class CheckDefinition:
    severity: CheckSeverity
    failure: str  # message when failing; {container}, {value} substituted
    fix: str


CHECKS: dict[str, CheckDefinition] = {
    "cpuRequestsMissing": CheckDefinition(
        "warning", "container {container} has no CPU request", "set resources.requests.cpu"
    ),
    "memoryRequestsMissing": CheckDefinition(
        "warning", "container {container} has no memory request", "set resources.requests.memory"
    ),
    "memoryLimitsMissing": CheckDefinition(
        "warning", "container {container} has no memory limit", "set resources.limits.memory (= the request)"
    ),
    "readinessProbeMissing": CheckDefinition(
        "warning", "container {container} has no readiness probe", "add a readinessProbe on the serving port"
    ),
    "livenessProbeMissing": CheckDefinition(
        "warning", "container {container} has no liveness probe", "add a livenessProbe"
    ),
    "probesIdentical": CheckDefinition(
        "warning",
        "container {container} uses the same readiness and liveness probe",
        "make the liveness probe cheaper/more tolerant than readiness (different path or thresholds)",
    ),
    "imageTagNotSpecific": CheckDefinition(
        "danger", "container {container} image {value} is untagged or :latest", "pin an explicit version tag"
    ),
    "singleReplica": CheckDefinition(
        "warning", "runs {value} replica(s): a single point of failure", "set spec.replicas ≥ 2 (or use an HPA)"
    ),
    "pdbMissing": CheckDefinition(
        "warning", "has {value} replicas but no PodDisruptionBudget", "add a PodDisruptionBudget selecting its pods"
    ),
    "restartsHigh": CheckDefinition(
        "warning", "restarted {value} times in 24 h", "kubectl logs --previous; fix the crash or raise limits"
    ),
    "oomKilled": CheckDefinition(
        "danger", "container {container} was OOMKilled in the window", "raise the memory request and limit"
    ),
    "cpuOverAllocated": CheckDefinition(
        "warning", "container {container} uses {value} of its CPU request on average", "lower the CPU request"
    ),
    "cpuUnderAllocated": CheckDefinition(
        "warning", "container {container} uses {value} of its CPU request on average", "raise the CPU request"
    ),
    "memoryOverAllocated": CheckDefinition(
        "warning", "container {container} uses {value} of its memory request on average", "lower the memory request"
    ),
    "memoryUnderAllocated": CheckDefinition(
        "warning", "container {container} uses {value} of its memory request on average", "raise the memory request"
    ),
    "hpaTargetMissingCpuRequest": CheckDefinition(
        "danger",
        "HPA {value} scales on CPU utilisation but container {container} has no CPU request (<unknown>)",
        "set resources.requests.cpu on every container",
    ),
    "hpaMinReplicasBelowTwo": CheckDefinition(
        "warning", "HPA {value} allows scaling down to one replica", "set minReplicas ≥ 2"
    ),
    "hpaMinEqualsMax": CheckDefinition(
        "warning", "HPA {value} has minReplicas == maxReplicas: it can never scale", "raise maxReplicas"
    ),
    "hpaStaticReplicas": CheckDefinition(
        "warning",
        "HPA {value} scales it but its applied manifest sets spec.replicas (every apply resets the HPA's count)",
        "remove spec.replicas from the manifest",
    ),
    "pdbMinAvailableBlocksHpa": CheckDefinition(
        "warning",
        "PDB minAvailable {value} ≥ HPA minReplicas: at minimum scale no pod can be evicted",
        "lower minAvailable or use maxUnavailable: 1",
    ),
}


def _result(
    check_id: str, target: ObjectRef, failed: bool, *, container: str | None = None, value: object = ""
) -> CheckResult:
    definition = CHECKS[check_id]
    return CheckResult(
        id=check_id,
        severity=definition.severity,
        target=target,
        passed=not failed,
        message=definition.failure.format(container=container, value=value) if failed else f"ok: {check_id}",
        fix=definition.fix,
        container=container,
    )


def image_tag_ok(image: str) -> bool:
    """Polaris tagNotSpecified: `name:tag` (not latest) or a digest."""
    if "@sha256:" in image:
        return True
    last_segment = image.rsplit("/", 1)[-1]
    if ":" not in last_segment:
        return False
    return last_segment.rsplit(":", 1)[1] not in ("", "latest")


def _container_checks(target: ObjectRef, container: ContainerSpec) -> Iterator[CheckResult]:
    name = container.name
    yield _result("cpuRequestsMissing", target, container.cpu_request_millicores is None, container=name)
    yield _result("memoryRequestsMissing", target, container.memory_request_bytes is None, container=name)
    yield _result("memoryLimitsMissing", target, container.memory_limit_bytes is None, container=name)
    yield _result("readinessProbeMissing", target, container.readiness_probe is None, container=name)
    yield _result("livenessProbeMissing", target, container.liveness_probe is None, container=name)
    if container.readiness_probe is not None and container.liveness_probe is not None:
        identical = container.readiness_probe == container.liveness_probe
        yield _result("probesIdentical", target, identical, container=name)
    yield _result(
        "imageTagNotSpecific", target, not image_tag_ok(container.image), container=name, value=container.image
    )


def _restarts_in_window(pods: list[Pod], history: WorkloadHistory | None, snapshot: ClusterSnapshot) -> int:
    if history is not None and history.containers:
        return sum(c.restart_count_in_window for per_pod in history.containers.values() for c in per_pod)
    since = snapshot.taken_at - RESTART_WINDOW
    return sum(
        status.restart_count
        for pod in pods
        for status in pod.container_statuses
        if status.last_termination_at is None or status.last_termination_at >= since
    )


def _oom_killed(container: str, pods: list[Pod], history: WorkloadHistory | None) -> bool:
    if history is not None and any(c.oom_kill_times_seconds for c in history.containers.get(container, ())):
        return True
    return any(
        status.name == container and "OOMKilled" in (status.reason, status.last_termination_reason)
        for pod in pods
        for status in pod.container_statuses
    )


def _workload_checks(
    workload: Workload, topology: Topology, history: WorkloadHistory | None, policy: Policy
) -> Iterator[CheckResult]:
    ref = workload.ref()
    pods = topology.live_pods_of(ref)
    hpa = topology.hpa_for(ref)
    if workload.kind != "DaemonSet" and hpa is None:
        replicas = workload.replicas if workload.replicas is not None else 1
        yield _result("singleReplica", ref, replicas < policy.min_replicas, value=replicas)
    most = hpa.max_replicas if hpa is not None else (workload.replicas or 0)
    if workload.kind == "DaemonSet":
        most = len(pods)
    if most >= 2:
        yield _result("pdbMissing", ref, not topology.pdbs_for(workload), value=most)
    restarts = _restarts_in_window(pods, history, topology.snapshot)
    yield _result("restartsHigh", ref, restarts > policy.restart_threshold, value=restarts)
    for container in workload.containers:
        yield _result("oomKilled", ref, _oom_killed(container.name, pods, history), container=container.name)


def _ratio_check(ref: ObjectRef, resource: str, container: str, ratio: float, policy: Policy) -> Iterator[CheckResult]:
    percent = f"{ratio * 100:.0f} %"
    yield _result(
        f"{resource}OverAllocated", ref, ratio < policy.over_allocated_ratio, container=container, value=percent
    )
    yield _result(
        f"{resource}UnderAllocated", ref, ratio > policy.under_allocated_ratio, container=container, value=percent
    )


def _allocation_checks(workload: Workload, history: WorkloadHistory | None, policy: Policy) -> Iterator[CheckResult]:
    """usage/request on the window's mean; only with enough data (the same gate as the recommenders)."""
    if history is None:
        return
    ref = workload.ref()
    for container in workload.containers:
        per_pod = history.containers.get(container.name, ())
        cpu_mean, cpu_points = series_mean(c.cpu_millicores for c in per_pod)
        memory_mean, memory_points = series_mean(c.memory_bytes for c in per_pod)
        if cpu_points < policy.points_required:
            continue
        if container.cpu_request_millicores:
            yield from _ratio_check(ref, "cpu", container.name, cpu_mean / container.cpu_request_millicores, policy)
        if container.memory_request_bytes and memory_points:
            yield from _ratio_check(ref, "memory", container.name, memory_mean / container.memory_request_bytes, policy)


def _hpa_checks(workload: Workload, hpa: HPA, topology: Topology) -> Iterator[CheckResult]:
    ref = workload.ref()
    uses_cpu = not hpa.metrics or any(
        m.type == "Resource" and m.resource == "cpu" and m.target_type == "Utilization" for m in hpa.metrics
    )
    if uses_cpu:
        for container in workload.containers:
            missing = container.cpu_request_millicores is None
            yield _result("hpaTargetMissingCpuRequest", ref, missing, container=container.name, value=hpa.name)
    yield _result("hpaMinReplicasBelowTwo", ref, hpa.min_replicas < 2, value=hpa.name)
    yield _result("hpaMinEqualsMax", ref, hpa.min_replicas == hpa.max_replicas, value=hpa.name)
    yield _result("hpaStaticReplicas", ref, manifest_sets_replicas(workload), value=hpa.name)
    for pdb in topology.pdbs_for(workload):
        if isinstance(pdb.min_available, int):
            yield _result(
                "pdbMinAvailableBlocksHpa", ref, pdb.min_available >= hpa.min_replicas, value=pdb.min_available
            )


def manifest_sets_replicas(workload: Workload) -> bool:
    """kube-score: the last-applied manifest of an HPA-scaled Deployment must not carry spec.replicas."""
    raw = workload.annotations.get(LAST_APPLIED)
    if not raw:
        return False
    try:
        applied = json.loads(raw)
    except ValueError:
        return False
    spec = applied.get("spec") if isinstance(applied, dict) else None
    return isinstance(spec, dict) and "replicas" in spec


def check_workload(
    workload: Workload,
    snapshot: ClusterSnapshot,
    *,
    history: WorkloadHistory | None = None,
    policy: Policy | None = None,
    topology: Topology | None = None,
) -> list[CheckResult]:
    """All checks on one workload; works on a snapshot built from manifests alone (no pods, no history)."""
    policy = policy or Policy()
    topology = topology or Topology.build(snapshot)
    results: list[CheckResult] = []
    for container in workload.containers:
        results.extend(_container_checks(workload.ref(), container))
    results.extend(_workload_checks(workload, topology, history, policy))
    results.extend(_allocation_checks(workload, history, policy))
    hpa = topology.hpa_for(workload.ref())
    if hpa is not None:
        results.extend(_hpa_checks(workload, hpa, topology))
    return results


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [result for result in results if not result.passed]
