"""Right-sizing strategies behind one interface: container history + current spec + policy → proposal.

`krr-simple` is Robusta KRR's `simple` strategy with KRR's defaults, number for number (its rounding and
minimums included; short history only warns; no OOM bump; an HPA on a resource leaves it alone).
`vpa` is the VPA recommender's estimation, integer for integer, from raw series or from the history
store's histograms (`analysis/vpa.py`). `balanced`, the default, is ours: VPA's target with KRR's
per-container floors, stricter data gates (≥ 3 h and ≥ 100 points, or regular sparse data), VPA's OOM
bump, and an HPA-aware CPU request (per-pod usage ÷ the HPA's target) instead of KRR's shrinking spiral.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from k8s_optimizer.analysis import histogram as vpa_histogram, vpa
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
# VPA: confidence = min(lifespan days, samples / 1440) (one sample a minute for a day = 1).
SAMPLES_PER_CONFIDENCE_DAY = 1440
# KRR severity thresholds (core/models/severity.py): CPU in cores, memory in MiB.
CPU_SEVERITY_CORES = (0.5, 0.25, 0.1)
MEMORY_SEVERITY_MIB = (500, 250, 100)
KRR_MIN_HISTORY_SECONDS = 3 * 3600.0  # history_range_enough: below it KRR warns and still recommends


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


def _duration(seconds: float) -> str:
    if seconds >= 2 * DAY_SECONDS:
        return f"{seconds / DAY_SECONDS:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def _gate(data: _Data, policy: Policy) -> str | None:
    """The policy's data gate; a reason means "skip". KRR gates on points only, VPA on having samples."""
    if data.points == 0:
        return "no data"
    if policy.gates == "none":
        return None
    if policy.gates == "strict" and data.span_seconds < policy.min_history_seconds:
        return f"not enough history: {_duration(data.span_seconds)} < {_duration(policy.min_history_seconds)}"
    regular = max(2, math.ceil(data.span_seconds / policy.sparse_sample_interval_seconds))
    sparse_ok = policy.gates == "strict" and data.points >= regular  # 5-minute rollups, a fast simulation
    if data.points < policy.points_required and not sparse_ok:
        return f"not enough data: {data.points} points < {policy.points_required} required"
    return None


def _confidence_fraction(confidence_days: float) -> float:
    """Map VPA's confidence (days of data) onto 0..1: one day → 0.5, a week → 0.875."""
    return round(confidence_days / (confidence_days + 1), 3)


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


def _severity(current: tuple[int | None, int | None], proposed: tuple[int | None, int | None], cpu: bool) -> Severity:
    convert, thresholds = (_cores, CPU_SEVERITY_CORES) if cpu else (_mib, MEMORY_SEVERITY_MIB)
    return worst_severity(
        tuple(
            value_severity(convert(now), convert(new), thresholds) for now, new in zip(current, proposed, strict=True)
        )
    )


