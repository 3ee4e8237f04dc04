"""Right-sizing strategies behind one interface: container history + current spec + policy → proposal.

`krr-simple` reproduces Robusta KRR's `simple` strategy; `vpa` reproduces the VPA recommender's
estimators (decaying histograms, p90 target, p50/p95 bounds, +15 %, confidence widening, OOM bump);
`balanced` is the VPA-style target with KRR's per-container floors and data gates. All three are
HPA-aware: a CPU-utilisation HPA'd container gets its CPU request from per-pod usage and the HPA
target instead of being shrunk into KRR's feedback loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from k8s_optimizer.analysis.percentiles import (
    CPU_FIRST_BUCKET_MILLICORES,
    MEMORY_FIRST_BUCKET_BYTES,
    MIN_CPU_SAMPLE_WEIGHT,
    decay_weight,
    interval_peaks,
    linear_percentile,
    values_of,
    weighted_bucket_percentile,
)
from k8s_optimizer.domain.history import ContainerHistory
from k8s_optimizer.domain.objects import ContainerSpec
from k8s_optimizer.domain.quantities import MIB, format_cpu, format_memory
from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.recommend.model import (
    ContainerRecommendation,
    DataUsed,
    ResourceBounds,
    ResourceValues,
    Severity,
    worst_severity,
)
from k8s_optimizer.recommend.policy import Policy

DAY_SECONDS = 86400.0
# VPA: confidence = min(lifespan days, samples / 1440) (one sample a minute for a day = 1).
SAMPLES_PER_CONFIDENCE_DAY = 1440
# KRR severity thresholds (core/models/severity.py): CPU in cores, memory in MiB.
CPU_SEVERITY_CORES = (0.5, 0.25, 0.1)
MEMORY_SEVERITY_MIB = (500, 250, 100)


@dataclass(frozen=True, slots=True)
class ContainerInputs:
    """Everything a strategy may look at for one container of one workload."""

    spec: ContainerSpec
    histories: tuple[ContainerHistory, ...]  # one per pod (past and present)
    now_seconds: float
    containers_in_pod: int = 1
    cpu_hpa_target_percent: int | None = None  # a CPU Utilization HPA scales this workload

    @property
    def current(self) -> ResourceValues:
        return ResourceValues(
            self.spec.cpu_request_millicores,
            self.spec.cpu_limit_millicores,
            self.spec.memory_request_bytes,
            self.spec.memory_limit_bytes,
        )


class Strategy(Protocol):
    name: str

    def recommend(self, inputs: ContainerInputs, policy: Policy) -> ContainerRecommendation: ...


@dataclass(frozen=True, slots=True)
class _Data:
    cpu_by_pod: tuple[tuple[UsagePoint, ...], ...]
    memory_by_pod: tuple[tuple[UsagePoint, ...], ...]
    points: int
    span_seconds: float
    pods: int
    confidence_days: float
    ooms_in_window: int


def _gather(inputs: ContainerInputs) -> _Data:
    cpu = tuple(history.cpu_millicores for history in inputs.histories if history.cpu_millicores)
    memory = tuple(history.memory_bytes for history in inputs.histories if history.memory_bytes)
    times = [point.timestamp_seconds for series in cpu + memory for point in series]
    span = max(times) - min(times) if times else 0.0
    points = sum(len(series) for series in cpu)
    confidence_days = min(span / DAY_SECONDS, points / SAMPLES_PER_CONFIDENCE_DAY)
    ooms = sum(len(history.oom_kill_times_seconds) for history in inputs.histories)
    return _Data(cpu, memory, points, span, len(inputs.histories), confidence_days, ooms)


def _gate(data: _Data, policy: Policy) -> str | None:
    if data.points < policy.points_required:
        return f"not enough data: {data.points} points < {policy.points_required} required"
    if data.span_seconds < policy.min_history_seconds:
        return f"not enough history: {_duration(data.span_seconds)} < {_duration(policy.min_history_seconds)}"
    return None


def _duration(seconds: float) -> str:
    if seconds >= 2 * DAY_SECONDS:
        return f"{seconds / DAY_SECONDS:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def _confidence_fraction(confidence_days: float) -> float:
    """Map VPA's confidence (days of data) onto 0..1: one day → 0.5, a week → 0.875."""
    return round(confidence_days / (confidence_days + 1), 3)


