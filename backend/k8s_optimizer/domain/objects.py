"""The project's own typed view of the Kubernetes objects it reads.

The Kubernetes adapter (`k8s_optimizer.k8s.translate`) parses API JSON into these frozen dataclasses;
nothing downstream ever sees a client-library type. Optional fields are honest: a container without a
CPU request has `cpu_request_millicores=None`, never 0. Units are in the field names. Dataclasses with
slots, not pydantic, because a 10,000-pod cluster holds tens of thousands of them in the watch caches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Labels = dict[str, str]


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Identifies any object: kind is the API kind ('Deployment'); namespace is '' for cluster-scoped."""

    kind: str
    namespace: str
    name: str

    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class OwnerRef:
    kind: str
    name: str
    uid: str
    controller: bool = False


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    """One `matchExpressions` entry; operator is In, NotIn, Exists or DoesNotExist."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        return False


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A workload/PDB selector. An empty selector matches everything (as the API defines it)."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Labels) -> bool:
        if any(labels.get(key) != value for key, value in self.match_labels):
            return False
        return all(requirement.matches(labels) for requirement in self.match_expressions)

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels = field(default_factory=dict)
    phase: str = "Active"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    effect: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Labels
    internal_ip: str | None
    pod_cidr: str | None
    capacity_cpu_millicores: int
    capacity_memory_bytes: int
    allocatable_cpu_millicores: int
    allocatable_memory_bytes: int
    ready: bool
    taints: tuple[Taint, ...] = ()
    created_at: datetime | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        prefix = "node-role.kubernetes.io/"
        roles = tuple(sorted(k[len(prefix) :] for k in self.labels if k.startswith(prefix)))
        return roles or ("worker",)


@dataclass(frozen=True, slots=True)
class ContainerPort:
    container_port: int
    name: str | None = None
    protocol: str = "TCP"


ProbeHandler = Literal["httpGet", "tcpSocket", "exec", "grpc"]


@dataclass(frozen=True, slots=True)
class Probe:
    handler: ProbeHandler
    port: int | str | None = None
    path: str | None = None
    command: tuple[str, ...] = ()
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    timeout_seconds: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    image: str
    cpu_request_millicores: int | None = None
    cpu_limit_millicores: int | None = None
    memory_request_bytes: int | None = None
    memory_limit_bytes: int | None = None
    ports: tuple[ContainerPort, ...] = ()
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None


ContainerState = Literal["waiting", "running", "terminated", "unknown"]


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    name: str
    ready: bool
    restart_count: int
    state: ContainerState
    reason: str | None = None  # e.g. CrashLoopBackOff (waiting), OOMKilled (terminated)
    last_termination_reason: str | None = None
    last_termination_at: datetime | None = None
    started_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    uid: str
    labels: Labels
    owner: OwnerRef | None
    node_name: str | None
    pod_ip: str | None
    host_ip: str | None
    phase: str
    ready: bool
    containers: tuple[ContainerSpec, ...]
    container_statuses: tuple[ContainerStatus, ...] = ()
    unschedulable_message: str | None = None  # the PodScheduled=False condition's message
    created_at: datetime | None = None
    deleting: bool = False

    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.namespace, self.name)

    @property
    def restart_count(self) -> int:
        return sum(status.restart_count for status in self.container_statuses)


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    target_port: int | str
    protocol: str = "TCP"
    name: str | None = None
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: str  # ClusterIP, NodePort, LoadBalancer, ExternalName
    cluster_ip: str | None  # None for headless ("None") and ExternalName
    ports: tuple[ServicePort, ...]
    selector: Labels | None  # None: no selector (endpoints managed by hand)
    labels: Labels = field(default_factory=dict)
    created_at: datetime | None = None

    def ref(self) -> ObjectRef:
        return ObjectRef("Service", self.namespace, self.name)

    @property
    def dns_name(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True, slots=True)
class EndpointAddress:
    ip: str
    ready: bool
    pod_name: str | None = None
    node_name: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointPort:
    port: int
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """One Service's endpoints, flattened over subsets (or EndpointSlices)."""

    namespace: str
    name: str
    addresses: tuple[EndpointAddress, ...]
    ports: tuple[EndpointPort, ...]

    @property
    def ready_count(self) -> int:
        return sum(1 for address in self.addresses if address.ready)


WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]


@dataclass(frozen=True, slots=True)
class Workload:
    kind: WorkloadKind
    namespace: str
    name: str
    uid: str
    labels: Labels
    selector: LabelSelector
    containers: tuple[ContainerSpec, ...]
    replicas: int | None  # spec.replicas; None for DaemonSets
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    current_replicas: int = 0
    owner: OwnerRef | None = None  # ReplicaSet -> Deployment
    annotations: Labels = field(default_factory=dict)
    generation: int = 0
    observed_generation: int = 0
    created_at: datetime | None = None

    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    type: Literal["Pods", "Percent"]
    value: int
    period_seconds: int


@dataclass(frozen=True, slots=True)
class ScalingRules:
    """One direction of `spec.behavior`, defaulted as the API server defaults it."""

    stabilization_window_seconds: int | None  # None: the controller's downscale-stabilization flag
    select_policy: Literal["Max", "Min", "Disabled"]
    policies: tuple[ScalingPolicy, ...]
    tolerance: str | None = None  # the quantity as written ("50m"); None: the controller's tolerance flag


# The autoscaling/v2 defaults (pkg/apis/autoscaling/v2/defaults.go). The scale-down window stays unset
# there on purpose: the controller fills it from --horizontal-pod-autoscaler-downscale-stabilization.
DEFAULT_SCALE_UP = ScalingRules(
    stabilization_window_seconds=0,
    select_policy="Max",
    policies=(ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
)
DEFAULT_SCALE_DOWN = ScalingRules(
    stabilization_window_seconds=None,
    select_policy="Max",
    policies=(ScalingPolicy("Percent", 100, 15),),
)
DEFAULT_CPU_UTILIZATION_PERCENT = 80  # the API default metric when spec.metrics is empty


@dataclass(frozen=True, slots=True)
class HPAMetricTarget:
    """One entry of `spec.metrics`, as written: Resource, ContainerResource, Pods, Object or External.

    Quantities keep their text (`average_value_quantity`, `value_quantity`) so the API shows them as
    written; `average_value`/`value` are the numbers: millicores for cpu, bytes for memory, the plain
    value for every other metric.
    """

    type: str  # Resource, ContainerResource, Pods, Object, External
    resource: str | None = None  # cpu, memory (Resource, ContainerResource)
    target_type: str = "Utilization"  # Utilization, AverageValue, Value
    average_utilization: int | None = None
    average_value: float | None = None
    container: str | None = None
    value: float | None = None
    metric_name: str | None = None  # Pods, Object, External: metric.name
    metric_selector: LabelSelector | None = None  # metric.selector
    described_object: ObjectRef | None = None  # Object: describedObject (in the HPA's namespace)
    described_object_api_version: str | None = None
    average_value_quantity: str | None = None
    value_quantity: str | None = None


@dataclass(frozen=True, slots=True)
class HPACondition:
    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class HPA:
    namespace: str
    name: str
    target: ObjectRef
    min_replicas: int
    max_replicas: int
    metrics: tuple[HPAMetricTarget, ...]
    scale_up: ScalingRules | None = None  # both None: no behavior (the legacy path); both set otherwise
    scale_down: ScalingRules | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    current_cpu_utilization_percent: int | None = None
    conditions: tuple[HPACondition, ...] = ()
    last_scale_time: datetime | None = None

    def ref(self) -> ObjectRef:
        return ObjectRef("HorizontalPodAutoscaler", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class PodDisruptionBudget:
    namespace: str
    name: str
    selector: LabelSelector
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    disruptions_allowed: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    namespace: str
    name: str
    involved: ObjectRef
    reason: str
    message: str
    type: str  # Normal, Warning
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str | None = None
