"""The optimizer's single entry point: one snapshot + usage histories → one AnalysisReport.

The API calls `analyze()` on every pass; everything below it is pure and deterministic, so the same
inputs give the same report (and the same recommendation ids). Work is O(containers × points):
the topology index is built once, and no per-object scan of the whole snapshot happens in a loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from k8s_optimizer.analysis.anomalies import Anomaly, hpa_anomalies, pod_event_anomalies, series_anomalies
from k8s_optimizer.analysis.cost import CostLine, Prices, Usage, cluster_cost, pod_cost, total
from k8s_optimizer.analysis.hpa_simulation import cpu_target_percent, memory_target_percent
from k8s_optimizer.analysis.percentiles import series_mean
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef, Workload
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.domain.usage import ContainerKey
from k8s_optimizer.recommend import patches
from k8s_optimizer.recommend.checks import check_workload
from k8s_optimizer.recommend.diagnose import diagnose_service, diagnose_workloads
from k8s_optimizer.recommend.hpa_metric import recommend_metric_hpa
from k8s_optimizer.recommend.hpa_tuning import recommend_hpa
from k8s_optimizer.recommend.model import (
    AnalysisReport,
    CheckResult,
    ContainerRecommendation,
    CostReport,
    Diagnosis,
    Priority,
    Recommendation,
    ServiceScore,
)
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.recommend.probes import probe_recommendations
from k8s_optimizer.recommend.scores import service_score
from k8s_optimizer.recommend.strategies import ContainerInputs, strategy_for

__all__ = ["analyze", "patch_for"]

patch_for = patches.patch_for
# A proposal within 10 % of the current value (both set) is noise, not a recommendation.
MIN_RELATIVE_CHANGE = 0.10
_PRIORITY: dict[str, Priority] = {"critical": "high", "warning": "medium"}


@dataclass
class _WorkloadResult:
    workload: Workload
    checks: list[CheckResult]
    containers: list[ContainerRecommendation]


def _changed(current: int | None, proposed: int | None) -> bool:
    if current is None or proposed is None:
        return current != proposed
    return abs(current - proposed) > MIN_RELATIVE_CHANGE * max(current, 1)


def _worth_recommending(rec: ContainerRecommendation) -> bool:
    if rec.proposed is None:
        return False
    now, new = rec.current, rec.proposed
    return any(
        _changed(a, b)
        for a, b in (
            (now.cpu_request_millicores, new.cpu_request_millicores),
            (now.cpu_limit_millicores, new.cpu_limit_millicores),
            (now.memory_request_bytes, new.memory_request_bytes),
            (now.memory_limit_bytes, new.memory_limit_bytes),
        )
    )


def _savings(rec: ContainerRecommendation, replicas: int, prices: Prices) -> float:
    """Monthly request cost now minus proposed, per replica × replicas (negative when it grows)."""
    assert rec.proposed is not None
    cpu = (rec.current.cpu_request_millicores or 0) - (rec.proposed.cpu_request_millicores or 0)
    memory = (rec.current.memory_request_bytes or 0) - (rec.proposed.memory_request_bytes or 0)
    return round((prices.cpu_monthly_usd(cpu) + prices.memory_monthly_usd(memory)) * replicas, 2)


def _resources_recommendation(
    workload: Workload, rec: ContainerRecommendation, replicas: int, prices: Prices
) -> Recommendation:
    assert rec.proposed is not None
    ref = workload.ref()
    patch = patches.resources_patch(rec.container, rec.current, rec.proposed)
    return Recommendation(
        id=patches.recommendation_id(ref, rec.container, "resources", rec.proposed),
        target=ref,
        container=rec.container,
        kind="resources",
        priority=_PRIORITY.get(rec.severity, "low"),
        severity=rec.severity,
        savings_monthly_usd=_savings(rec, replicas, prices),
        confidence=rec.confidence,
        rationale=rec.rationale,
        current=rec.current,
        proposed=rec.proposed,
        bounds=rec.bounds,
        data=rec.data,
        patch=patch,
        patch_yaml=patches.patch_yaml(patch),
        kubectl_patch=patches.kubectl_patch(ref, patch),
        verify_commands=patches.verify_commands(ref, rec.container),
    )


def _sourced(rec: Recommendation, history: WorkloadHistory | None) -> Recommendation:
    """Name a history source other than the backend's own store, and mark answers from a stale one."""
    if history is None or not history.source:
        return rec
    rationale = f"{rec.rationale}; history from {history.source}"
    if history.stale:
        rationale += f" (stale: last values read; {history.stale_reason})"
    # the numbers stand, but nobody can tell whether the load changed since: trust them half as much
    confidence = round(rec.confidence / 2, 3) if history.stale else rec.confidence
    return dataclasses.replace(rec, rationale=rationale, stale=history.stale, confidence=confidence)


