"""The VPA recommender's estimation, integer for integer, from raw series or from the store's histograms.

`vpa` must give the numbers the VPA recommender gives (kubernetes/autoscaler
`pkg/recommender/logic/{estimator,recommender}.go`, `model/{container,aggregate_container_state,types}.go`),
whichever input the optimizer has. Both inputs end in the same `analysis.histogram.Histogram` objects,
walked by the same percentile code:

- from the history store: the per-pod `ContainerAggregate` histograms, merged (VPA aggregates a workload's
  containers of one name into one state);
- from raw series: every CPU sample weighs the constant 0.1 (VPA ≥ 1.4 never fills the sample's request,
  so `max(request, 0.1)` is always 0.1), decayed with a 24 h half-life from a reference on a whole day;
  memory is one peak per 24 h window counted from each container's first sample, added at the window's
  end; an OOM kill is replayed through `ContainerAggregate.record_oom`, so the bumped peak goes into the
  histogram exactly as the recommender puts it there.

The estimators then work in VPA's integer `ResourceAmount` (millicores, bytes): the percentile truncated,
plus the truncated margin, times the confidence multiplier truncated (Go's `math.Pow`, which multiplies
by repeated squaring), and the per-pod minimum split evenly across containers, truncated.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from k8s_optimizer.analysis.histogram import (
    CPU_MILLICORES_BUCKETS,
    HALF_LIFE_SECONDS,
    MEMORY_AGGREGATION_INTERVAL_SECONDS,
    MEMORY_BYTES_BUCKETS,
    MIN_CPU_SAMPLE_WEIGHT_CORES,
    BucketScheme,
    ContainerAggregate,
    Histogram,
    go_pow,
)
from k8s_optimizer.domain.history import ContainerHistory, DecayingHistogram
from k8s_optimizer.domain.usage import UsagePoint

MAX_RESOURCE_AMOUNT = 10**14  # model.MaxResourceAmount
DAY_SECONDS = 86400.0
SAMPLES_PER_CONFIDENCE_DAY = 60 * 24  # getConfidence: one sample a minute for a day = 1
# recommender.go flags: pod-recommendation-min-cpu-millicores, pod-recommendation-min-memory-mb
POD_MIN_CPU_MILLICORES = 25.0
POD_MIN_MEMORY_MB = 250.0
_TIMESTAMP = operator.attrgetter("timestamp_seconds")
_VALUE = operator.attrgetter("value")
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)
_FEW_BUCKETS = 8


def resource_amount(value: float) -> int:
    """resourceAmountFromFloat: negative → 0, above MaxResourceAmount → the max, else truncated."""
    if not value > 0:  # also NaN
        return 0
    if value > MAX_RESOURCE_AMOUNT:
        return MAX_RESOURCE_AMOUNT
    return int(value)


def scale(amount: int, factor: float) -> int:
    """ScaleResource: float64(amount) × factor, truncated."""
    return resource_amount(float(amount) * factor)


@dataclass(frozen=True, slots=True)
class Bounds:
    """One resource's recommendation: target, lowerBound, upperBound (None: no history, VPA's +Inf)."""

    target: int
    lower: int
    upper: int | None
    target_edge: float = 0.0  # the target percentile's bucket edge, before VPA's integer steps


@dataclass(frozen=True, slots=True)
class Percentiles:
    target: float = 0.9
    lower: float = 0.5
    upper: float = 0.95


@dataclass(slots=True)
class VpaAggregate:
    """An AggregateContainerState: the CPU and memory-peak histograms and the CPU samples' span and count."""

    cpu: Histogram
    memory: Histogram
    first_cpu_seconds: float | None
    last_cpu_seconds: float | None
    cpu_samples: int
    from_store: bool

    def confidence_days(self) -> float:
        """getConfidence: min(lifespan in days, samples / 1440), on CPU samples only."""
        if self.first_cpu_seconds is None or self.last_cpu_seconds is None:
            return 0.0
        lifespan = (self.last_cpu_seconds - self.first_cpu_seconds) / DAY_SECONDS
        return min(lifespan, self.cpu_samples / SAMPLES_PER_CONFIDENCE_DAY)


def estimate(
    histogram: Histogram, percentiles: Percentiles, margin_fraction: float, confidence_days: float, minimum: int
) -> Bounds:
    """Percentile → margin → confidence multiplier → minimum, each step truncated as the Go estimators do."""

    edge = histogram.percentile(percentiles.target)

    def margined(fraction: float) -> int:
        value = edge if fraction == percentiles.target else histogram.percentile(fraction)
        return with_margin(resource_amount(value), margin_fraction)

    target = max(margined(percentiles.target), minimum)
    if confidence_days <= 0:  # no history: lower × 0, upper × +Inf (MaxResourceAmount: no bound)
        return Bounds(target, minimum, None, edge)
    lower = with_confidence(margined(percentiles.lower), 0.001, -2, confidence_days)
    upper = with_confidence(margined(percentiles.upper), 1.0, 1, confidence_days)
    return Bounds(target, max(lower, minimum), max(upper, minimum), edge)


