"""The API's public JSON shapes: every REST response and every WebSocket message, as pydantic models.

These models are the contract the dashboard, the report command and curl users code against, and the
OpenAPI document is generated from them; docs/api.md describes the same shapes in prose. They are
deliberately separate from the frozen domain dataclasses: the wire format is stable and documented,
while the domain types may grow. Units are in the field names; timestamps are UTC ISO 8601.
WebSocket messages are discriminated unions on `type` (server → client) and `op` (client → server).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["high", "medium", "low"]
CheckSeverity = Literal["danger", "warning", "info"]
AnomalySeverity = Literal["low", "medium", "high", "critical"]
ChangeKind = Literal["added", "modified", "deleted"]
Topic = Literal["services", "pods", "nodes", "hpa", "workloads", "events", "metrics", "recommendations", "anomalies"]
TOPICS: tuple[Topic, ...] = (
    "services",
    "pods",
    "nodes",
    "hpa",
    "workloads",
    "events",
    "metrics",
    "recommendations",
    "anomalies",
)


class Model(BaseModel):
    """Base of every wire model: unknown fields are rejected on input, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------ errors / health


class Problem(Model):
    """RFC 9457 problem details; served as application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    """Per-field validation errors (loc, msg) when the request was invalid."""


class ComponentCheck(Model):
    healthy: bool
    detail: str = ""


class Health(Model):
    status: Literal["healthy", "degraded"]
    checks: dict[str, ComponentCheck] | None = None


class Ready(Model):
    ready: bool
    reason: str | None = None


class Capabilities(Model):
    """What this backend allows, so a client can show or hide actions without probing a mutating route."""

    apply_enabled: bool
    """POST …/dry-run, …/apply and …/rollback can succeed: the switch is on and a token is configured."""
    token_required: bool
    """Those routes and the WebSocket need `Authorization: Bearer` (the WebSocket also takes `?token=`)."""
    apply_disabled_reason: str | None
    """Why apply is off (the 403 detail the mutating routes answer); null when apply is enabled."""
    version: str
    """The backend's package version."""
    source: Literal["sqlite", "prometheus"] = "sqlite"
    """Where usage history for recommendations and charts comes from: the backend's own store or Prometheus."""


# ------------------------------------------------------------------------------------------ building blocks


class ObjectRefOut(Model):
    kind: str
    namespace: str
    name: str


class Resources(Model):
    """Requests, limits and usage of one container, or summed over a pod, workload or service."""

    cpu_usage_millicores: float | None = None
    cpu_request_millicores: int | None = None
    cpu_limit_millicores: int | None = None
    memory_usage_bytes: int | None = None
    memory_request_bytes: int | None = None
    memory_limit_bytes: int | None = None
    cpu_utilization_percent: float | None = None
    """Usage / request × 100 (None without a request or usage)."""
    memory_utilization_percent: float | None = None


T = TypeVar("T")


class Page(Model, Generic[T]):
    """Every list endpoint answers this: `items` is never null; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None
    total: int


# ------------------------------------------------------------------------------------------ cluster


class NodeOut(Model):
    name: str
    roles: list[str]
    internal_ip: str | None
    pod_cidr: str | None
    ready: bool
    capacity_cpu_millicores: int
    capacity_memory_bytes: int
    allocatable_cpu_millicores: int
    allocatable_memory_bytes: int
    usage_cpu_millicores: float | None
    usage_memory_bytes: int | None
    requested_cpu_millicores: int
    requested_memory_bytes: int
    pod_count: int
    taints: list[str]


class NetworkPlane(Model):
    name: Literal["node", "pod", "service"]
    cidr: str | None
    members: list[str]
    """Node IPs, per-node pod CIDRs, or service ClusterIPs."""
    note: str


class NetworkPlanes(Model):
    """The three address planes of the design's networking model."""

    node_network_cidr: str | None
    pod_cidrs: list[str]
    service_cidr: str
    planes: list[NetworkPlane]
    dns_service_ip: str | None
    host_port_mappings: dict[str, int]
    """nodePort → host port (kind extraPortMappings), keys as strings (JSON)."""


class Counts(Model):
    namespaces: int
    nodes: int
    pods: int
    services: int
    workloads: int
    hpas: int
    recommendations: int
    anomalies: int


