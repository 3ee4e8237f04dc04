"""Right-sizing strategies behind one interface: container history + current spec + policy → proposal.

`krr-simple` reproduces Robusta KRR's `simple` strategy; `vpa` reproduces the VPA recommender's
estimators (decaying histograms, p90 target, p50/p95 bounds, +15 %, confidence widening, OOM bump);
`balanced` is the VPA-style target with KRR's per-container floors and data gates. All three are
HPA-aware: a CPU-utilisation HPA'd container gets its CPU request from per-pod usage and the HPA
target instead of being shrunk into KRR's feedback loop.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from k8s_optimizer.analysis import histogram as vpa_histogram
from k8s_optimizer.analysis.percentiles import (
    CPU_FIRST_BUCKET_MILLICORES,
    MEMORY_FIRST_BUCKET_BYTES,
    bucket_weights,
    buckets_percentile,
    decay_weight,
    interval_peaks,
    linear_percentile,
    values_of,
)
from k8s_optimizer.domain.history import ContainerHistory, DecayingHistogram
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
_TIMESTAMP = operator.attrgetter("timestamp_seconds")
_VALUE = operator.attrgetter("value")
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
    memory_hpa_target_percent: int | None = None  # a memory Utilization HPA scales this workload

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
    # the history store's VPA histograms (one per pod); used when every pod with data has one
    cpu_histograms: tuple[DecayingHistogram, ...] = ()
    memory_histograms: tuple[DecayingHistogram, ...] = ()
    histories: tuple[ContainerHistory, ...] = ()


def _histograms(histories: tuple[ContainerHistory, ...], resource: str) -> tuple[DecayingHistogram, ...]:
    found = (history.cpu_histogram if resource == "cpu" else history.memory_histogram for history in histories)
    return tuple(histogram for histogram in found if histogram is not None and histogram.total_samples > 0)


def _span(
    cpu: tuple[tuple[UsagePoint, ...], ...],
    memory: tuple[tuple[UsagePoint, ...], ...],
    histograms: tuple[DecayingHistogram, ...],
) -> float:
    firsts = [series[0].timestamp_seconds for series in cpu + memory]  # series are time-ordered
    lasts = [series[-1].timestamp_seconds for series in cpu + memory]
    firsts += [h.first_sample_seconds for h in histograms if h.first_sample_seconds is not None]
    lasts += [h.last_sample_seconds for h in histograms if h.last_sample_seconds is not None]
    return max(lasts) - min(firsts) if firsts and lasts else 0.0


def _gather(inputs: ContainerInputs) -> _Data:
    cpu = tuple(history.cpu_millicores for history in inputs.histories if history.cpu_millicores)
    memory = tuple(history.memory_bytes for history in inputs.histories if history.memory_bytes)
    cpu_histograms = _histograms(inputs.histories, "cpu")
    memory_histograms = _histograms(inputs.histories, "memory")
    span = _span(cpu, memory, cpu_histograms)
    # the store may hand 5-minute rollups or no series at all: the histograms count every sample
    points = max(sum(len(series) for series in cpu), sum(h.total_samples for h in cpu_histograms))
    confidence_days = min(span / DAY_SECONDS, points / SAMPLES_PER_CONFIDENCE_DAY)
    ooms = sum(len(history.oom_kill_times_seconds) for history in inputs.histories)
    return _Data(
        cpu, memory, points, span, len(inputs.histories), confidence_days, ooms,
        cpu_histograms, memory_histograms, inputs.histories,
    )  # fmt: skip


def _per_pod_cpu(data: _Data, percentile: float) -> float:
    """max over pods of each pod's CPU percentile: raw series when present, else that pod's histogram."""
    best = 0.0
    for history in data.histories:
        if history.cpu_millicores:
            best = max(best, linear_percentile(values_of(history.cpu_millicores), percentile))
        elif history.cpu_histogram is not None and history.cpu_histogram.total_samples > 0:
            best = max(best, vpa_histogram.percentile(history.cpu_histogram, percentile / 100))
    return best


def _memory_peak(data: _Data) -> float:
    """Highest working set seen: raw series, else the top of the daily-peak histograms (≤ 5 % over)."""
    raw = max((point.value for series in data.memory_by_pod for point in series), default=0.0)
    from_histograms = max((vpa_histogram.percentile(h, 1.0) for h in data.memory_histograms), default=0.0)
    return raw if data.memory_by_pod else from_histograms


def _gate(data: _Data, policy: Policy) -> str | None:
    """KRR's gates: ≥ 100 points and ≥ 3 h. Sparse but regular data (5-minute rollups, or a fast
    simulation's scrapes) also passes when it has at least one point per `sparse_sample_interval_seconds`."""
    if data.span_seconds < policy.min_history_seconds:
        return f"not enough history: {_duration(data.span_seconds)} < {_duration(policy.min_history_seconds)}"
    regular = max(2, math.ceil(data.span_seconds / policy.sparse_sample_interval_seconds))
    if data.points < policy.points_required and data.points < regular:
        return f"not enough data: {data.points} points < {policy.points_required} required"
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
    if current is None or current <= 0:
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
    per_pod = _per_pod_cpu(data, 95)
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
    memory_request, memory_limit = memory.request_bytes, _memory_limit(inputs, memory.request_bytes, policy)
    memory_text = memory.rationale
    if inputs.memory_hpa_target_percent is not None and inputs.spec.memory_request_bytes:
        # the same feedback loop as CPU: an HPA on memory utilisation keeps usage ≈ target × request
        memory_request, memory_limit = inputs.spec.memory_request_bytes, inputs.spec.memory_limit_bytes
        memory_text = f"memory kept: an HPA scales on {inputs.memory_hpa_target_percent} % memory utilisation"
    proposed = ResourceValues(
        cpu_request_millicores=cpu.request_millicores,
        cpu_limit_millicores=_cpu_limit(inputs, cpu.request_millicores, policy),
        memory_request_bytes=memory_request,
        memory_limit_bytes=memory_limit,
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
        rationale=f"{cpu.rationale}; {memory_text}",
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
        per_pod = _per_pod_cpu(data, policy.cpu_percentile)
        request = _ceil_cpu(per_pod, floor)
        current = inputs.spec.cpu_request_millicores
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(per_pod)} over {_duration(data.span_seconds)}"
            f" → {format_cpu(request)}; {_compare(current, request, format_cpu)}"
        )
        return _CpuProposal(request, None, None, text)

    def _memory(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _MemoryProposal:
        peak = _memory_peak(data)
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


def _cpu_samples(data: _Data, policy: Policy) -> tuple[list[float], list[float]]:
    """Values and VPA decay weights 2^((t − newest)/halfLife) (see percentiles.decay_weight).

    VPA also multiplies each CPU sample by max(request in cores, 0.1); raw series carry no request
    history, so that factor is the same for every sample and cancels out of every percentile.
    """
    newest = max(series[-1].timestamp_seconds for series in data.cpu_by_pod)
    points = list(itertools.chain.from_iterable(data.cpu_by_pod))
    ages = map(operator.sub, map(_TIMESTAMP, points), itertools.repeat(newest))
    weights = list(map(math.exp2, map(operator.truediv, ages, itertools.repeat(policy.half_life_seconds))))
    return list(map(_VALUE, points)), weights


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

    def _cpu(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _CpuProposal:
        percentile = _cpu_percentiles(inputs, data, policy)
        margin = 1 + policy.margin_fraction
        raw = percentile(policy.cpu_percentile)
        target = _ceil_cpu(raw * margin, floor)
        lower_factor, upper_factor = _confidence_multipliers(data.confidence_days)
        lower = percentile(policy.cpu_lower_percentile) * margin
        upper = percentile(policy.cpu_upper_percentile) * margin
        current = inputs.spec.cpu_request_millicores
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(raw)} over {_duration(data.span_seconds)}"
            f" × {margin:.2f} → {format_cpu(target)}; {_compare(current, target, format_cpu)}"
        )
        return _CpuProposal(
            target,
            _ceil_cpu(lower * lower_factor, floor),
            None if upper_factor is None else _ceil_cpu(upper * upper_factor, floor),
            text,
        )

    def _memory(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _MemoryProposal:
        percentile, peak, from_histograms = _memory_percentiles(data, policy)
        margin = 1 + policy.margin_fraction
        raw = percentile(policy.memory_percentile)
        needed = raw * margin
        text = f"p{policy.memory_percentile:g} of daily memory peaks {format_memory(raw)} × {margin:.2f}"
        # the store's histograms already hold VPA's bumped OOM peak; raw series need the bump applied here
        if data.ooms_in_window and from_histograms:
            text += f" (VPA's OOM bump for {data.ooms_in_window} OOM kill(s) included)"
        if data.ooms_in_window and not from_histograms:
            used = max(float(inputs.spec.memory_request_bytes or 0), peak)
            bumped = max(used + policy.oom_min_bump_bytes, used * policy.oom_bump_ratio)
            if bumped > needed:
                needed = bumped
                text = f"OOMKilled: max({format_memory(used)} + 100Mi, × {policy.oom_bump_ratio:g})"
        target = _ceil_memory(needed, floor)
        lower_factor, upper_factor = _confidence_multipliers(data.confidence_days)
        lower = percentile(policy.cpu_lower_percentile) * margin
        upper = percentile(policy.cpu_upper_percentile) * margin
        current = inputs.spec.memory_request_bytes
        text += f" → {format_memory(target)}; {_compare(current, target, format_memory)}"
        return _MemoryProposal(
            target,
            _ceil_memory(lower * lower_factor, floor),
            None if upper_factor is None else max(_ceil_memory(upper * upper_factor, floor), target),
            text,
        )


Percentile = Callable[[float], float]  # percentile in 0..100 → value


def _from_histograms(histograms: tuple[DecayingHistogram, ...]) -> Percentile:
    merged = vpa_histogram.merge_all(list(histograms))
    assert merged is not None

    def percentile(p: float) -> float:
        return vpa_histogram.percentile(merged, p / 100)

    return percentile


def _from_buckets(buckets: dict[int, float], first_bucket: float) -> Percentile:
    def percentile(p: float) -> float:
        return buckets_percentile(buckets, p, first_bucket) or 0.0

    return percentile


def _uses_histograms(histograms: tuple[DecayingHistogram, ...], series: tuple[tuple[UsagePoint, ...], ...]) -> bool:
    """The store's VPA histograms when every pod with data has one (they span the whole window)."""
    return bool(histograms) and len(histograms) >= len(series)


def _cpu_percentiles(inputs: ContainerInputs, data: _Data, policy: Policy) -> Percentile:
    if _uses_histograms(data.cpu_histograms, data.cpu_by_pod):
        return _from_histograms(data.cpu_histograms)
    buckets = bucket_weights(*_cpu_samples(data, policy), CPU_FIRST_BUCKET_MILLICORES)
    return _from_buckets(buckets, CPU_FIRST_BUCKET_MILLICORES)


def _memory_percentiles(data: _Data, policy: Policy) -> tuple[Percentile, float, bool]:
    """(percentile function, highest peak, whether it came from the store's histograms)."""
    if _uses_histograms(data.memory_histograms, data.memory_by_pod):
        percentile = _from_histograms(data.memory_histograms)
        return percentile, percentile(100), True
    peaks = _memory_peaks(data, policy)
    buckets = bucket_weights([v for v, _ in peaks], [w for _, w in peaks], MEMORY_FIRST_BUCKET_BYTES)
    return _from_buckets(buckets, MEMORY_FIRST_BUCKET_BYTES), max((v for v, _ in peaks), default=0.0), False


def strategy_for(policy: Policy) -> Strategy:
    if policy.name == "krr-simple":
        return KrrSimple()
    return VpaStyle(policy.name)