def with_confidence(amount: int, multiplier: float, exponent: int, confidence_days: float) -> int:
    """confidenceMultiplier: amount × (1 + multiplier/confidence)^exponent, truncated; +Inf/0 without history."""
    if confidence_days <= 0:
        return MAX_RESOURCE_AMOUNT if exponent > 0 else 0
    return scale(amount, go_pow(1.0 + multiplier / confidence_days, exponent))


def with_margin(amount: int, fraction: float) -> int:
    """marginEstimator: amount + trunc(amount × fraction)."""
    return amount + scale(amount, fraction)


def pod_minimums(containers_in_pod: int) -> tuple[int, int]:
    """(CPU millicores, memory bytes): the per-pod minimums spread evenly across the pod's containers, truncated."""
    fraction = 1.0 / max(containers_in_pod, 1)
    cpu = scale(resource_amount(POD_MIN_CPU_MILLICORES * 0.001 * 1000.0), fraction)
    memory = scale(resource_amount(POD_MIN_MEMORY_MB * 1024 * 1024), fraction)
    return cpu, memory


# -- from the store's histograms ---------------------------------------------------------------------------------
def from_store(histories: Sequence[ContainerHistory]) -> VpaAggregate | None:
    """Merge the pods' histograms; None unless every pod with data has its CPU and memory histograms."""
    with_data = [h for h in histories if h.cpu_millicores or h.memory_bytes or h.cpu_histogram is not None]
    cpu_parts = [h.cpu_histogram for h in with_data if h.cpu_histogram is not None and h.cpu_histogram.total_samples]
    memory_parts = [h.memory_histogram for h in with_data if h.memory_histogram is not None]
    if not cpu_parts or len(cpu_parts) < len(with_data) or len(memory_parts) < len(cpu_parts):
        return None
    cpu = _merged(cpu_parts)
    memory = _merged(memory_parts)
    firsts = [p.first_sample_seconds for p in cpu_parts if p.first_sample_seconds is not None]
    lasts = [p.last_sample_seconds for p in cpu_parts if p.last_sample_seconds is not None]
    samples = sum(p.total_samples for p in cpu_parts)
    return VpaAggregate(cpu, memory, min(firsts, default=None), max(lasts, default=None), samples, True)


def _merged(parts: Sequence[DecayingHistogram]) -> Histogram:
    merged: Histogram | None = None
    for part in parts:
        histogram = Histogram.from_domain(part)
        if merged is None:
            merged = histogram
        else:
            merged.merge(histogram)
    assert merged is not None
    return merged


# -- from raw series ----------------------------------------------------------------------------------------------
def _reference(first_seconds: float, half_life_seconds: float) -> float:
    """shiftReferenceTimestamp on the first sample: the nearest whole half-life (time.Round)."""
    return math.floor(first_seconds / half_life_seconds + 0.5) * half_life_seconds


def cpu_histogram_from_series(series: Sequence[Sequence[UsagePoint]], half_life_seconds: float) -> Histogram:
    """The CPU histogram VPA builds from these samples: constant weight 0.1, decayed from a whole-day reference.

    The per-sample work runs in C (a hot path: every sample of every container); the bucket of each sample
    and its weight are the same float operations `Histogram.add` performs.
    """
    histogram = Histogram(CPU_MILLICORES_BUCKETS, half_life_seconds)
    points = list(itertools.chain.from_iterable(series))
    if not points:
        return histogram
    first = min(s[0].timestamp_seconds for s in series if s)  # each series is time-ordered
    reference = _reference(first, half_life_seconds)
    ages = map(operator.sub, map(_TIMESTAMP, points), itertools.repeat(reference))
    decay = map(math.exp2, map(operator.truediv, ages, itertools.repeat(half_life_seconds)))
    weights = list(map(operator.mul, itertools.repeat(MIN_CPU_SAMPLE_WEIGHT_CORES), decay))
    # VPA reads usage as Quantity.MilliValue(): whole millicores, rounded up
    millicores = list(map(math.ceil, map(_VALUE, points)))
    histogram.weights = _bucket_sums(_buckets(CPU_MILLICORES_BUCKETS, millicores), weights)
    histogram.reference_seconds = reference
    histogram.total_weight = math.fsum(histogram.weights)
    histogram.total_samples = len(points)
    histogram.first_sample_seconds = first
    histogram.last_sample_seconds = max(s[-1].timestamp_seconds for s in series if s)
    return histogram