class Overview(Model):
    taken_at: datetime
    synced: bool
    nodes: list[NodeOut]
    network: NetworkPlanes
    counts: Counts
    cost_monthly_usd: float
    potential_savings_monthly_usd: float
    scores: dict[str, float]


class NamespaceOut(Model):
    name: str
    phase: str
    labels: dict[str, str]
    pod_count: int
    service_count: int
    workload_count: int


# ------------------------------------------------------------------------------------------ services


class ServicePortOut(Model):
    name: str | None
    port: int
    target_port: int | str
    protocol: str
    node_port: int | None
    host_port: int | None
    """The host port kind maps to this nodePort, when configured."""


class EndpointCounts(Model):
    ready: int
    not_ready: int


class WorkloadRefOut(Model):
    kind: str
    namespace: str
    name: str
    replicas: int | None
    ready_replicas: int


class HPASummary(Model):
    name: str
    min_replicas: int
    max_replicas: int
    current_replicas: int | None
    desired_replicas: int | None
    current_cpu_utilization_percent: int | None
    target_cpu_utilization_percent: int | None
    able_to_scale: bool | None
    scaling_limited: bool | None


class ServiceSummary(Model):
    namespace: str
    name: str
    type: str
    cluster_ip: str | None
    dns_name: str
    ports: list[ServicePortOut]
    selector: dict[str, str] | None
    labels: dict[str, str]
    endpoints: EndpointCounts
    workloads: list[WorkloadRefOut]
    hpa: HPASummary | None
    resources: Resources
    score: ScoreOut | None
    open_recommendations: int
    diagnoses: int
    created_at: datetime | None


class ContainerOut(Model):
    name: str
    image: str
    ready: bool | None
    restart_count: int
    state: str | None
    reason: str | None
    last_termination_reason: str | None
    resources: Resources


class PodOut(Model):
    namespace: str
    name: str
    ip: str | None
    node: str | None
    host_ip: str | None
    phase: str
    ready: bool
    restarts: int
    owner: ObjectRefOut | None
    """The controlling workload (Deployment for ReplicaSet-owned pods)."""
    containers: list[ContainerOut]
    resources: Resources
    unschedulable_message: str | None
    deleting: bool
    created_at: datetime | None


class EndpointAddressOut(Model):
    ip: str
    ready: bool
    pod_name: str | None
    node_name: str | None


class EndpointsOut(Model):
    addresses: list[EndpointAddressOut]
    ports: list[dict[str, Any]]


class HPAMetricOut(Model):
    """One `spec.metrics` entry as written: Resource, ContainerResource, Pods, Object or External."""

    type: str
    resource: str | None
    container: str | None = None
    target_type: str
    average_utilization: int | None
    average_value: float | None
    """The averageValue target as a number: millicores for cpu, bytes for memory, the value otherwise."""
    average_value_quantity: str | None = None
    """The averageValue target as written ("500m", "100Mi")."""
    value: float | None = None
    value_quantity: str | None = None
    """The value target as written (Object/External)."""
    metric_name: str | None = None
    """Pods/Object/External: the metric's name."""
    metric_selector: dict[str, str] | None = None
    """The metric's label selector (matchLabels; expressions as 'key operator values')."""
    described_object: ObjectRefOut | None = None
    """Object metrics: the object the metric describes."""


class HPAScalingPolicyOut(Model):
    type: str
    value: int
    period_seconds: int


class HPAScalingRulesOut(Model):
    """One direction of `spec.behavior`, with the API's defaults filled in."""

    stabilization_window_seconds: int | None
    """null: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies."""
    select_policy: str
    policies: list[HPAScalingPolicyOut]
    tolerance: str | None
    """The per-direction tolerance as written (a quantity, e.g. "50m"); null: the controller's."""


class HPAConditionOut(Model):
    type: str
    status: str
    reason: str
    message: str


class HPAOut(Model):
    namespace: str
    name: str
    target: ObjectRefOut
    min_replicas: int
    max_replicas: int
    current_replicas: int | None
    desired_replicas: int | None
    current_cpu_utilization_percent: int | None
    metrics: list[HPAMetricOut]
    scale_up: HPAScalingRulesOut | None = None
    """`behavior.scaleUp` (null: no behavior, the controller's legacy limits)."""
    scale_down: HPAScalingRulesOut | None = None
    conditions: list[HPAConditionOut]
    last_scale_time: datetime | None