def _severities(current: ResourceValues, proposed: ResourceValues) -> tuple[Severity, Severity]:
    cpu = _severity(
        (current.cpu_request_millicores, current.cpu_limit_millicores),
        (proposed.cpu_request_millicores, proposed.cpu_limit_millicores),
        cpu=True,
    )
    memory = _severity(
        (current.memory_request_bytes, current.memory_limit_bytes),
        (proposed.memory_request_bytes, proposed.memory_limit_bytes),
        cpu=False,
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
    request_millicores: int | None
    lower_millicores: int | None
    upper_millicores: int | None
    rationale: str


@dataclass(frozen=True, slots=True)
class _MemoryProposal:
    request_bytes: int
    lower_bytes: int | None
    upper_bytes: int | None
    rationale: str


@dataclass(frozen=True, slots=True)
class _Extra:
    """What the assembler adds: a confidence other than VPA's, and notes for the rationale."""

    confidence_days: float
    notes: tuple[str, ...] = ()
    confidence_factor: float = 1.0  # < 1 when numbers come from histogram bucket edges


def _cpu_limit(inputs: ContainerInputs, request: int | None, policy: Policy) -> int | None:
    current_limit = inputs.spec.cpu_limit_millicores
    if policy.cpu_limits == "remove" or current_limit is None or request is None:
        return None
    current_request = inputs.spec.cpu_request_millicores
    if current_request and policy.name == "vpa":  # the VPA admission controller: limit × new / old, floored
        return current_limit * request // current_request
    if current_request:
        return math.ceil(request * current_limit / current_request)
    return max(current_limit, request)


def _ceil_memory(memory_bytes: float, floor: int) -> int:
    return max(math.ceil(memory_bytes / MIB) * MIB, floor)


def _memory_limit(inputs: ContainerInputs, request: int, policy: Policy) -> int | None:
    """KRR/balanced: limit = request (no memory overcommit). VPA: keep the limit/request ratio if both set."""
    if policy.name != "vpa":
        return request
    current_limit, current_request = inputs.spec.memory_limit_bytes, inputs.spec.memory_request_bytes
    if current_limit is None:
        return None
    if current_request:  # the VPA admission controller keeps the limit in proportion, in whole bytes, floored
        return current_limit * request // current_request
    return max(current_limit, request)


def _assemble(
    inputs: ContainerInputs,
    policy: Policy,
    data: _Data,
    cpu: _CpuProposal,
    memory: _MemoryProposal,
    extra: _Extra,
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
    notes = "".join(f"; {note}" for note in extra.notes)
    return ContainerRecommendation(
        container=inputs.spec.name,
        strategy=policy.name,
        current=inputs.current,
        proposed=proposed,
        bounds=ResourceBounds(cpu.lower_millicores, cpu.upper_millicores, memory.lower_bytes, memory.upper_bytes),
        confidence=round(_confidence_fraction(extra.confidence_days) * extra.confidence_factor, 3),
        data=DataUsed(data.span_seconds, data.points, data.pods),
        rationale=f"{cpu.rationale}; {memory_text}{notes}",
        cpu_severity=cpu_severity,
        memory_severity=memory_severity,
    )


class _Base:
    """The shared recommend(): gate, then each strategy's CPU, memory and extras, then one assembly."""

    name: str

    def recommend(self, inputs: ContainerInputs, policy: Policy) -> ContainerRecommendation:
        data = _gather(inputs)
        reason = _gate(data, policy)
        if reason is not None:
            return _skipped(inputs, self.name, data, reason)
        cpu, memory, extra = self._propose(inputs, data, policy)
        return _assemble(inputs, policy, data, cpu, memory, extra)

    def _propose(
        self, inputs: ContainerInputs, data: _Data, policy: Policy
    ) -> tuple[_CpuProposal, _MemoryProposal, _Extra]:
        raise NotImplementedError


# -- KRR `simple` ------------------------------------------------------------------------------------------------
def prometheus_quantile(values: list[float], q: float) -> float:
    """Prometheus' quantile_over_time (KRR's PercentileCPULoader): rank q·(n−1), weighted between neighbours."""
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = max(0, math.floor(rank))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def krr_round_cpu_millicores(cores: float, minimum_millicores: int) -> int:
    """KRR's runner: ceil(cores × 10³) / 10³, then max(·, cpu_min / 1000); returned in millicores."""
    rounded = math.ceil(cores * 10**3) / 10**3
    return max(round(rounded * 1000), minimum_millicores)


def krr_round_memory_bytes(memory_bytes: float, minimum_bytes: int) -> int:
    """KRR's runner: ceil(bytes × 2⁻²⁰) / 2⁻²⁰ (whole MiB), then max(·, mem_min MiB)."""
    precision = 1 / (1024**2)
    return max(int(math.ceil(memory_bytes * precision) / precision), minimum_bytes)


@dataclass(frozen=True, slots=True)
class _BucketBound:
    """A value read from a histogram is its bucket's top edge: up to (top − bottom) / bottom over the truth."""

    bottom: float
    top: float

    @property
    def overshoot(self) -> float:
        return (self.top - self.bottom) / self.bottom if self.bottom > 0 else 1.0

    def note(self, what: str, formatter: Callable[[float], str]) -> str:
        return (
            f"{what} read from histogram buckets [{formatter(self.bottom)}, {formatter(self.top)}): "
            f"up to +{self.overshoot * 100:.0f} % over the true value"
        )


def _bucket_bound(histogram: DecayingHistogram, value: float) -> _BucketBound:
    scheme = vpa_histogram.Histogram.from_domain(histogram).scheme
    index = max(scheme.bucket_of(value * (1 - 1e-12)), 0)
    return _BucketBound(scheme.bucket_start(index), value)


def _per_pod_cpu_cores(data: _Data, percentile: float) -> tuple[float, _BucketBound | None]:
    """max over pods of each pod's quantile in cores: raw series when present, else that pod's histogram."""
    best, bound = 0.0, None
    for history in data.histories:
        if history.cpu_millicores:
            cores = [point.value / 1000 for point in history.cpu_millicores]
            value, from_bucket = prometheus_quantile(cores, percentile / 100), None
        elif history.cpu_histogram is not None and history.cpu_histogram.total_samples > 0:
            top = vpa_histogram.percentile(history.cpu_histogram, percentile / 100)
            value, from_bucket = top / 1000, _bucket_bound(history.cpu_histogram, top)
        else:
            continue
        if value > best:
            best, bound = value, from_bucket
    return best, bound


def _memory_peak(data: _Data) -> tuple[float, _BucketBound | None]:
    """Highest working set seen: raw series, else the top bucket edge of the daily-peak histograms."""
    if data.memory_by_pod:
        return max(point.value for series in data.memory_by_pod for point in series), None
    best, bound = 0.0, None
    for histogram in data.memory_histograms:
        top = vpa_histogram.percentile(histogram, 1.0)
        if top > best:
            best, bound = top, _bucket_bound(histogram, top)
    return best, bound


class KrrSimple(_Base):
    """KRR `simple` with its defaults: CPU = max over pods of per-pod p95, no limit; memory = peak × 1.15."""

    name = "krr-simple"

    def _propose(
        self, inputs: ContainerInputs, data: _Data, policy: Policy
    ) -> tuple[_CpuProposal, _MemoryProposal, _Extra]:
        notes: list[str] = []
        if data.span_seconds < KRR_MIN_HISTORY_SECONDS:
            notes.append(f"warning: {_duration(data.span_seconds)} of history < 3 h (KRR recommends anyway)")
        cpu, cpu_bound = self._cpu(inputs, data, policy)
        memory, memory_bound = self._memory(inputs, data, policy)
        factor = 1.0
        for what, bound, formatter in (("CPU", cpu_bound, format_cpu), ("memory", memory_bound, format_memory)):
            if bound is not None:
                notes.append(bound.note(what, formatter))
                factor = min(factor, bound.bottom / bound.top)
        return cpu, memory, _Extra(data.confidence_days, tuple(notes), factor)

    def _cpu(self, inputs: ContainerInputs, data: _Data, policy: Policy) -> tuple[_CpuProposal, _BucketBound | None]:
        current = inputs.spec.cpu_request_millicores
        if inputs.cpu_hpa_target_percent is not None:  # allow_hpa is off: KRR answers "?" (HPA detected)
            return _CpuProposal(current, None, None, "CPU left as is: HPA detected (KRR's allow_hpa is off)"), None
        cores, bound = _per_pod_cpu_cores(data, policy.cpu_percentile)
        request = krr_round_cpu_millicores(cores, policy.cpu_min_millicores)
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(cores * 1000)} over {_duration(data.span_seconds)}"
            f" → {format_cpu(request)}; {_compare(current, request, format_cpu)}"
        )
        return _CpuProposal(request, None, None, text), bound

    def _memory(
        self, inputs: ContainerInputs, data: _Data, policy: Policy
    ) -> tuple[_MemoryProposal, _BucketBound | None]:
        peak, bound = _memory_peak(data)
        needed = peak * (1 + policy.margin_fraction)
        text = f"memory peak {format_memory(peak)} × {1 + policy.margin_fraction:.2f}"
        limit = inputs.spec.memory_limit_bytes
        if policy.oom_bump and data.ooms_in_window and limit:  # use_oomkill_data (off in KRR's defaults)
            oom_needed = limit * (1 + policy.krr_oom_buffer_fraction)
            if oom_needed > needed:
                needed = oom_needed
                text = f"OOMKilled at limit {format_memory(limit)} × {1 + policy.krr_oom_buffer_fraction:.2f}"
        request = krr_round_memory_bytes(needed, policy.memory_min_bytes)
        text += f" → {format_memory(request)}; {_compare(inputs.spec.memory_request_bytes, request, format_memory)}"
        return _MemoryProposal(request, None, None, text), bound


