"""VPA's decaying histograms, exactly, so our right-sizing numbers are the ones the VPA recommender would give.

The VPA recommender does not keep usage series: it folds every sample into an exponentially bucketed
histogram whose weights grow with time (2^((t - ref) / half_life)), so recent usage counts more and
old usage fades with a 24 h half-life. Every CPU sample weighs 0.1 (VPA ≥ 1.4: the request-based weight
the code describes is never filled in, kubernetes/autoscaler#7818); memory enters as one peak per
container per 24 h interval (a growing peak replaces the interval's previous one) and OOM kills add
an artificial, bumped-up peak. This module is that model (kubernetes/autoscaler
`pkg/recommender/util/{histogram,decaying_histogram,histogram_options}.go` and
`pkg/recommender/model/{container,aggregations_config}.go`), pure: the history store feeds it and
checkpoints it; the recommenders read percentiles from it.

Units: CPU histograms hold millicores (first bucket 10 m = VPA's 0.01 core), memory histograms bytes.
Timestamps are seconds since the epoch, taken from the samples themselves (never the local clock).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from k8s_optimizer.domain.history import DecayingHistogram

# Each bucket is 5 % wider than the previous one (DefaultHistogramBucketSizeGrowth).
BUCKET_GROWTH_RATIO = 0.05
# Samples lose half their weight per 24 h, CPU and memory alike (Default*HistogramDecayHalfLife).
HALF_LIFE_SECONDS = 24 * 3600.0
# A CPU sample weighs minSampleWeight (0.1): the request VPA would weigh it by is never set (since 1.4).
MIN_CPU_SAMPLE_WEIGHT_CORES = 0.1
# Buckets lighter than this count as empty; small enough that an 8-day-old minimum-weight sample stays.
EPSILON = 0.001 * MIN_CPU_SAMPLE_WEIGHT_CORES
# Weights are renormalised (the reference time moved forward) before 2^exponent could overflow.
MAX_DECAY_EXPONENT = 100
# Memory: one peak per 24 h interval, kept for 8 intervals (memory-aggregation-interval[-count]).
MEMORY_AGGREGATION_INTERVAL_SECONDS = 24 * 3600.0
MEMORY_AGGREGATION_INTERVAL_COUNT = 8
MEMORY_AGGREGATION_WINDOW_SECONDS = MEMORY_AGGREGATION_INTERVAL_SECONDS * MEMORY_AGGREGATION_INTERVAL_COUNT
# After an OOM kill: max(used + 100 MiB, used × 1.2) (--oom-bump-up-ratio, --oom-min-bump-up-bytes).
OOM_BUMP_UP_RATIO = 1.2
OOM_MIN_BUMP_UP_BYTES = 100 * 1024 * 1024


def go_pow(x: float, exponent: int) -> float:
    """Go's math.Pow for an integer exponent: Pow(x, 1) = x, else repeated squaring of the mantissa (1/ans if < 0).

    VPA's bucket edges and confidence multipliers come from it; C's pow can differ in the last bit.
    """
    if exponent == 1:
        return x
    if exponent == 0:
        return 1.0
    mantissa, power = math.frexp(x)
    result, result_power = 1.0, 0
    remaining = abs(exponent)
    while remaining:
        if remaining & 1:
            result *= mantissa
            result_power += power
        mantissa *= mantissa
        power <<= 1
        if mantissa < 0.5:
            mantissa += mantissa
            power -= 1
        remaining >>= 1
    if exponent < 0:
        result, result_power = 1 / result, -result_power
    return math.ldexp(result, result_power)


@dataclass(frozen=True, slots=True)
class BucketScheme:
    """Exponential buckets: bucket 0 is [0, first); bucket n starts at first·(ratio^n − 1)/(ratio − 1).

    `go_unit` is how many of our units make VPA's (1000 millicores per core): bucket indices and edges are
    computed in VPA's unit with the float operations of histogram_options.go, so they match it bit for bit.
    """

    first_bucket_size: float
    growth_ratio: float
    max_value: float
    go_unit: float = 1.0
    num_buckets: int = field(init=False)

    def __post_init__(self) -> None:
        if self.first_bucket_size <= 0 or self.growth_ratio <= 0 or self.max_value <= 0:
            raise ValueError("first_bucket_size, growth_ratio and max_value must be positive")
        ratio = 1 + self.growth_ratio
        first, top = self.first_bucket_size / self.go_unit, self.max_value / self.go_unit
        count = math.ceil(math.log(top * (ratio - 1) / first + 1) / math.log(ratio)) + 1
        object.__setattr__(self, "num_buckets", count)

    def bucket_of(self, value: float) -> int:
        if value < self.first_bucket_size:
            return 0
        ratio = 1 + self.growth_ratio
        first = self.first_bucket_size / self.go_unit
        bucket = int(math.log(value / self.go_unit * (ratio - 1) / first + 1) / math.log(ratio))
        return min(bucket, self.num_buckets - 1)

    def bucket_start(self, bucket: int) -> float:
        return _bucket_start(self.first_bucket_size, self.growth_ratio, self.go_unit, bucket)


@functools.cache
def _bucket_start(first_bucket_size: float, growth_ratio: float, go_unit: float, bucket: int) -> float:
    """GetBucketStart in VPA's unit, back in ours (cached: every percentile read asks for one)."""
    if bucket == 0:
        return 0.0
    ratio = 1 + growth_ratio
    first = first_bucket_size / go_unit
    return first * (go_pow(ratio, bucket) - 1) / (ratio - 1) * go_unit