class EventOut(Model):
    namespace: str
    name: str
    involved: ObjectRefOut
    reason: str
    message: str
    type: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    source: str | None


class CheckOut(Model):
    """One best-practice check evaluated on one object (passed ones feed the reliability score)."""

    id: str
    severity: CheckSeverity
    target: ObjectRefOut
    container: str | None
    passed: bool
    message: str
    fix: str


class DiagnosisOut(Model):
    """One connectivity finding on a Service (no endpoints, selector mismatch, crash loop...)."""

    id: str
    service: ObjectRefOut
    severity: CheckSeverity
    message: str
    evidence_command: str
    """The kubectl command that shows the evidence."""
    fix: str
    pods: list[str]


class ScoreOut(Model):
    efficiency: float
    reliability: float
    right_sizing: float
    overall: float
    letter: str
    efficiency_measured: bool = True
    """False until a usage reading exists: efficiency is then a placeholder, left out of `overall`."""


class TimelinePointOut(Model):
    """One step of the HPA simulation: replicas the current and the proposed HPA would have run."""

    timestamp: datetime
    usage_millicores: float
    """The workload's total CPU usage at that step."""
    current_replicas: int
    proposed_replicas: int


class HPASimulationOut(Model):
    """Replaying the usage history through the autoscaling/v2 algorithm with one HPA setting."""

    replica_hours: float
    cost_usd: float
    time_at_max_seconds: float
    time_at_min_seconds: float
    scale_events_per_hour: float
    max_utilization_percent: float
    time_over_target_seconds: float


class RecommendationOut(Model):
    id: str
    target: ObjectRefOut
    container: str | None
    kind: str
    """resources, hpa, replicas, probe or pdb."""
    priority: Priority
    severity: str
    savings_monthly_usd: float
    confidence: float
    rationale: str
    current: dict[str, Any] | None
    """ResourceValues (cpu_request_millicores, ...) or HPA settings (min_replicas, ...)."""
    proposed: dict[str, Any] | None
    bounds: dict[str, Any] | None
    patch: dict[str, Any]
    """The strategic-merge patch of the target object."""
    patch_yaml: str
    kubectl_command: str
    verify_commands: list[str]
    simulation_current: HPASimulationOut | None
    """HPA recommendations: the simulation with the current settings (null for other kinds)."""
    simulation_proposed: HPASimulationOut | None
    applicable: bool
    """Whether POST …/apply can apply it (it has a non-empty patch)."""
    timeline: list[TimelinePointOut] = []
    """HPA recommendations: the simulated replica timeline (at most 240 points, oldest first)."""
    stale: bool = False
    """The history source (Prometheus) could not be read on the last pass: these are its last values."""


class AnomalyOut(Model):
    id: str
    kind: str
    """zscore, spike, drop, drift, oscillation, oom_killed, restart_burst, crash_loop, hpa_pinned_at_max."""
    series: str
    target: ObjectRefOut
    timestamp: datetime
    value: float
    expected_low: float | None
    expected_high: float | None
    severity: AnomalySeverity
    message: str


class ServiceDetail(ServiceSummary):
    pods: list[PodOut]
    endpoint_addresses: list[EndpointAddressOut]
    hpa_detail: HPAOut | None
    checks: list[CheckOut]
    diagnosis: list[DiagnosisOut]
    recommendations: list[RecommendationOut]
    anomalies: list[AnomalyOut]
    events: list[EventOut]


class PathHop(Model):
    """One step of a request's way: client → DNS → ClusterIP/NodePort → kube-proxy DNAT → pod."""

    kind: str
    """client, dns, cluster-ip, kube-proxy, pod, cni, host, port-mapping, node-port, node."""
    label: str
    address: str | None
    note: str
    command: str | None
    """The kubectl command that shows this hop's evidence."""


class PathBranch(Model):
    """The end of a path for one ready endpoint, chosen by kube-proxy with `probability`."""

    target: str
    """pod IP:port (the DNAT destination)."""
    probability: float
    cross_node: bool | None
    hops: list[PathHop]


class RequestPath(Model):
    kind: Literal["cluster-ip", "node-port"]
    service_port: int
    hops: list[PathHop]
    branches: list[PathBranch]