def _replicas_recommendation(workload: Workload, policy: Policy, prices: Prices) -> Recommendation:
    ref = workload.ref()
    patch = patches.replicas_patch(policy.min_replicas)
    extra = policy.min_replicas - (workload.replicas or 0)
    cpu = sum(c.cpu_request_millicores or 0 for c in workload.containers)
    memory = sum(c.memory_request_bytes or 0 for c in workload.containers)
    return Recommendation(
        id=patches.recommendation_id(ref, None, "replicas", policy.min_replicas),
        target=ref,
        container=None,
        kind="replicas",
        priority="medium",
        severity="warning",
        savings_monthly_usd=-round((prices.cpu_monthly_usd(cpu) + prices.memory_monthly_usd(memory)) * extra, 2),
        confidence=1.0,
        rationale=f"{workload.replicas} replica: one node drain or crash takes it down; run {policy.min_replicas}",
        current=None,
        proposed=None,
        bounds=None,
        data=None,
        patch=patch,
        patch_yaml=patches.patch_yaml(patch),
        kubectl_patch=patches.kubectl_patch(ref, patch),
        verify_commands=patches.verify_commands(ref, None),
    )


def _container_recommendations(
    workload: Workload, history: WorkloadHistory | None, topology: Topology, policy: Policy, now_seconds: float
) -> list[ContainerRecommendation]:
    strategy = strategy_for(policy)
    hpa = topology.hpa_for(workload.ref())
    cpu_target = cpu_target_percent(hpa) if hpa is not None else None
    memory_target = memory_target_percent(hpa) if hpa is not None else None
    results = []
    for spec in workload.containers:
        inputs = ContainerInputs(
            spec=spec,
            histories=history.containers.get(spec.name, ()) if history is not None else (),
            now_seconds=now_seconds,
            containers_in_pod=len(workload.containers),
            cpu_hpa_target_percent=cpu_target,
            memory_hpa_target_percent=memory_target,
        )
        results.append(strategy.recommend(inputs, policy))
    return results


def _usage_by_container(
    snapshot: ClusterSnapshot, histories: Mapping[ObjectRef, WorkloadHistory]
) -> dict[ContainerKey, Usage]:
    """Mean usage per (namespace, pod, container) over the window; the latest reading where no history exists."""
    usage: dict[ContainerKey, Usage] = {
        key: Usage(reading.cpu_millicores, float(reading.memory_bytes))
        for key, reading in snapshot.container_usage.items()
    }
    for history in histories.values():
        for per_pod in history.containers.values():
            for container in per_pod:
                cpu_mean, cpu_points = series_mean((container.cpu_millicores,))
                memory_mean, memory_points = series_mean((container.memory_bytes,))
                if cpu_points or memory_points:
                    usage[container.key] = Usage(cpu_mean, memory_mean)
    return usage


def _anomalies(
    topology: Topology, histories: Mapping[ObjectRef, WorkloadHistory], now_seconds: float, policy: Policy
) -> Iterator[Anomaly]:
    for ref, history in sorted(histories.items(), key=lambda item: item[0].key()):
        for name, per_pod in sorted(history.containers.items()):
            for container in per_pod:
                prefix = f"{ref.key()}/{container.key.pod}/{name}"
                yield from series_anomalies(f"{prefix}/cpu_millicores", ref, container.cpu_millicores)
                yield from series_anomalies(f"{prefix}/memory_bytes", ref, container.memory_bytes)
    for pod in sorted(topology.snapshot.pods.values(), key=lambda pod: (pod.namespace, pod.name)):
        owner = topology.owner(pod) or pod.ref()
        yield from pod_event_anomalies(pod, owner, now_seconds, policy.restart_threshold)
    for hpa in topology.snapshot.hpas.values():
        yield from hpa_anomalies(hpa, now_seconds)


def _cost_report(
    topology: Topology, usage: Mapping[ContainerKey, Usage], prices: Prices, savings: float
) -> tuple[CostReport, dict[ObjectRef, CostLine]]:
    snapshot = topology.snapshot
    pod_costs = {(pod.namespace, pod.name): pod_cost(pod, usage, prices) for pod in snapshot.pods.values()}
    services = {
        service.ref(): total(pod_costs[(pod.namespace, pod.name)] for pod in topology.live_selected_pods(service))
        for service in snapshot.services.values()
    }
    namespaces: dict[str, CostLine] = {}
    for (namespace, _), line in pod_costs.items():
        namespaces[namespace] = namespaces.get(namespace, CostLine()) + line
    cluster = cluster_cost(snapshot.nodes.values(), total(pod_costs.values()), prices, savings)
    report = CostReport(
        services={
            ref: line.rounded() for ref, line in sorted(services.items(), key=lambda item: _service_order(item[0]))
        },
        namespaces={key: line.rounded() for key, line in sorted(namespaces.items())},
        cluster=cluster,
    )
    return report, services


