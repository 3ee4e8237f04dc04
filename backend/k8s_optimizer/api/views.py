"""Turns a cluster snapshot plus the latest analysis into the API's wire shapes.

Built once per snapshot (`ViewContext.build`) on the snapshot's `Topology` (domain/topology.py: which
pods back a Service, which workload owns a pod, which Services a workload is behind) and the report's
recommendations by target.
Routes and the WebSocket hub then only look things up, so REST and WS objects are the same shape by
construction. Pure: no I/O, no awaiting.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.secrets import public_annotations
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerSpec,
    Event,
    HPAMetricTarget,
    LabelSelector,
    Node,
    ObjectRef,
    Pod,
    ScalingRules,
    Service,
    Workload,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.domain.usage import ContainerKey
from k8s_optimizer.recommend.model import (
    AnalysisReport,
    Anomaly,
    CheckResult,
    CostLine,
    Diagnosis,
    HPASimulationSummary,
    Recommendation,
    ServiceScore,
)

PATCHABLE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "HorizontalPodAutoscaler"})
SERVED_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def ref_out(ref: ObjectRef) -> s.ObjectRefOut:
    return s.ObjectRefOut(kind=ref.kind, namespace=ref.namespace, name=ref.name)


def _plain(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return None


def _percent(usage: float | None, request: float | None) -> float | None:
    if usage is None or not request:
        return None
    return round(usage / request * 100, 1)


def _sum_optional(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_millicores: float
    memory_bytes: int


def resources(containers: Iterable[ContainerSpec], usages: Iterable[Usage | None], replicas: int = 1) -> s.Resources:
    """Requests/limits (× replicas) and usage summed over containers; None when nothing is known."""
    specs = list(containers)
    usage_list = [usage for usage in usages if usage is not None]

    def total(values: Iterable[int | None]) -> int | None:
        summed = _sum_optional(values)
        return None if summed is None else int(summed) * replicas

    cpu_usage = sum(u.cpu_millicores for u in usage_list) if usage_list else None
    memory_usage = sum(u.memory_bytes for u in usage_list) if usage_list else None
    cpu_request = total(c.cpu_request_millicores for c in specs)
    memory_request = total(c.memory_request_bytes for c in specs)
    return s.Resources(
        cpu_usage_millicores=None if cpu_usage is None else round(cpu_usage, 3),
        cpu_request_millicores=cpu_request,
        cpu_limit_millicores=total(c.cpu_limit_millicores for c in specs),
        memory_usage_bytes=memory_usage,
        memory_request_bytes=memory_request,
        memory_limit_bytes=total(c.memory_limit_bytes for c in specs),
        cpu_utilization_percent=_percent(cpu_usage, cpu_request),
        memory_utilization_percent=_percent(memory_usage, memory_request),
    )


def anomaly_id(anomaly: Anomaly) -> str:
    digest = hashlib.sha256(f"{anomaly.kind}|{anomaly.series}|{anomaly.timestamp_seconds}".encode())
    return digest.hexdigest()[:16]


def recommendation_out(rec: Recommendation) -> s.RecommendationOut:
    return s.RecommendationOut(
        id=rec.id,
        target=ref_out(rec.target),
        container=rec.container,
        kind=rec.kind,
        priority=rec.priority,
        severity=rec.severity,
        savings_monthly_usd=round(rec.savings_monthly_usd, 2),
        confidence=rec.confidence,
        rationale=rec.rationale,
        current=_plain(rec.current),
        proposed=_plain(rec.proposed),
        bounds=_plain(rec.bounds),
        patch=rec.patch,
        patch_yaml=rec.patch_yaml,
        kubectl_command=rec.kubectl_patch,
        verify_commands=list(rec.verify_commands),
        simulation_current=_simulation(rec.simulation_current),
        simulation_proposed=_simulation(rec.simulation_proposed),
        applicable=bool(rec.patch) and rec.target.kind in PATCHABLE_KINDS and rec.not_applicable_reason is None,
        not_applicable_reason=rec.not_applicable_reason,
        stale=rec.stale,
        timeline=[
            s.TimelinePointOut(
                timestamp=datetime.fromtimestamp(point.timestamp_seconds, tz=UTC),
                usage_millicores=round(point.usage_millicores, 3),
                current_replicas=point.current_replicas,
                proposed_replicas=point.proposed_replicas,
            )
            for point in rec.timeline
        ],
    )


def _simulation(summary: HPASimulationSummary | None) -> s.HPASimulationOut | None:
    return None if summary is None else s.HPASimulationOut(**dataclasses.asdict(summary))


def anomaly_out(anomaly: Anomaly) -> s.AnomalyOut:
    return s.AnomalyOut(
        id=anomaly_id(anomaly),
        kind=anomaly.kind,
        series=anomaly.series,
        target=ref_out(anomaly.target),
        timestamp=datetime.fromtimestamp(anomaly.timestamp_seconds, tz=UTC),
        value=anomaly.value,
        expected_low=anomaly.expected_low,
        expected_high=anomaly.expected_high,
        severity=anomaly.severity,
        message=anomaly.message,
    )


def check_out(check: CheckResult) -> s.CheckOut:
    return s.CheckOut(
        id=check.id,
        severity=check.severity,
        target=ref_out(check.target),
        container=check.container,
        passed=check.passed,
        message=check.message,
        fix=check.fix,
    )


def diagnosis_out(diagnosis: Diagnosis) -> s.DiagnosisOut:
    return s.DiagnosisOut(
        id=diagnosis.id,
        service=ref_out(diagnosis.service),
        severity=diagnosis.severity,
        message=diagnosis.message,
        evidence_command=diagnosis.evidence_command,
        fix=diagnosis.fix,
        pods=list(diagnosis.pods),
    )


def score_out(score: ServiceScore | None) -> s.ScoreOut | None:
    if score is None:
        return None
    return s.ScoreOut(
        efficiency=score.efficiency,
        reliability=score.reliability,
        right_sizing=score.right_sizing,
        overall=score.overall,
        letter=score.letter,
        efficiency_measured=score.efficiency_measured,
    )


def cost_line(key: str, line: CostLine) -> s.CostLine:
    return s.CostLine(
        key=key,
        cpu_monthly_usd=round(line.cpu_monthly_usd, 4),
        memory_monthly_usd=round(line.memory_monthly_usd, 4),
        total_monthly_usd=round(line.total_monthly_usd, 4),
        cpu_request_millicores=line.cpu_request_millicores,
        cpu_usage_millicores=line.cpu_usage_millicores,
        memory_request_bytes=line.memory_request_bytes,
        memory_usage_bytes=line.memory_usage_bytes,
    )


def event_out(event: Event) -> s.EventOut:
    return s.EventOut(
        namespace=event.namespace,
        name=event.name,
        involved=ref_out(event.involved),
        reason=event.reason,
        message=event.message,
        type=event.type,
        count=event.count,
        first_seen=event.first_seen,
        last_seen=event.last_seen,
        source=event.source,
    )


def _target_cpu_percent(hpa: HPA) -> int | None:
    for metric in hpa.metrics:
        if metric.type == "Resource" and metric.resource == "cpu":
            return metric.average_utilization
    return None


def _condition(hpa: HPA, kind: str) -> bool | None:
    for condition in hpa.conditions:
        if condition.type == kind:
            return condition.status == "True"
    return None


def hpa_summary(hpa: HPA) -> s.HPASummary:
    return s.HPASummary(
        name=hpa.name,
        min_replicas=hpa.min_replicas,
        max_replicas=hpa.max_replicas,
        current_replicas=hpa.current_replicas,
        desired_replicas=hpa.desired_replicas,
        current_cpu_utilization_percent=hpa.current_cpu_utilization_percent,
        target_cpu_utilization_percent=_target_cpu_percent(hpa),
        able_to_scale=_condition(hpa, "AbleToScale"),
        scaling_limited=_condition(hpa, "ScalingLimited"),
    )


def _selector_out(selector: LabelSelector | None) -> dict[str, str] | None:
    if selector is None:
        return None
    out = dict(selector.match_labels)
    for requirement in selector.match_expressions:
        out[requirement.key] = f"{requirement.operator} {','.join(requirement.values)}".strip()
    return out


def hpa_metric_out(metric: HPAMetricTarget) -> s.HPAMetricOut:
    """A metric as written: every source kind, quantities in their own text."""
    return s.HPAMetricOut(
        type=metric.type,
        resource=metric.resource,
        container=metric.container,
        target_type=metric.target_type,
        average_utilization=metric.average_utilization,
        average_value=metric.average_value,
        average_value_quantity=metric.average_value_quantity,
        value=metric.value,
        value_quantity=metric.value_quantity,
        metric_name=metric.metric_name,
        metric_selector=_selector_out(metric.metric_selector),
        described_object=ref_out(metric.described_object) if metric.described_object is not None else None,
    )


def _rules_out(rules: ScalingRules | None) -> s.HPAScalingRulesOut | None:
    if rules is None:
        return None
    return s.HPAScalingRulesOut(
        stabilization_window_seconds=rules.stabilization_window_seconds,
        select_policy=rules.select_policy,
        policies=[
            s.HPAScalingPolicyOut(type=p.type, value=p.value, period_seconds=p.period_seconds) for p in rules.policies
        ],
        tolerance=rules.tolerance,
    )


def hpa_out(hpa: HPA) -> s.HPAOut:
    return s.HPAOut(
        namespace=hpa.namespace,
        name=hpa.name,
        target=ref_out(hpa.target),
        min_replicas=hpa.min_replicas,
        max_replicas=hpa.max_replicas,
        current_replicas=hpa.current_replicas,
        desired_replicas=hpa.desired_replicas,
        current_cpu_utilization_percent=hpa.current_cpu_utilization_percent,
        metrics=[hpa_metric_out(m) for m in hpa.metrics],
        scale_up=_rules_out(hpa.scale_up),
        scale_down=_rules_out(hpa.scale_down),
        conditions=[
            s.HPAConditionOut(type=c.type, status=c.status, reason=c.reason, message=c.message) for c in hpa.conditions
        ],
        last_scale_time=hpa.last_scale_time,
    )


@dataclass(slots=True)
class ViewContext:
    """One snapshot's topology and one analysis report, indexed for the routes."""

    topology: Topology
    report: AnalysisReport | None
    host_ports: dict[int, int]
    snapshot: ClusterSnapshot = field(init=False)  # the topology's, as a field: read per container on hot paths
    recs_by_target: dict[ObjectRef, list[Recommendation]] = field(default_factory=dict)
    recs_by_id: dict[str, Recommendation] = field(default_factory=dict)

    @classmethod
    def build(
        cls, snapshot: ClusterSnapshot, report: AnalysisReport | None, previous: ViewContext | None = None
    ) -> ViewContext:
        """Index `snapshot`; its topology carries over from `previous` when it can (domain/topology.py).

        A metrics tick or a Deployment scale changes no Service, Endpoints or ReplicaSet owner and at most
        a few pods, so only those pods are re-resolved instead of indexing all 10,000 again.
        """
        topology = Topology.build(snapshot, previous.topology if previous is not None else None)
        context = cls(topology=topology, report=report, host_ports=dict(snapshot.network.host_port_mappings))
        for rec in report.recommendations if report else ():
            context.recs_by_id[rec.id] = rec
            context.recs_by_target.setdefault(rec.target, []).append(rec)
        return context

    def __post_init__(self) -> None:
        self.snapshot = self.topology.snapshot

    # -- lookups -------------------------------------------------------------------------------------
    def container_usage(self, pod: Pod, container: str) -> Usage | None:
        usage = self.snapshot.container_usage.get(ContainerKey(pod.namespace, pod.name, container))
        if usage is None:
            return None
        return Usage(usage.cpu_millicores, usage.memory_bytes)

    def pod_usages(self, pod: Pod) -> list[Usage | None]:
        return [self.container_usage(pod, c.name) for c in pod.containers]

    def recommendations_for(self, ref: ObjectRef) -> list[Recommendation]:
        """The workload's own recommendations, then its HPA's."""
        found = list(self.recs_by_target.get(ref, ()))
        hpa = self.topology.hpa_for(ref)
        if hpa is not None:
            found += self.recs_by_target.get(hpa.ref(), [])
        return found

    def service_diagnoses(self, service: Service) -> list[Diagnosis]:
        if self.report is None:
            return []
        return list(self.report.diagnoses.get(service.ref(), ()))

    def workload_checks(self, workload: Workload) -> list[CheckResult]:
        if self.report is None:
            return []
        return list(self.report.checks.get(workload.ref(), ()))

    def workload_diagnoses(self, workload: Workload) -> list[Diagnosis]:
        if self.report is None:
            return []
        return list(self.report.workload_diagnoses.get(workload.ref(), ()))

    def anomalies_for(self, refs: set[ObjectRef]) -> list[s.AnomalyOut]:
        if self.report is None:
            return []
        return [anomaly_out(a) for a in self.report.anomalies if a.target in refs]

    def events_for(self, refs: set[ObjectRef]) -> list[s.EventOut]:
        found = [e for e in self.snapshot.events.values() if e.involved in refs]
        found.sort(key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC), reverse=True)
        return [event_out(e) for e in found[:50]]

    # -- shapes --------------------------------------------------------------------------------------
    def node_out(self, node: Node) -> s.NodeOut:
        usage = self.snapshot.node_usage.get(node.name)
        pods = [p for p in self.topology.pods_on(node.name) if p.phase not in _DONE]
        requested_cpu = sum(c.cpu_request_millicores or 0 for p in pods for c in p.containers)
        requested_memory = sum(c.memory_request_bytes or 0 for p in pods for c in p.containers)
        return s.NodeOut(
            name=node.name,
            roles=list(node.roles),
            internal_ip=node.internal_ip,
            pod_cidr=node.pod_cidr,
            ready=node.ready,
            capacity_cpu_millicores=node.capacity_cpu_millicores,
            capacity_memory_bytes=node.capacity_memory_bytes,
            allocatable_cpu_millicores=node.allocatable_cpu_millicores,
            allocatable_memory_bytes=node.allocatable_memory_bytes,
            usage_cpu_millicores=None if usage is None else round(usage.cpu_millicores, 3),
            usage_memory_bytes=None if usage is None else usage.memory_bytes,
            requested_cpu_millicores=requested_cpu,
            requested_memory_bytes=requested_memory,
            pod_count=len(pods),
            taints=[f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in node.taints],
        )

    def pod_out(self, pod: Pod) -> s.PodOut:
        statuses = {status.name: status for status in pod.container_statuses}
        containers = []
        for spec in pod.containers:
            status = statuses.get(spec.name)
            containers.append(
                s.ContainerOut(
                    name=spec.name,
                    image=spec.image,
                    ready=None if status is None else status.ready,
                    restart_count=0 if status is None else status.restart_count,
                    state=None if status is None else status.state,
                    reason=None if status is None else status.reason,
                    last_termination_reason=None if status is None else status.last_termination_reason,
                    resources=resources([spec], [self.container_usage(pod, spec.name)]),
                )
            )
        owner = self.topology.owner(pod)
        return s.PodOut(
            namespace=pod.namespace,
            name=pod.name,
            ip=pod.pod_ip,
            node=pod.node_name,
            host_ip=pod.host_ip,
            phase=pod.phase,
            ready=pod.ready,
            restarts=pod.restart_count,
            owner=None if owner is None else ref_out(owner),
            containers=containers,
            resources=resources(pod.containers, self.pod_usages(pod)),
            unschedulable_message=pod.unschedulable_message,
            deleting=pod.deleting,
            created_at=pod.created_at,
        )

    def service_summary(self, service: Service) -> s.ServiceSummary:
        key = (service.namespace, service.name)
        endpoints = self.snapshot.endpoints.get(key)
        ready = endpoints.ready_count if endpoints else 0
        workloads = self.topology.backing_workloads(service)
        pods = [p for p in self.topology.backing_pods(service) if p.phase not in _DONE]
        hpa = next((found for w in workloads if (found := self.topology.hpa_for(w.ref())) is not None), None)
        open_recs = sum(len(self.recommendations_for(w.ref())) for w in workloads)
        return s.ServiceSummary(
            namespace=service.namespace,
            name=service.name,
            type=service.type,
            cluster_ip=service.cluster_ip,
            dns_name=service.dns_name,
            ports=[
                s.ServicePortOut(
                    name=p.name,
                    port=p.port,
                    target_port=p.target_port,
                    protocol=p.protocol,
                    node_port=p.node_port,
                    host_port=self.host_ports.get(p.node_port) if p.node_port else None,
                )
                for p in service.ports
            ],
            selector=service.selector,
            labels=service.labels,
            endpoints=s.EndpointCounts(ready=ready, not_ready=(len(endpoints.addresses) - ready) if endpoints else 0),
            workloads=[
                s.WorkloadRefOut(
                    kind=w.kind,
                    namespace=w.namespace,
                    name=w.name,
                    replicas=w.replicas,
                    ready_replicas=w.ready_replicas,
                )
                for w in workloads
            ],
            hpa=None if hpa is None else hpa_summary(hpa),
            resources=resources([c for p in pods for c in p.containers], [u for p in pods for u in self.pod_usages(p)]),
            score=score_out(self.report.scores.get(service.ref()) if self.report else None),
            open_recommendations=open_recs,
            diagnoses=len(self.service_diagnoses(service)),
            created_at=service.created_at,
        )

    def service_detail(self, service: Service) -> s.ServiceDetail:
        summary = self.service_summary(service)
        workloads = self.topology.backing_workloads(service)
        refs = {w.ref() for w in workloads} | {service.ref()}
        pods = self.topology.backing_pods(service)
        refs |= {p.ref() for p in pods}
        hpa = next((found for r in refs if (found := self.topology.hpa_for(r)) is not None), None)
        endpoints = self.snapshot.endpoints.get((service.namespace, service.name))
        return s.ServiceDetail(
            **summary.model_dump(),
            pods=[self.pod_out(p) for p in pods],
            endpoint_addresses=[
                s.EndpointAddressOut(ip=a.ip, ready=a.ready, pod_name=a.pod_name, node_name=a.node_name)
                for a in (endpoints.addresses if endpoints else ())
            ],
            hpa_detail=None if hpa is None else hpa_out(hpa),
            checks=[check_out(c) for w in workloads for c in self.workload_checks(w)],
            diagnosis=[diagnosis_out(d) for d in self.service_diagnoses(service)],
            recommendations=[recommendation_out(r) for w in workloads for r in self.recommendations_for(w.ref())],
            anomalies=self.anomalies_for(refs),
            events=self.events_for(refs),
        )

    def workload_summary(self, workload: Workload) -> s.WorkloadSummary:
        ref = workload.ref()
        pods = [p for p in self.topology.pods_of_workload(ref) if p.phase not in _DONE]
        pod_usages = [self.pod_usages(pod) for pod in pods]  # once per container: a summary may cover 10,000 pods
        usages: dict[str, list[Usage]] = defaultdict(list)
        for pod, per_container in zip(pods, pod_usages, strict=True):
            for container, usage in zip(pod.containers, per_container, strict=True):
                if usage is not None:
                    usages[container.name].append(usage)
        hpa = self.topology.hpa_for(ref)
        return s.WorkloadSummary(
            kind=workload.kind,
            namespace=workload.namespace,
            name=workload.name,
            replicas=workload.replicas,
            ready_replicas=workload.ready_replicas,
            available_replicas=workload.available_replicas,
            updated_replicas=workload.updated_replicas,
            containers=[
                s.WorkloadContainerOut(
                    name=c.name, image=c.image, resources=resources([c], [_sum_usage(usages.get(c.name, []))])
                )
                for c in workload.containers
            ],
            resources=resources([c for p in pods for c in p.containers], [u for each in pod_usages for u in each]),
            hpa=None if hpa is None else hpa_summary(hpa),
            services=sorted(self.topology.services_of(ref)),
            open_recommendations=len(self.recommendations_for(ref)),
            annotations=public_annotations(workload.annotations),
            created_at=workload.created_at,
            diagnoses=len(self.workload_diagnoses(workload)),
        )

    def workload_detail(self, workload: Workload) -> s.WorkloadDetail:
        ref = workload.ref()
        pods = self.topology.pods_of_workload(ref)
        refs = {ref} | {p.ref() for p in pods}
        hpa = self.topology.hpa_for(ref)
        if hpa is not None:
            refs.add(hpa.ref())
        return s.WorkloadDetail(
            **self.workload_summary(workload).model_dump(),
            pods=[self.pod_out(p) for p in pods],
            diagnosis=[diagnosis_out(d) for d in self.workload_diagnoses(workload)],
            recommendations=[recommendation_out(r) for r in self.recommendations_for(ref)],
            anomalies=self.anomalies_for(refs),
            events=self.events_for(refs),
        )

    def served_workloads(self) -> list[Workload]:
        return [w for w in self.snapshot.workloads.values() if w.kind in SERVED_WORKLOAD_KINDS]


_DONE = frozenset({"Succeeded", "Failed"})


def _sum_usage(usages: list[Usage]) -> Usage | None:
    """Average per pod: a container's usage summed over replicas would not compare with its request."""
    if not usages:
        return None
    return Usage(
        sum(u.cpu_millicores for u in usages) / len(usages),
        int(sum(u.memory_bytes for u in usages) / len(usages)),
    )