class ProxyRuleOut(Model):
    index: int
    target: str
    pod: str | None
    node: str | None
    rule_probability: float
    """iptables `--probability` of rule i of n: 1/(n−i)."""
    probability: float
    """Overall share of connections: 1/n."""


class KubeProxyOut(Model):
    service_port: int
    protocol: str
    rules: list[ProxyRuleOut]


class PathEndpoint(Model):
    ip: str
    ports: list[int]
    ready: bool
    pod: str | None
    node: str | None
    node_ip: str | None


class ServicePath(Model):
    service: ObjectRefOut
    dns_name: str
    type: str
    cluster_ip: str | None
    ports: list[ServicePortOut]
    endpoints: list[PathEndpoint]
    kube_proxy: list[KubeProxyOut]
    paths: list[RequestPath]
    verification_commands: list[str]
    """Every hop's command once, in path order: the design's verification checklist for this service."""


class ServiceDiagnosis(Model):
    service: ObjectRefOut
    healthy: bool
    """No danger-level finding."""
    diagnosis: list[DiagnosisOut]
    checks: list[CheckOut]


# ------------------------------------------------------------------------------------------ workloads


class WorkloadContainerOut(Model):
    name: str
    image: str
    resources: Resources


class WorkloadSummary(Model):
    kind: str
    namespace: str
    name: str
    replicas: int | None
    ready_replicas: int
    available_replicas: int
    updated_replicas: int
    containers: list[WorkloadContainerOut]
    resources: Resources
    hpa: HPASummary | None
    services: list[str]
    open_recommendations: int
    annotations: dict[str, str]
    created_at: datetime | None
    diagnoses: int = 0
    """Findings on this workload's pods that no Service fronts (crash loops, unschedulable)."""


class WorkloadDetail(WorkloadSummary):
    pods: list[PodOut]
    diagnosis: list[DiagnosisOut] = []
    """The findings counted by `diagnoses` (`service` names the workload itself)."""
    recommendations: list[RecommendationOut]
    anomalies: list[AnomalyOut]
    events: list[EventOut]


# ------------------------------------------------------------------------------------------ metrics / cost


class SeriesPoint(Model):
    """Statistics of the samples in one step (raw samples or 5-minute rollups)."""

    t: float
    """Start of the step, unix seconds (the metrics API's clock)."""
    samples: int
    min: float
    avg: float
    max: float
    p95: float


class TimeSeries(Model):
    target: str
    metric: Literal["cpu", "memory", "replicas"]
    unit: str
    """millicores, bytes or replicas."""
    window_seconds: float
    step_seconds: float
    source: Literal["raw", "rollup", "prometheus"]
    """raw samples or 5-minute rollups of the backend's own store, or Prometheus."""
    total: list[SeriesPoint]
    """Sum over the target's pods."""
    per_pod: dict[str, list[SeriesPoint]]
    request_per_pod: float | None
    """The current request of one pod (or the container), for a request line; null when unset."""
    limit_per_pod: float | None
    replicas: int | None


class CostLine(Model):
    """Monthly cost of a group of containers: max(request, usage) × hours × rate."""

    key: str
    """namespace, or namespace/service."""
    cpu_monthly_usd: float
    memory_monthly_usd: float
    total_monthly_usd: float
    cpu_request_millicores: float
    cpu_usage_millicores: float
    memory_request_bytes: float
    memory_usage_bytes: float


class ClusterCostOut(Model):
    workloads_monthly_usd: float
    allocatable_monthly_usd: float
    idle_monthly_usd: float
    savings_monthly_usd: float


class Cost(Model):
    cluster: ClusterCostOut
    namespaces: list[CostLine]
    services: list[CostLine]
    prices: dict[str, float]


# ------------------------------------------------------------------------------------------ apply / audit


class PatchOut(Model):
    recommendation_id: str
    format: Literal["yaml", "json", "kubectl"]
    content: str


class DiffLine(Model):
    path: str
    """JSON-pointer-ish path in the object, e.g. spec.template.spec.containers[app].resources.requests.cpu."""
    before: Any
    after: Any


class DryRunResult(Model):
    recommendation_id: str
    target: ObjectRefOut
    diff: list[DiffLine]
    unified_diff: str
    """A `diff -u` of the object's YAML before and after (managedFields and status stripped)."""


