"""Usage history as plain data: what the history store hands to the pure recommendation core.

The store (`k8s_optimizer.history`) owns persistence; the recommenders only ever see these values,
so golden tests build them by hand. Series are sorted by time; values are millicores and bytes.
Fields may be added by the store and the recommenders as they need them (keep them plain data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import ContainerKey, UsagePoint

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Node")


class SeriesQueryError(ValueError):
    """Bad input to a series query; `field` names the parameter (the API answers 4xx with it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class SeriesTarget:
    """What a chart is of: a workload, bare Pod or Node, optionally one container. Parsed once, at the API."""

    kind: str
    namespace: str
    name: str
    container: str | None = None

    @classmethod
    def parse(cls, text: str) -> SeriesTarget:
        """`<kind>/<namespace>/<name>[/<container>]`, `Node//<name>` for a node."""
        parts = text.split("/")
        if len(parts) not in (3, 4) or not parts[0] or not parts[2] or (len(parts) == 4 and not parts[3]):
            raise SeriesQueryError("target", f"want <kind>/<namespace>/<name>[/<container>], got {text!r}")
        if parts[0] not in WORKLOAD_KINDS:
            raise SeriesQueryError("target", f"kind must be one of {', '.join(WORKLOAD_KINDS)}, got {parts[0]!r}")
        if (parts[0] == "Node") != (parts[1] == ""):
            raise SeriesQueryError("target", "only Node targets have an empty namespace (Node//<name>)")
        return cls(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)

    def owner(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        base = f"{self.kind}/{self.namespace}/{self.name}"
        return base if self.container is None else f"{base}/{self.container}"


class HistoryUnavailableError(RuntimeError):
    """The history source cannot answer now (Prometheus down, refused, timed out); the message says why."""


@dataclass(frozen=True, slots=True)
class DecayingHistogram:
    """VPA-style histogram: exponentially growing buckets, weights decayed with a half-life.

    bucket i covers [first_bucket_size * ((1+growth)^i - 1) / growth, next boundary); weights are
    stored relative to `reference_timestamp_seconds` (a sample at t weighs 2^((t - ref) / half_life)).
    """

    first_bucket_size: float
    growth_ratio: float
    half_life_seconds: float
    reference_timestamp_seconds: float
    weights: tuple[float, ...]
    total_samples: int = 0
    first_sample_seconds: float | None = None
    last_sample_seconds: float | None = None
    max_value: float | None = None  # the last bucket starts at or above this (None: unbounded)


@dataclass(frozen=True, slots=True)
class ContainerHistory:
    """Everything known about one container's usage over the analysis window."""

    key: ContainerKey
    cpu_millicores: tuple[UsagePoint, ...] = ()
    memory_bytes: tuple[UsagePoint, ...] = ()
    cpu_histogram: DecayingHistogram | None = None
    memory_histogram: DecayingHistogram | None = None  # daily peaks, VPA memory model
    oom_kill_times_seconds: tuple[float, ...] = ()
    restart_count_in_window: int = 0


@dataclass(frozen=True, slots=True)
class WorkloadHistory:
    """A workload's containers across all its pods (past and present) plus its replica series."""

    kind: str
    namespace: str
    name: str
    containers: dict[str, tuple[ContainerHistory, ...]] = field(default_factory=dict)  # container name -> per pod
    replicas: tuple[UsagePoint, ...] = ()  # change points of spec/status replicas (a step function)
    window_seconds: float = 0.0
    desired_replicas: tuple[UsagePoint, ...] = ()  # change points of the HPA's desired replicas, if any
    # what the containers' series hold: raw samples, 5-minute points (CPU average, memory peak) when a
    # whole-cluster read would be too large for raw, or none (the histograms alone)
    series_resolution: str = "raw"
    # where the history came from ("" = the backend's own store; "Prometheus"), named in rationales
    source: str = ""
    # the source could not be read on the last pass: these are the last values it returned
    stale: bool = False
    stale_reason: str = ""
    # HPA metric name -> the series that feeds it (a Pods metric: the average per pod; Object/External:
    # the value), read from a source that has them (Prometheus)
    metric_series: dict[str, tuple[UsagePoint, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RollupPoint:
    """Statistics of the samples in one step of a series (a 5-minute rollup, or a raw-sample step)."""

    timestamp_seconds: float  # start of the step
    samples: int
    min: float
    avg: float
    max: float
    p95: float


@dataclass(frozen=True, slots=True)
class UsageSeries:
    """A metric of a target over a window: the sum over the target's pods and each pod's own series."""

    target: str  # <kind>/<namespace>/<name>[/<container>]
    metric: str  # cpu | memory | replicas
    unit: str  # millicores | bytes | replicas
    window_seconds: float
    step_seconds: float
    resolution: str  # raw | rollup
    total: tuple[RollupPoint, ...] = ()
    per_pod: dict[str, tuple[RollupPoint, ...]] = field(default_factory=dict)