# -- the VPA recommender (vpa) and ours (balanced) ------------------------------------------------------------------
def _aggregate(inputs: ContainerInputs, policy: Policy) -> vpa.VpaAggregate:
    """The store's histograms when every pod with data has them (the OOM bump is in them), else raw series."""
    stored = vpa.from_store(inputs.histories)
    if stored is not None:
        return stored
    return vpa.from_series(
        inputs.histories,
        memory_request_bytes=inputs.spec.memory_request_bytes,
        oom_bump=policy.oom_bump,
        half_life_seconds=policy.half_life_seconds,
    )


def _minimums(inputs: ContainerInputs, policy: Policy) -> tuple[int, int]:
    """vpa: the per-pod minimums split across containers, truncated; balanced: KRR's per-container floors."""
    if not policy.floors_per_pod:
        return policy.cpu_min_millicores, policy.memory_min_bytes
    fraction = 1.0 / max(inputs.containers_in_pod, 1)
    cpu = vpa.scale(vpa.resource_amount(policy.cpu_min_millicores * 0.001 * 1000.0), fraction)
    return cpu, vpa.scale(vpa.resource_amount(float(policy.memory_min_bytes)), fraction)


def _percentiles(policy: Policy, *, memory: bool) -> vpa.Percentiles:
    target = policy.memory_percentile if memory else policy.cpu_percentile
    return vpa.Percentiles(target / 100, policy.cpu_lower_percentile / 100, policy.cpu_upper_percentile / 100)