def _floors(inputs: ContainerInputs, policy: Policy) -> tuple[int, int]:
    if policy.floors_per_pod:
        count = max(inputs.containers_in_pod, 1)
        return math.ceil(policy.cpu_min_millicores / count), math.ceil(policy.memory_min_bytes / count)
    return policy.cpu_min_millicores, policy.memory_min_bytes


def _ceil_cpu(millicores: float, floor: int) -> int:
    return max(math.ceil(millicores - 1e-9), floor)


def _ceil_memory(memory_bytes: float, floor: int) -> int:
    return max(math.ceil(memory_bytes / MIB - 1e-9) * MIB, floor)


def value_severity(current: float | None, proposed: float | None, thresholds: tuple[float, ...]) -> Severity:
    """KRR per-value severity on |current − proposed| in the thresholds' unit."""
    if current is None and proposed is None:
        return "good"
    if current is None or proposed is None:
        return "warning"
    diff = abs(current - proposed)
    critical, warning, ok = thresholds
    if diff >= critical:
        return "critical"
    if diff >= warning:
        return "warning"
    return "ok" if diff >= ok else "good"


def _cores(millicores: int | None) -> float | None:
    return None if millicores is None else millicores / 1000


def _mib(memory_bytes: int | None) -> float | None:
    return None if memory_bytes is None else memory_bytes / MIB


def _severities(current: ResourceValues, proposed: ResourceValues) -> tuple[Severity, Severity]:
    cpu = worst_severity(
        (
            value_severity(
                _cores(current.cpu_request_millicores), _cores(proposed.cpu_request_millicores), CPU_SEVERITY_CORES
            ),
            value_severity(
                _cores(current.cpu_limit_millicores), _cores(proposed.cpu_limit_millicores), CPU_SEVERITY_CORES
            ),
        )
    )
    memory = worst_severity(
        (
            value_severity(
                _mib(current.memory_request_bytes), _mib(proposed.memory_request_bytes), MEMORY_SEVERITY_MIB
            ),
            value_severity(_mib(current.memory_limit_bytes), _mib(proposed.memory_limit_bytes), MEMORY_SEVERITY_MIB),
        )
    )
    return cpu, memory


def _compare(current: int | None, proposed: int, formatter: Callable[[float], str]) -> str:
    if current is None:
        return "request unset"
    return f"request {formatter(current)} is {current / proposed:.1f}× that"


def _skipped(inputs: ContainerInputs, strategy: str, data: _Data, reason: str) -> ContainerRecommendation:
    return ContainerRecommendation(
        container=inputs.spec.name,
        strategy=strategy,
        current=inputs.current,
        proposed=None,
        bounds=ResourceBounds(),
        confidence=_confidence_fraction(data.confidence_days),
        data=DataUsed(data.span_seconds, data.points, data.pods),
        rationale=reason,
        skipped_reason=reason,
    )


@dataclass(frozen=True, slots=True)
class _CpuProposal:
    request_millicores: int
    lower_millicores: int | None
    upper_millicores: int | None
    rationale: str


@dataclass(frozen=True, slots=True)
class _MemoryProposal:
    request_bytes: int
    lower_bytes: int | None
    upper_bytes: int | None
    rationale: str