def _buckets(scheme: BucketScheme, values: list[int]) -> list[int]:
    """`scheme.bucket_of` for many values: computed once per distinct value (usage repeats), mapped in C."""
    index_of = {value: _bucket_of(scheme, value) for value in set(values)}
    return list(map(index_of.__getitem__, values))


@functools.lru_cache(maxsize=1 << 16)
def _bucket_of(scheme: BucketScheme, value: int) -> int:
    """Containers share usage values (whole millicores): each is bucketed once per process."""
    return scheme.bucket_of(value)


def _bucket_sums(indices: list[int], weights: list[float]) -> list[float]:
    """Dense per-bucket weight sums (exactly rounded); usage spans a few buckets, so a masked sum per bucket."""
    distinct = set(indices)
    dense = [0.0] * (max(distinct) + 1)
    if len(distinct) <= _FEW_BUCKETS:
        for index in distinct:
            dense[index] = math.fsum(itertools.compress(weights, map(operator.eq, indices, itertools.repeat(index))))
        return dense
    pairs = sorted(zip(indices, weights, strict=True), key=_FIRST)
    for index, group in itertools.groupby(pairs, key=_FIRST):
        dense[index] = math.fsum(map(_SECOND, group))
    return dense


def _window_peaks(points: Sequence[UsagePoint], interval_seconds: float) -> list[tuple[float, float]]:
    """(window end, peak): one peak per interval counted from the container's first sample.

    As addMemorySample keeps it: the window's first sample opens it, a larger one replaces the peak — unless the
    first was 0 (a zero peak is never replaced). Windows are located by bisection, the maxima run in C.
    """
    start = points[0].timestamp_seconds
    if points[-1].timestamp_seconds - start < interval_seconds:  # the common case: one window
        first = math.ceil(points[0].value)
        return [(start + interval_seconds, float(first if first == 0 else math.ceil(max(map(_VALUE, points)))))]
    stamps = list(map(_TIMESTAMP, points))
    values = [float(math.ceil(value)) for value in map(_VALUE, points)]  # Quantity.Value(): whole bytes
    peaks: list[tuple[float, float]] = []
    low = 0
    while low < len(points):
        window = int((stamps[low] - start) // interval_seconds)
        end = start + (window + 1) * interval_seconds
        high = bisect.bisect_left(stamps, end, low)
        peak = values[low] if values[low] == 0 else max(values[low:high])
        peaks.append((end, peak))
        low = high
    return peaks


def _replay_with_ooms(
    points: Sequence[UsagePoint], ooms: Sequence[float], request_bytes: int | None, half_life_seconds: float
) -> Histogram:
    """A container whose OOM kills must land in the histogram: replay samples and kills in time order."""
    aggregate = ContainerAggregate(half_life_seconds)
    pending = sorted(ooms)
    for point in points:
        while pending and pending[0] <= point.timestamp_seconds:
            aggregate.record_oom(pending.pop(0), request_bytes)
        aggregate.add_memory(point.timestamp_seconds, point.value)
    for moment in pending:
        aggregate.record_oom(moment, request_bytes)
    return aggregate.memory


def memory_histogram_from_series(
    histories: Sequence[ContainerHistory],
    *,
    request_bytes: int | None,
    oom_bump: bool,
    half_life_seconds: float,
    interval_seconds: float = MEMORY_AGGREGATION_INTERVAL_SECONDS,
) -> Histogram:
    """Every container's 24 h peaks (and, with `oom_bump`, its bumped OOM peaks) in one memory histogram."""
    merged = Histogram(MEMORY_BYTES_BUCKETS, half_life_seconds)  # one aggregate, as VPA keeps it
    for history in histories:
        points = history.memory_bytes
        if oom_bump and history.oom_kill_times_seconds:
            merged.merge(_replay_with_ooms(points, history.oom_kill_times_seconds, request_bytes, half_life_seconds))
            continue
        if not points:
            continue
        for window_end, peak in _window_peaks(points, interval_seconds):
            merged.add(peak, 1.0, window_end)
    return merged


def from_series(
    histories: Sequence[ContainerHistory],
    *,
    memory_request_bytes: int | None,
    oom_bump: bool,
    half_life_seconds: float = HALF_LIFE_SECONDS,
) -> VpaAggregate:
    cpu_series = [h.cpu_millicores for h in histories if h.cpu_millicores]
    cpu = cpu_histogram_from_series(cpu_series, half_life_seconds)
    memory = memory_histogram_from_series(
        histories, request_bytes=memory_request_bytes, oom_bump=oom_bump, half_life_seconds=half_life_seconds
    )
    return VpaAggregate(
        cpu, memory, cpu.first_sample_seconds, cpu.last_sample_seconds, cpu.total_samples, from_store=False
    )