class VpaStyle(_Base):
    """The VPA recommender's estimators (`vpa`), or ours built on them (`balanced`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _propose(
        self, inputs: ContainerInputs, data: _Data, policy: Policy
    ) -> tuple[_CpuProposal, _MemoryProposal, _Extra]:
        aggregate = _aggregate(inputs, policy)
        confidence = aggregate.confidence_days()
        cpu_min, memory_min = _minimums(inputs, policy)
        cpu = self._hpa_cpu(inputs, data, policy, cpu_min) or self._cpu(inputs, aggregate, policy, cpu_min)
        memory = self._memory(inputs, data, aggregate, policy, memory_min)
        notes: tuple[str, ...] = ()
        if policy.name == "balanced":
            notes = ("balanced: VPA's estimate with KRR's floors, ≥ 3 h and ≥ 100 points, OOM kills bump memory",)
        return cpu, memory, _Extra(confidence, notes)

    def _hpa_cpu(self, inputs: ContainerInputs, data: _Data, policy: Policy, floor: int) -> _CpuProposal | None:
        target = inputs.cpu_hpa_target_percent
        if target is None:
            return None
        if policy.name == "vpa":  # VPA and an HPA on the same CPU fight each other (VPA's own docs)
            return _CpuProposal(inputs.spec.cpu_request_millicores, None, None, "CPU left as is: an HPA scales on CPU")
        cores, _ = _per_pod_cpu_cores(data, 95)
        per_pod = cores * 1000
        request = max(math.ceil(per_pod / (target / 100) - 1e-9), floor)
        text = (
            f"HPA targets {target} % CPU: per-pod p95 {format_cpu(per_pod)} ÷ {target / 100:.2f} → "
            f"{format_cpu(request)}; {_compare(inputs.spec.cpu_request_millicores, request, format_cpu)}"
        )
        return _CpuProposal(request, None, None, text)

    def _cpu(self, inputs: ContainerInputs, aggregate: vpa.VpaAggregate, policy: Policy, floor: int) -> _CpuProposal:
        bounds = vpa.estimate(
            aggregate.cpu,
            _percentiles(policy, memory=False),
            policy.margin_fraction,
            aggregate.confidence_days(),
            floor,
        )
        raw = bounds.target_edge
        text = (
            f"p{policy.cpu_percentile:g} CPU {format_cpu(raw)} over {_duration(_cpu_span(aggregate))}"
            f" × {1 + policy.margin_fraction:.2f} → {format_cpu(bounds.target)}; "
            f"{_compare(inputs.spec.cpu_request_millicores, bounds.target, format_cpu)}"
        )
        return _CpuProposal(bounds.target, bounds.lower, bounds.upper, text)

    def _memory(
        self, inputs: ContainerInputs, data: _Data, aggregate: vpa.VpaAggregate, policy: Policy, floor: int
    ) -> _MemoryProposal:
        bounds = vpa.estimate(
            aggregate.memory,
            _percentiles(policy, memory=True),
            policy.margin_fraction,
            aggregate.confidence_days(),
            floor,
        )
        raw = bounds.target_edge
        margin = 1 + policy.margin_fraction
        text = f"p{policy.memory_percentile:g} of daily memory peaks {format_memory(raw)} × {margin:.2f}"
        if data.ooms_in_window and (policy.oom_bump or aggregate.from_store):
            text += f" (VPA's OOM bump for {data.ooms_in_window} OOMKilled included)"
        target, lower, upper = bounds.target, bounds.lower, bounds.upper
        if policy.name != "vpa":  # balanced rounds memory up to whole MiB
            target, lower = _ceil_memory(target, floor), _ceil_memory(lower, floor)
            upper = None if upper is None else _ceil_memory(upper, floor)
        text += f" → {format_memory(target)}; {_compare(inputs.spec.memory_request_bytes, target, format_memory)}"
        return _MemoryProposal(target, lower, upper, text)


def _cpu_span(aggregate: vpa.VpaAggregate) -> float:
    if aggregate.first_cpu_seconds is None or aggregate.last_cpu_seconds is None:
        return 0.0
    return aggregate.last_cpu_seconds - aggregate.first_cpu_seconds


def strategy_for(policy: Policy) -> Strategy:
    if policy.name == "krr-simple":
        return KrrSimple()
    return VpaStyle(policy.name)
