"""The optimizer's output types: what the API serialises and the dashboard draws.

Plain frozen dataclasses with JSON-friendly field names (units in the names), so `dataclasses.asdict`
is the whole serialisation story and golden tests compare values directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from k8s_optimizer.analysis.anomalies import Anomaly
from k8s_optimizer.analysis.cost import ClusterCost, CostLine
from k8s_optimizer.analysis.hpa_simulation import SimulationSummary
from k8s_optimizer.domain.objects import ObjectRef

# The HPA replay's summary is one model (analysis/hpa_simulation.py); recommendations carry it as is.
HPASimulationSummary = SimulationSummary

__all__ = [
    "AnalysisReport",
    "Anomaly",
    "CheckResult",
    "ClusterCost",
    "ContainerRecommendation",
    "CostLine",
    "CostReport",
    "DataUsed",
    "Diagnosis",
    "HPASettings",
    "HPASimulationSummary",
    "Recommendation",
    "ResourceBounds",
    "ResourceValues",
    "ServiceScore",
    "TimelinePoint",
]

Severity = Literal["critical", "warning", "ok", "good", "unknown"]
CheckSeverity = Literal["danger", "warning", "info"]
Priority = Literal["high", "medium", "low"]
RecommendationKind = Literal["resources", "hpa", "replicas", "probe", "pdb"]


@dataclass(frozen=True, slots=True)
class ResourceValues:
    """Requests and limits of one container; None means unset."""

    cpu_request_millicores: int | None = None
    cpu_limit_millicores: int | None = None
    memory_request_bytes: int | None = None
    memory_limit_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ResourceBounds:
    """VPA-style lower/upper bounds around the proposed requests."""

    cpu_lower_millicores: int | None = None
    cpu_upper_millicores: int | None = None
    memory_lower_bytes: int | None = None
    memory_upper_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class DataUsed:
    window_seconds: float
    points: int
    pods: int


@dataclass(frozen=True, slots=True)
class ContainerRecommendation:
    """One strategy's verdict for one container (before it becomes an actionable Recommendation)."""

    container: str
    strategy: str
    current: ResourceValues
    proposed: ResourceValues | None  # None: not enough data / skipped (see skipped_reason)
    bounds: ResourceBounds
    confidence: float  # 0..1
    data: DataUsed
    rationale: str
    cpu_severity: Severity = "unknown"
    memory_severity: Severity = "unknown"
    skipped_reason: str | None = None

    @property
    def severity(self) -> Severity:
        return worst_severity((self.cpu_severity, self.memory_severity))


_SEVERITY_ORDER: dict[Severity, int] = {"unknown": 0, "good": 1, "ok": 2, "warning": 3, "critical": 4}


def worst_severity(severities: tuple[Severity, ...]) -> Severity:
    return max(severities, key=lambda severity: _SEVERITY_ORDER[severity], default="unknown")


@dataclass(frozen=True, slots=True)
class HPASettings:
    min_replicas: int
    max_replicas: int
    target_cpu_utilization_percent: int


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One simulated step: what the HPA would have done at `timestamp_seconds`."""

    timestamp_seconds: float
    usage_millicores: float
    current_replicas: int
    proposed_replicas: int


@dataclass(frozen=True, slots=True)
class Recommendation:
    id: str
    target: ObjectRef
    container: str | None
    kind: RecommendationKind
    priority: Priority
    severity: Severity
    savings_monthly_usd: float
    confidence: float
    rationale: str
    current: ResourceValues | HPASettings | None
    proposed: ResourceValues | HPASettings | None
    bounds: ResourceBounds | None
    data: DataUsed | None
    patch: dict[str, Any]
    patch_yaml: str
    kubectl_patch: str
    verify_commands: tuple[str, ...]
    timeline: tuple[TimelinePoint, ...] = ()
    simulation_current: HPASimulationSummary | None = None
    simulation_proposed: HPASimulationSummary | None = None
    stale: bool = False  # the history source could not be read: computed from its last answer


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One best-practice check evaluated on one object; `passed` results feed the reliability score."""

    id: str
    severity: CheckSeverity
    target: ObjectRef
    passed: bool
    message: str
    fix: str
    container: str | None = None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One connectivity finding with the kubectl command that shows the evidence.

    `service` is the Service diagnosed; for pods no Service fronts (AnalysisReport.workload_diagnoses)
    it names their workload, or the bare pod.
    """

    id: str
    service: ObjectRef
    severity: CheckSeverity
    message: str
    evidence_command: str
    fix: str
    pods: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CostReport:
    services: dict[str, CostLine] = field(default_factory=dict)  # "namespace/name"
    namespaces: dict[str, CostLine] = field(default_factory=dict)
    cluster: ClusterCost = field(default_factory=ClusterCost)


@dataclass(frozen=True, slots=True)
class ServiceScore:
    service: ObjectRef
    efficiency: float  # 0..100
    reliability: float
    right_sizing: float
    overall: float
    letter: str
    checks_passed: int
    checks_warning: int
    checks_danger: int
    containers_scored: int
    efficiency_measured: bool = True  # False: no usage reading yet, efficiency left out of `overall`


@dataclass(frozen=True, slots=True)
class AnalysisReport:
    generated_at_seconds: float
    policy: str
    recommendations: tuple[Recommendation, ...]
    checks: dict[str, tuple[CheckResult, ...]]  # workload key "Kind/ns/name" -> results (passed and failed)
    diagnoses: dict[str, tuple[Diagnosis, ...]]  # service "namespace/name" -> findings
    anomalies: tuple[Anomaly, ...]
    cost: CostReport
    scores: dict[str, ServiceScore]  # service "namespace/name"
    container_recommendations: dict[str, tuple[ContainerRecommendation, ...]] = field(default_factory=dict)
    # pods no Service fronts, not Ready: keyed "Kind/namespace/name" of their workload or bare pod
    workload_diagnoses: dict[str, tuple[Diagnosis, ...]] = field(default_factory=dict)