# VPA's CPU scheme in millicores (released versions: 0.01 core first bucket, 1000 cores max).
CPU_MILLICORES_BUCKETS = BucketScheme(
    first_bucket_size=10.0, growth_ratio=BUCKET_GROWTH_RATIO, max_value=1e6, go_unit=1000.0
)
# VPA's memory scheme in bytes (10 MB first bucket, 1 TB max).
MEMORY_BYTES_BUCKETS = BucketScheme(first_bucket_size=1e7, growth_ratio=BUCKET_GROWTH_RATIO, max_value=1e12)
_KNOWN_SCHEMES = {(s.first_bucket_size, s.growth_ratio): s for s in (CPU_MILLICORES_BUCKETS, MEMORY_BYTES_BUCKETS)}


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


class Histogram:
    """A mutable decaying histogram: add/subtract weighted samples at times, read percentiles, merge.

    Weights are stored relative to `reference_seconds`; only relative weights matter, so the reference
    can move (multiplying every weight by a power of two) without changing any percentile.
    """

    __slots__ = (
        "first_sample_seconds",
        "half_life_seconds",
        "last_sample_seconds",
        "reference_seconds",
        "scheme",
        "total_samples",
        "total_weight",
        "weights",
    )

    def __init__(
        self, scheme: BucketScheme, half_life_seconds: float = HALF_LIFE_SECONDS, reference_seconds: float = 0.0
    ) -> None:
        self.scheme = scheme
        self.half_life_seconds = half_life_seconds
        self.reference_seconds = reference_seconds
        self.weights: list[float] = []  # index = bucket; grows on demand (trailing buckets are empty)
        self.total_weight = 0.0
        self.total_samples = 0
        self.first_sample_seconds: float | None = None
        self.last_sample_seconds: float | None = None

    # ------------------------------------------------------------------ samples
    def add(self, value: float, weight: float, timestamp_seconds: float) -> None:
        if weight < 0:
            raise ValueError("sample weight must be non-negative")
        decayed = weight * self._decay_factor(timestamp_seconds)
        bucket = self.scheme.bucket_of(value)
        if bucket >= len(self.weights):
            self.weights.extend([0.0] * (bucket + 1 - len(self.weights)))
        self.weights[bucket] += decayed
        self.total_weight += decayed
        self.total_samples += 1
        if self.first_sample_seconds is None or timestamp_seconds < self.first_sample_seconds:
            self.first_sample_seconds = timestamp_seconds
        if self.last_sample_seconds is None or timestamp_seconds > self.last_sample_seconds:
            self.last_sample_seconds = timestamp_seconds

    def subtract(self, value: float, weight: float, timestamp_seconds: float) -> None:
        """Remove a sample added before (VPA replaces a memory peak this way); never goes negative."""
        if weight < 0:
            raise ValueError("sample weight must be non-negative")
        decayed = weight * self._decay_factor(timestamp_seconds)
        bucket = self.scheme.bucket_of(value)
        current = self.weights[bucket] if bucket < len(self.weights) else 0.0
        if decayed > current - EPSILON:
            decayed = current
        if bucket < len(self.weights):
            self.weights[bucket] -= decayed
        self.total_weight -= decayed

    def _decay_factor(self, timestamp_seconds: float) -> float:
        limit = self.reference_seconds + self.half_life_seconds * MAX_DECAY_EXPONENT
        if timestamp_seconds > limit:
            self.shift_reference(timestamp_seconds)
        return math.exp2((timestamp_seconds - self.reference_seconds) / self.half_life_seconds)  # Go's math.Exp2

    def shift_reference(self, new_reference_seconds: float) -> None:
        """Move the reference to the multiple of the half-life nearest the given time, rescaling weights."""
        half_life = self.half_life_seconds
        new_reference = _round_half_up(new_reference_seconds / half_life) * half_life
        exponent = _round_half_up((self.reference_seconds - new_reference) / half_life)
        if self.weights:  # a new histogram's first sample only sets the reference
            factor = math.ldexp(1.0, exponent)
            self.weights = [weight * factor for weight in self.weights]
            self.total_weight *= factor
        self.reference_seconds = new_reference

    # ------------------------------------------------------------------ reads
    def _non_empty_range(self) -> tuple[int, int] | None:
        heavy = [index for index, weight in enumerate(self.weights) if weight >= EPSILON]
        if not heavy:
            return None
        return heavy[0], heavy[-1]

    def is_empty(self) -> bool:
        return self._non_empty_range() is None

    def percentile(self, fraction: float) -> float:
        """VPA `Percentile(p)`, p in [0, 1]: the end of the first bucket reaching p × total weight; 0 if empty."""
        span = self._non_empty_range()
        if span is None:
            return 0.0
        min_bucket, max_bucket = span
        threshold = fraction * self.total_weight
        partial = 0.0
        bucket = min_bucket
        while bucket < max_bucket:
            partial += self.weights[bucket]
            if partial >= threshold:
                break
            bucket += 1
        if bucket < self.scheme.num_buckets - 1:
            return self.scheme.bucket_start(bucket + 1)
        return self.scheme.bucket_start(bucket)  # the last bucket has no upper edge

    def merge(self, other: Histogram) -> None:
        """Add all of `other`'s weight (VPA aggregates a workload's containers this way); `other` is unchanged."""
        if other.scheme != self.scheme or other.half_life_seconds != self.half_life_seconds:
            raise ValueError("can only merge histograms with the same buckets and half-life")
        source = other
        if other.reference_seconds < self.reference_seconds:
            source = other.copy()
            source.shift_reference(self.reference_seconds)
        elif self.reference_seconds < other.reference_seconds:
            self.shift_reference(other.reference_seconds)
        if len(source.weights) > len(self.weights):
            self.weights.extend([0.0] * (len(source.weights) - len(self.weights)))
        for index, weight in enumerate(source.weights):
            self.weights[index] += weight
        self.total_weight += source.total_weight
        self.total_samples += source.total_samples
        self.first_sample_seconds = _min_optional(self.first_sample_seconds, source.first_sample_seconds)
        self.last_sample_seconds = _max_optional(self.last_sample_seconds, source.last_sample_seconds)

    def copy(self) -> Histogram:
        clone = Histogram(self.scheme, self.half_life_seconds, self.reference_seconds)
        clone.weights = list(self.weights)
        clone.total_weight = self.total_weight
        clone.total_samples = self.total_samples
        clone.first_sample_seconds = self.first_sample_seconds
        clone.last_sample_seconds = self.last_sample_seconds
        return clone

    # ------------------------------------------------------------------ plain data
    def to_domain(self) -> DecayingHistogram:
        weights = self.weights
        end = len(weights)
        while end and weights[end - 1] == 0.0:
            end -= 1
        return DecayingHistogram(
            first_bucket_size=self.scheme.first_bucket_size,
            growth_ratio=self.scheme.growth_ratio,
            half_life_seconds=self.half_life_seconds,
            reference_timestamp_seconds=self.reference_seconds,
            weights=tuple(weights[:end]),
            total_samples=self.total_samples,
            first_sample_seconds=self.first_sample_seconds,
            last_sample_seconds=self.last_sample_seconds,
            max_value=self.scheme.max_value,
        )

    @classmethod
    def from_domain(cls, data: DecayingHistogram) -> Histogram:
        known = _KNOWN_SCHEMES.get((data.first_bucket_size, data.growth_ratio))
        if known is not None and (data.max_value is None or data.max_value == known.max_value):
            scheme = known
        else:
            max_value = data.max_value if data.max_value is not None else data.first_bucket_size * 1e5
            go_unit = known.go_unit if known is not None else 1.0
            scheme = BucketScheme(data.first_bucket_size, data.growth_ratio, max_value, go_unit)
        histogram = cls(scheme, data.half_life_seconds, data.reference_timestamp_seconds)
        histogram.weights = list(data.weights[: scheme.num_buckets])
        histogram.total_weight = math.fsum(histogram.weights)
        histogram.total_samples = data.total_samples
        histogram.first_sample_seconds = data.first_sample_seconds
        histogram.last_sample_seconds = data.last_sample_seconds
        return histogram