class ChangeRecord(Model):
    """One audited apply or rollback."""

    id: str
    action: Literal["apply", "rollback"]
    recommendation_id: str | None
    target: ObjectRefOut
    token_id: str
    """sha256 of the bearer token, first 12 hex digits (never the token)."""
    at: datetime
    patch: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    diff: list[DiffLine]
    rolled_back_by: str | None
    rollback_of: str | None


# ------------------------------------------------------------------------------------------ report


class ReportTotals(Model):
    recommendations: int
    potential_savings_monthly_usd: float
    cost_monthly_usd: float


class Report(Model):
    generated_at: datetime
    cluster: str
    namespace: str | None
    totals: ReportTotals
    scores: dict[str, float]
    recommendations: list[RecommendationOut]


# ------------------------------------------------------------------------------------------ WebSocket


class SubscribeOp(Model):
    op: Literal["subscribe"]
    topics: list[Topic] = Field(min_length=1, max_length=len(TOPICS))
    namespace: str | None = Field(None, max_length=63, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$")
    """Only this namespace ('' or null: all)."""
    since: int | None = Field(None, ge=0)
    """The last seq the client saw: replay what it missed (or a snapshot when that is too old)."""


class UnsubscribeOp(Model):
    op: Literal["unsubscribe"]
    topics: list[Topic] = Field(min_length=1, max_length=len(TOPICS))


class PingOp(Model):
    op: Literal["ping"]


ClientMessage = Annotated[SubscribeOp | UnsubscribeOp | PingOp, Field(discriminator="op")]


class SnapshotData(Model):
    """The full state of the subscribed topics, in the same shapes as the REST lists."""

    services: list[ServiceSummary] | None = None
    pods: list[PodOut] | None = None
    nodes: list[NodeOut] | None = None
    hpa: list[HPAOut] | None = None
    workloads: list[WorkloadSummary] | None = None
    events: list[EventOut] | None = None
    metrics: MetricsData | None = None
    recommendations: list[RecommendationOut] | None = None
    anomalies: list[AnomalyOut] | None = None


class PodUsage(Model):
    namespace: str
    name: str
    cpu_millicores: float
    memory_bytes: int


class ServiceUsage(Model):
    namespace: str
    name: str
    cpu_millicores: float
    memory_bytes: int
    cpu_request_millicores: int | None
    memory_request_bytes: int | None


class MetricsData(Model):
    timestamp: datetime | None
    pods: list[PodUsage]
    services: list[ServiceUsage]


class SnapshotMessage(Model):
    type: Literal["snapshot"] = "snapshot"
    seq: int
    reason: Literal["subscribe", "resync", "since-expired"]
    topics: list[Topic]
    namespace: str | None
    data: SnapshotData


class DeltaMessage(Model):
    type: Literal["delta"] = "delta"
    seq: int
    topic: Topic
    change: ChangeKind
    kind: str
    namespace: str
    name: str
    object: dict[str, Any] | None
    """The object after the change in its REST shape; null when deleted."""


class MetricsMessage(MetricsData):
    type: Literal["metrics"] = "metrics"
    seq: int


class RecommendationsMessage(Model):
    type: Literal["recommendations"] = "recommendations"
    seq: int
    items: list[RecommendationOut]
    added: list[str]
    removed: list[str]


class AnomaliesMessage(Model):
    type: Literal["anomalies"] = "anomalies"
    seq: int
    items: list[AnomalyOut]
    added: list[str]
    removed: list[str]


class HeartbeatMessage(Model):
    type: Literal["heartbeat"] = "heartbeat"
    seq: int
    at: datetime


class PongMessage(Model):
    type: Literal["pong"] = "pong"
    seq: int


class ErrorMessage(Model):
    type: Literal["error"] = "error"
    seq: int
    code: Literal["bad-json", "bad-message", "too-large", "rate-limited", "unauthorized"]
    detail: str


ServerMessage = Annotated[
    SnapshotMessage
    | DeltaMessage
    | MetricsMessage
    | RecommendationsMessage
    | AnomaliesMessage
    | HeartbeatMessage
    | PongMessage
    | ErrorMessage,
    Field(discriminator="type"),
]

SnapshotData.model_rebuild()
