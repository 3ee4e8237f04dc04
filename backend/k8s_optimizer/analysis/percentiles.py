"""Percentiles the way the anchor tools compute them, so our numbers match theirs.

KRR uses numpy's default (linear interpolation between closest ranks); the VPA recommender walks a
decaying, exponentially-bucketed histogram and returns the upper edge of the bucket that reaches the
requested weight. Both are here as small pure functions (no numpy: per-container work stays O(n log n)
on plain lists, fast enough for 10,000 containers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from k8s_optimizer.domain.history import DecayingHistogram
from k8s_optimizer.domain.usage import UsagePoint

# VPA: buckets grow 5 % each; CPU first bucket 0.01 core, memory 1e7 bytes (aggregations_config.go).
BUCKET_GROWTH = 0.05
CPU_FIRST_BUCKET_MILLICORES = 10.0
MEMORY_FIRST_BUCKET_BYTES = 1e7
# VPA: CPU sample weight is max(request in cores, 0.1) (minSampleWeight).
MIN_CPU_SAMPLE_WEIGHT = 0.1


def linear_percentile(values: Sequence[float], percentile: float) -> float:
    """numpy.percentile(values, percentile) with the default 'linear' method; values need not be sorted."""
    if not values:
        raise ValueError("percentile of an empty series")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * percentile / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def values_of(points: Iterable[UsagePoint]) -> list[float]:
    return [point.value for point in points]


def bucket_index(value: float, first_bucket_size: float, growth: float = BUCKET_GROWTH) -> int:
    """Index of the exponential bucket holding `value` (bucket i starts at first·((1+g)^i − 1)/g)."""
    if value < first_bucket_size:
        return 0
    return math.floor(math.log(value * growth / first_bucket_size + 1) / math.log(1 + growth))


def bucket_upper_edge(index: int, first_bucket_size: float, growth: float = BUCKET_GROWTH) -> float:
    return first_bucket_size * ((1 + growth) ** (index + 1) - 1) / growth


def histogram_percentile(histogram: DecayingHistogram, percentile: float) -> float | None:
    """VPA `Percentile(p)`: first bucket whose cumulative weight reaches p × total, its upper edge.

    Returns None for an empty histogram (the caller decides what "no data" means).
    """
    total = sum(histogram.weights)
    if total <= 0:
        return None
    threshold = percentile / 100 * total
    cumulative = 0.0
    for index, weight in enumerate(histogram.weights):
        cumulative += weight
        if cumulative >= threshold and weight > 0:
            return bucket_upper_edge(index, histogram.first_bucket_size, histogram.growth_ratio)
    last = max(index for index, weight in enumerate(histogram.weights) if weight > 0)
    return bucket_upper_edge(last, histogram.first_bucket_size, histogram.growth_ratio)


def weighted_bucket_percentile(
    samples: Sequence[tuple[float, float]], percentile: float, first_bucket_size: float
) -> float | None:
    """The same walk on (value, weight) samples without materialising the histogram."""
    buckets: dict[int, float] = {}
    for value, weight in samples:
        index = bucket_index(value, first_bucket_size)
        buckets[index] = buckets.get(index, 0.0) + weight
    total = sum(buckets.values())
    if total <= 0:
        return None
    threshold = percentile / 100 * total
    cumulative = 0.0
    for index in sorted(buckets):
        cumulative += buckets[index]
        if cumulative >= threshold:
            return bucket_upper_edge(index, first_bucket_size)
    return bucket_upper_edge(max(buckets), first_bucket_size)


def decay_weight(timestamp_seconds: float, reference_seconds: float, half_life_seconds: float) -> float:
    """VPA decaying weight 2^((t − ref)/halfLife), relative to the newest sample (so ≤ 1 for the past)."""
    return float(2 ** ((timestamp_seconds - reference_seconds) / half_life_seconds))


def interval_peaks(points: Sequence[UsagePoint], interval_seconds: float) -> list[UsagePoint]:
    """Maximum per aligned interval (VPA memory model: one peak per container per 24 h)."""
    peaks: dict[int, UsagePoint] = {}
    for point in points:
        slot = int(point.timestamp_seconds // interval_seconds)
        best = peaks.get(slot)
        if best is None or point.value > best.value:
            peaks[slot] = point
    return [peaks[slot] for slot in sorted(peaks)]


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def stddev(values: Sequence[float]) -> float:
    """Population standard deviation."""
    if len(values) < 2:
        return 0.0
    average = mean(values)
    return math.sqrt(sum((value - average) ** 2 for value in values) / len(values))