def _hpa_cpu(inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _CpuProposal | None:
    """Per-pod request = per-pod p95 usage ÷ HPA target: keeps the HPA's arithmetic, breaks KRR's spiral."""
    target = inputs.cpu_hpa_target_percent
    if target is None:
        return None
    per_pod = max(linear_percentile(values_of(series), 95) for series in data.cpu_by_pod)
    request = _ceil_cpu(per_pod / (target / 100), floor)
    text = (
        f"HPA targets {target} % CPU: per-pod p95 {format_cpu(per_pod)} ÷ {target / 100:.2f} → {format_cpu(request)}"
        f"; {_compare(inputs.spec.cpu_request_millicores, request, format_cpu)}"
    )
    return _CpuProposal(request, None, None, text)


def _cpu_limit(inputs: ContainerInputs, request: int, policy: Policy) -> int | None:
    current_limit = inputs.spec.cpu_limit_millicores
    if policy.cpu_limits == "remove" or current_limit is None:
        return None
    current_request = inputs.spec.cpu_request_millicores
    if current_request:
        return math.ceil(request * current_limit / current_request)
    return max(current_limit, request)


def _memory_limit(inputs: ContainerInputs, request: int, policy: Policy) -> int | None:
    """KRR/balanced: limit = request (no memory overcommit). VPA: keep the limit/request ratio if both set."""
    if policy.name != "vpa":
        return request
    current_limit, current_request = inputs.spec.memory_limit_bytes, inputs.spec.memory_request_bytes
    if current_limit is None:
        return None
    if current_request:
        return _ceil_memory(request * current_limit / current_request, MIB)
    return max(current_limit, request)


def _assemble(
    inputs: ContainerInputs, policy: Policy, data: _Data, cpu: _CpuProposal, memory: _MemoryProposal
) -> ContainerRecommendation:
    proposed = ResourceValues(
        cpu_request_millicores=cpu.request_millicores,
        cpu_limit_millicores=_cpu_limit(inputs, cpu.request_millicores, policy),
        memory_request_bytes=memory.request_bytes,
        memory_limit_bytes=_memory_limit(inputs, memory.request_bytes, policy),
    )
    cpu_severity, memory_severity = _severities(inputs.current, proposed)
    return ContainerRecommendation(
        container=inputs.spec.name,
        strategy=policy.name,
        current=inputs.current,
        proposed=proposed,
        bounds=ResourceBounds(cpu.lower_millicores, cpu.upper_millicores, memory.lower_bytes, memory.upper_bytes),
        confidence=_confidence_fraction(data.confidence_days),
        data=DataUsed(data.span_seconds, data.points, data.pods),
        rationale=f"{cpu.rationale}; {memory.rationale}",
        cpu_severity=cpu_severity,
        memory_severity=memory_severity,
    )


class KrrSimple:
    """KRR `simple`: CPU = max over pods of per-pod p95 (no limit); memory = peak × 1.15 (request = limit)."""

    name = "krr-simple"

    def recommend(self, inputs: ContainerInputs, policy: Policy) -> ContainerRecommendation:
        data = _gather(inputs)
        reason = _gate(data, policy)
        if reason is not None:
            return _skipped(inputs, self.name, data, reason)
        cpu_floor, memory_floor = _floors(inputs, policy)
        cpu = _hpa_cpu(inputs, data, policy, cpu_floor) or self._cpu(inputs, data, policy, cpu_floor)
        return _assemble(inputs, policy, data, cpu, self._memory(inputs, data, policy, memory_floor))

    def _cpu(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _CpuProposal:
        per_pod = max(linear_percentile(values_of(series), policy.cpu_percentile) for series in data.cpu_by_pod)
        request = _ceil_cpu(per_pod, floor)
        current = inputs.spec.cpu_request_millicores
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(per_pod)} over {_duration(data.span_seconds)}"
            f" → {format_cpu(request)}; {_compare(current, request, format_cpu)}"
        )
        return _CpuProposal(request, None, None, text)

    def _memory(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _MemoryProposal:
        peak = max((point.value for series in data.memory_by_pod for point in series), default=0.0)
        needed = peak * (1 + policy.margin_fraction)
        text = f"memory peak {format_memory(peak)} × {1 + policy.margin_fraction:.2f}"
        limit = inputs.spec.memory_limit_bytes
        if data.ooms_in_window and limit:
            oom_needed = limit * (1 + policy.krr_oom_buffer_fraction)
            if oom_needed > needed:
                needed = oom_needed
                text = f"OOMKilled at limit {format_memory(limit)} × {1 + policy.krr_oom_buffer_fraction:.2f}"
        request = _ceil_memory(needed, floor)
        current = inputs.spec.memory_request_bytes
        text += f" → {format_memory(request)}; {_compare(current, request, format_memory)}"
        return _MemoryProposal(request, None, None, text)


def _confidence_multipliers(confidence_days: float) -> tuple[float, float | None]:
    """VPA: lower × (1 + 0.001/conf)^-2, upper × (1 + 1/conf); no data → no upper bound."""
    if confidence_days <= 0:
        return 0.0, None
    return (1 + 0.001 / confidence_days) ** -2, 1 + 1 / confidence_days


def _cpu_samples(inputs: ContainerInputs, data: _Data, policy: Policy) -> list[tuple[float, float]]:
    newest = max(point.timestamp_seconds for series in data.cpu_by_pod for point in series)
    weight = max((inputs.spec.cpu_request_millicores or 0) / 1000, MIN_CPU_SAMPLE_WEIGHT)
    return [
        (point.value, weight * decay_weight(point.timestamp_seconds, newest, policy.half_life_seconds))
        for series in data.cpu_by_pod
        for point in series
    ]


def _memory_peaks(data: _Data, policy: Policy) -> list[tuple[float, float]]:
    peaks = [
        peak for series in data.memory_by_pod for peak in interval_peaks(series, policy.memory_aggregation_seconds)
    ]
    if not peaks:
        return []
    newest = max(peak.timestamp_seconds for peak in peaks)
    return [(peak.value, decay_weight(peak.timestamp_seconds, newest, policy.half_life_seconds)) for peak in peaks]


class VpaStyle:
    """The VPA recommender's estimators on our history (raw points → the same bucketed, decayed walk)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def recommend(self, inputs: ContainerInputs, policy: Policy) -> ContainerRecommendation:
        data = _gather(inputs)
        reason = _gate(data, policy)
        if reason is not None:
            return _skipped(inputs, self.name, data, reason)
        cpu_floor, memory_floor = _floors(inputs, policy)
        cpu = _hpa_cpu(inputs, data, policy, cpu_floor) or self._cpu(inputs, data, policy, cpu_floor)
        return _assemble(inputs, policy, data, cpu, self._memory(inputs, data, policy, memory_floor))

    def _estimate(
        self, samples: Sequence[tuple[float, float]], policy: Policy, first_bucket: float, percentile: float
    ) -> float:
        return (weighted_bucket_percentile(samples, percentile, first_bucket) or 0.0) * (1 + policy.margin_fraction)

    def _cpu(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _CpuProposal:
        samples = _cpu_samples(inputs, data, policy)
        raw = weighted_bucket_percentile(samples, policy.cpu_percentile, CPU_FIRST_BUCKET_MILLICORES) or 0.0
        target = _ceil_cpu(raw * (1 + policy.margin_fraction), floor)
        lower_factor, upper_factor = _confidence_multipliers(data.confidence_days)
        lower = self._estimate(samples, policy, CPU_FIRST_BUCKET_MILLICORES, policy.cpu_lower_percentile)
        upper = self._estimate(samples, policy, CPU_FIRST_BUCKET_MILLICORES, policy.cpu_upper_percentile)
        current = inputs.spec.cpu_request_millicores
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(raw)} over {_duration(data.span_seconds)}"
            f" × {1 + policy.margin_fraction:.2f} → {format_cpu(target)}; {_compare(current, target, format_cpu)}"
        )
        return _CpuProposal(
            target,
            _ceil_cpu(lower * lower_factor, floor),
            None if upper_factor is None else _ceil_cpu(upper * upper_factor, floor),
            text,
        )

    def _memory(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _MemoryProposal:
        peaks = _memory_peaks(data, policy)
        raw = weighted_bucket_percentile(peaks, policy.memory_percentile, MEMORY_FIRST_BUCKET_BYTES) or 0.0
        needed = raw * (1 + policy.margin_fraction)
        margin = 1 + policy.margin_fraction
        text = f"p{policy.memory_percentile:g} of daily memory peaks {format_memory(raw)} × {margin:.2f}"
        if data.ooms_in_window:
            used = max(float(inputs.spec.memory_request_bytes or 0), max((value for value, _ in peaks), default=0.0))
            bumped = max(used + policy.oom_min_bump_bytes, used * policy.oom_bump_ratio)
            if bumped > needed:
                needed = bumped
                text = f"OOMKilled: max({format_memory(used)} + 100Mi, × {policy.oom_bump_ratio:g})"
        target = _ceil_memory(needed, floor)
        lower_factor, upper_factor = _confidence_multipliers(data.confidence_days)
        lower = self._estimate(peaks, policy, MEMORY_FIRST_BUCKET_BYTES, policy.cpu_lower_percentile)
        upper = self._estimate(peaks, policy, MEMORY_FIRST_BUCKET_BYTES, policy.cpu_upper_percentile)
        current = inputs.spec.memory_request_bytes
        text += f" → {format_memory(target)}; {_compare(current, target, format_memory)}"
        return _MemoryProposal(
            target,
            _ceil_memory(lower * lower_factor, floor),
            None if upper_factor is None else max(_ceil_memory(upper * upper_factor, floor), target),
            text,
        )


def strategy_for(policy: Policy) -> Strategy:
    if policy.name == "krr-simple":
        return KrrSimple()
    return VpaStyle(policy.name)