def _analyze_workloads(
    topology: Topology, histories: Mapping[ObjectRef, WorkloadHistory], policy: Policy, now_seconds: float
) -> list[_WorkloadResult]:
    results = []
    for workload in sorted(topology.top_level_workloads(), key=lambda w: w.ref().key()):
        history = histories.get(workload.ref())
        checks = check_workload(workload, topology.snapshot, history=history, policy=policy, topology=topology)
        containers = _container_recommendations(workload, history, topology, policy, now_seconds)
        results.append(_WorkloadResult(workload, checks, containers))
    return results


def _recommendations(
    results: list[_WorkloadResult],
    topology: Topology,
    histories: Mapping[ObjectRef, WorkloadHistory],
    policy: Policy,
    prices: Prices,
) -> list[Recommendation]:
    recommendations: list[Recommendation] = []
    for result in results:
        workload = result.workload
        replicas = len(topology.live_pods_of(workload.ref())) or workload.replicas or 1
        history = histories.get(workload.ref())
        for rec in result.containers:
            if _worth_recommending(rec):
                recommendations.append(_sourced(_resources_recommendation(workload, rec, replicas, prices), history))
        hpa = topology.hpa_for(workload.ref())
        if hpa is not None:
            hpa_rec = recommend_hpa(hpa, workload, history, policy, prices) or recommend_metric_hpa(
                hpa, workload, history, policy, prices
            )
            if hpa_rec is not None:
                recommendations.append(_sourced(hpa_rec, history))
        elif workload.kind in ("Deployment", "StatefulSet") and any(
            check.id == "singleReplica" and not check.passed for check in result.checks
        ):
            recommendations.append(_replicas_recommendation(workload, policy, prices))
        recommendations.extend(probe_recommendations(workload))
    return recommendations


def _scores(
    topology: Topology,
    results: list[_WorkloadResult],
    diagnoses: Mapping[ObjectRef, tuple[Diagnosis, ...]],
    service_costs: Mapping[ObjectRef, CostLine],
) -> dict[ObjectRef, ServiceScore]:
    by_ref = {result.workload.ref(): result for result in results}
    scores = {}
    for service in sorted(topology.snapshot.services.values(), key=lambda s: (s.namespace, s.name)):
        key = service.ref()
        members = [by_ref[w.ref()] for w in topology.workloads_selected_by(service) if w.ref() in by_ref]
        checks = [check for member in members for check in member.checks]
        containers = [rec for member in members for rec in member.containers]
        scores[key] = service_score(key, service_costs.get(key, CostLine()), checks, diagnoses.get(key, ()), containers)
    return scores


def _service_order(ref: ObjectRef) -> str:
    """Services listed as they are named on the wire, "namespace/name"."""
    return f"{ref.namespace}/{ref.name}"


_PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def _order(recommendation: Recommendation) -> tuple[int, float, str]:
    """Most urgent first, then the biggest savings; the id makes the order total (stable output)."""
    return (_PRIORITY_RANK[recommendation.priority], -recommendation.savings_monthly_usd, recommendation.id)


def analyze(
    snapshot: ClusterSnapshot,
    histories: Mapping[ObjectRef, WorkloadHistory],
    *,
    policy: Policy,
    prices: Prices,
    now_seconds: float,
    topology: Topology | None = None,
) -> AnalysisReport:
    """Everything the optimizer knows about the cluster, computed from plain data.

    `topology`: the snapshot's index when the caller has it already (e.g. carried over from its previous
    pass); built here otherwise.
    """
    if topology is None:
        topology = Topology.build(snapshot)
    elif topology.snapshot is not snapshot:
        raise ValueError("topology: built for another snapshot")
    results = _analyze_workloads(topology, histories, policy, now_seconds)
    recommendations = _recommendations(results, topology, histories, policy, prices)
    diagnoses = {
        service.ref(): tuple(diagnose_service(service, topology))
        for service in sorted(snapshot.services.values(), key=lambda s: (s.namespace, s.name))
    }
    savings = sum(rec.savings_monthly_usd for rec in recommendations if rec.kind in ("resources", "hpa"))
    cost, service_costs = _cost_report(topology, _usage_by_container(snapshot, histories), prices, savings)
    return AnalysisReport(
        generated_at_seconds=now_seconds,
        policy=policy.name,
        recommendations=tuple(sorted(recommendations, key=_order)),
        checks={result.workload.ref(): tuple(result.checks) for result in results},
        diagnoses={key: value for key, value in diagnoses.items() if value},
        anomalies=tuple(_anomalies(topology, histories, now_seconds, policy)),
        cost=cost,
        scores=_scores(topology, results, diagnoses, service_costs),
        container_recommendations={result.workload.ref(): tuple(result.containers) for result in results},
        workload_diagnoses={key: tuple(value) for key, value in diagnose_workloads(topology).items()},
    )