def _min_optional(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _max_optional(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def percentile(histogram: DecayingHistogram, fraction: float) -> float:
    """VPA percentile (fraction in [0, 1]) of a plain-data histogram; 0.0 when it is empty."""
    return Histogram.from_domain(histogram).percentile(fraction)


def merge_all(histograms: list[DecayingHistogram]) -> DecayingHistogram | None:
    """One histogram holding every input's weight (a workload's pods → one VPA aggregate)."""
    if not histograms:
        return None
    merged = Histogram.from_domain(histograms[0])
    for other in histograms[1:]:
        merged.merge(Histogram.from_domain(other))
    return merged.to_domain()


def decay_to(histogram: DecayingHistogram, reference_seconds: float) -> DecayingHistogram:
    """The same histogram expressed relative to a new reference (weights scaled by a power of two)."""
    mutable = Histogram.from_domain(histogram)
    mutable.shift_reference(reference_seconds)
    return mutable.to_domain()


def cpu_sample_weight(cpu_request_millicores: int | None) -> float:
    """The weight VPA gives a CPU sample: the constant 0.1.

    aggregate_container_state.go still reads max(request, 0.1), but since VPA 1.4 the samples it aggregates
    never carry their request (kubernetes/autoscaler#7818), so every sample weighs the 0.1 minimum. The
    request is accepted so callers keep recording it; it does not change the weight.
    """
    del cpu_request_millicores
    return MIN_CPU_SAMPLE_WEIGHT_CORES


class ContainerAggregate:
    """One container's VPA state: CPU histogram, memory-peaks histogram and the current peak interval.

    Mirrors VPA's ContainerState + AggregateContainerState for a single container: duplicate and
    out-of-order CPU samples are discarded, memory keeps one (growing) peak per 24 h interval, and an
    OOM kill adds max(used + 100 MiB, used × 1.2) as a peak. Replaying the same samples is harmless.
    """

    __slots__ = (
        "cpu",
        "last_cpu_sample_seconds",
        "last_memory_sample_seconds",
        "last_oom_seconds",
        "memory",
        "memory_peak_bytes",
        "memory_window_end_seconds",
        "oom_peak_bytes",
    )

    def __init__(self, half_life_seconds: float = HALF_LIFE_SECONDS) -> None:
        self.cpu = Histogram(CPU_MILLICORES_BUCKETS, half_life_seconds)
        self.memory = Histogram(MEMORY_BYTES_BUCKETS, half_life_seconds)
        self.last_cpu_sample_seconds: float | None = None
        self.last_memory_sample_seconds: float | None = None
        self.memory_window_end_seconds: float | None = None
        self.memory_peak_bytes = 0.0
        self.oom_peak_bytes = 0.0
        self.last_oom_seconds: float | None = None

    def add_cpu(self, timestamp_seconds: float, cpu_millicores: float, cpu_request_millicores: int | None) -> bool:
        last = self.last_cpu_sample_seconds
        if cpu_millicores < 0 or (last is not None and timestamp_seconds <= last):
            return False  # invalid, duplicate or out of order
        # VPA reads usage as Quantity.MilliValue(): whole millicores, rounded up
        self.cpu.add(float(math.ceil(cpu_millicores)), cpu_sample_weight(cpu_request_millicores), timestamp_seconds)
        self.last_cpu_sample_seconds = timestamp_seconds
        return True

    def add_memory(self, timestamp_seconds: float, memory_bytes: float, *, is_oom: bool = False) -> bool:
        last = self.last_memory_sample_seconds
        if memory_bytes < 0 or (not is_oom and last is not None and timestamp_seconds < last):
            return False
        memory_bytes = float(math.ceil(memory_bytes))  # Quantity.Value(): whole bytes, rounded up
        self.last_memory_sample_seconds = timestamp_seconds
        window_end = self.memory_window_end_seconds
        if window_end is None:
            window_end = timestamp_seconds
        add_new_peak = False
        if timestamp_seconds < window_end:
            old_peak = max(self.memory_peak_bytes, self.oom_peak_bytes)
            if old_peak != 0 and memory_bytes > old_peak:
                self.memory.subtract(old_peak, 1.0, window_end)
                add_new_peak = True
        else:
            interval = MEMORY_AGGREGATION_INTERVAL_SECONDS
            window_end += (timestamp_seconds - window_end) // interval * interval + interval
            self.memory_peak_bytes = 0.0
            self.oom_peak_bytes = 0.0
            add_new_peak = True
        self.memory_window_end_seconds = window_end
        if add_new_peak:
            self.memory.add(memory_bytes, 1.0, window_end)
            if is_oom:
                self.oom_peak_bytes = memory_bytes
            else:
                self.memory_peak_bytes = memory_bytes
        return True

    def record_oom(self, timestamp_seconds: float, memory_request_bytes: int | None) -> bool:
        """An OOM kill at `timestamp_seconds`: add the bumped-up peak; older than one interval is ignored."""
        window_end = self.memory_window_end_seconds
        if window_end is not None and timestamp_seconds < window_end - MEMORY_AGGREGATION_INTERVAL_SECONDS:
            return False
        used = max(float(memory_request_bytes or 0), self.memory_peak_bytes)
        # ResourceAmountMax(used + minBump, ScaleResource(used, ratio)): whole bytes, the ratio truncated
        needed = float(max(int(used) + OOM_MIN_BUMP_UP_BYTES, int(used * OOM_BUMP_UP_RATIO)))
        added = self.add_memory(timestamp_seconds, needed, is_oom=True)
        if added:
            self.last_oom_seconds = _max_optional(self.last_oom_seconds, timestamp_seconds)
        return added

    def last_sample_seconds(self) -> float | None:
        return _max_optional(self.last_cpu_sample_seconds, self.last_memory_sample_seconds)

    # ------------------------------------------------------------------ checkpoints
    def to_checkpoint(self) -> dict[str, Any]:
        """A JSON-ready snapshot that `from_checkpoint` restores exactly (no precision lost)."""
        return {
            "cpu": _histogram_state(self.cpu),
            "memory": _histogram_state(self.memory),
            "last_cpu": self.last_cpu_sample_seconds,
            "last_memory": self.last_memory_sample_seconds,
            "window_end": self.memory_window_end_seconds,
            "memory_peak": self.memory_peak_bytes,
            "oom_peak": self.oom_peak_bytes,
            "last_oom": self.last_oom_seconds,
        }

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> ContainerAggregate:
        aggregate = cls()
        _restore_histogram(aggregate.cpu, state["cpu"])
        _restore_histogram(aggregate.memory, state["memory"])
        aggregate.last_cpu_sample_seconds = state["last_cpu"]
        aggregate.last_memory_sample_seconds = state["last_memory"]
        aggregate.memory_window_end_seconds = state["window_end"]
        aggregate.memory_peak_bytes = float(state["memory_peak"])
        aggregate.oom_peak_bytes = float(state["oom_peak"])
        aggregate.last_oom_seconds = state["last_oom"]
        return aggregate


def _histogram_state(histogram: Histogram) -> dict[str, Any]:
    return {
        "ref": histogram.reference_seconds,
        "w": histogram.weights,
        "total": histogram.total_weight,
        "n": histogram.total_samples,
        "first": histogram.first_sample_seconds,
        "last": histogram.last_sample_seconds,
    }


def _restore_histogram(histogram: Histogram, state: dict[str, Any]) -> None:
    histogram.reference_seconds = float(state["ref"])
    histogram.weights = [float(weight) for weight in state["w"]]
    histogram.total_weight = float(state["total"])
    histogram.total_samples = int(state["n"])
    histogram.first_sample_seconds = state["first"]
    histogram.last_sample_seconds = state["last"]
