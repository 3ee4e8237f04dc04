"""Percentiles the way the anchor tools compute them, so our numbers match theirs.

KRR uses numpy's default (linear interpolation between closest ranks); the VPA recommender walks a
decaying, exponentially-bucketed histogram and returns the upper edge of the bucket that reaches the
requested weight. Both are here as small pure functions (no numpy: per-container work stays O(n log n)
on plain lists, fast enough for 10,000 containers).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterable, Sequence

from k8s_optimizer.domain.history import DecayingHistogram
from k8s_optimizer.domain.usage import UsagePoint

# VPA: buckets grow 5 % each; CPU first bucket 0.01 core, memory 1e7 bytes (aggregations_config.go).
BUCKET_GROWTH = 0.05
CPU_FIRST_BUCKET_MILLICORES = 10.0
MEMORY_FIRST_BUCKET_BYTES = 1e7
# VPA: CPU sample weight is max(request in cores, 0.1) (minSampleWeight).
MIN_CPU_SAMPLE_WEIGHT = 0.1
_VALUE = operator.attrgetter("value")
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)
_FEW_BUCKETS = 8


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
    return list(map(_VALUE, points))


def bucket_index(value: float, first_bucket_size: float, growth: float = BUCKET_GROWTH) -> int:
    """Index of the exponential bucket holding `value` (bucket i starts at first·((1+g)^i − 1)/g)."""
    if value < first_bucket_size:
        return 0
    return math.floor(math.log(value * (growth / first_bucket_size) + 1) / math.log(1 + growth))


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


def bucket_weights(values: Sequence[float], weights: Sequence[float], first_bucket_size: float) -> dict[int, float]:
    """Sum weighted samples into exponential buckets: the histogram, sparse.

    A hot path (every sample of every container), so the per-sample work runs in C: the bucket index is
    VPA's floor(log(v·g/first + 1) / log(1 + g)) (the same float operations as `bucket_index`; values
    below the first edge give 0) computed with chained maps, then weights are summed per bucket after a sort.
    """
    scale = BUCKET_GROWTH / first_bucket_size
    log_growth = math.log(1 + BUCKET_GROWTH)
    shifted = map(operator.add, map(operator.mul, values, itertools.repeat(scale)), itertools.repeat(1.0))
    indices = list(map(math.floor, map(operator.truediv, map(math.log, shifted), itertools.repeat(log_growth))))
    distinct = set(indices)
    if len(distinct) <= _FEW_BUCKETS:  # usage usually spans a few buckets: one masked C-level sum each
        return {
            index: math.fsum(itertools.compress(weights, map(operator.eq, indices, itertools.repeat(index))))
            for index in distinct
        }
    pairs = sorted(zip(indices, weights, strict=True), key=_FIRST)
    return {index: math.fsum(map(_SECOND, group)) for index, group in itertools.groupby(pairs, key=_FIRST)}


def buckets_percentile(buckets: dict[int, float], percentile: float, first_bucket_size: float) -> float | None:
    """VPA's walk on a sparse histogram: the upper edge of the first bucket reaching p × total weight."""
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


def weighted_bucket_percentile(
    samples: Sequence[tuple[float, float]], percentile: float, first_bucket_size: float
) -> float | None:
    """The same walk on (value, weight) samples without materialising the histogram."""
    values = [value for value, _ in samples]
    weights = [weight for _, weight in samples]
    return buckets_percentile(bucket_weights(values, weights, first_bucket_size), percentile, first_bucket_size)


def decay_weight(timestamp_seconds: float, reference_seconds: float, half_life_seconds: float) -> float:
    """VPA decaying weight 2^((t − ref)/halfLife), relative to the newest sample (so ≤ 1 for the past)."""
    return float(2 ** ((timestamp_seconds - reference_seconds) / half_life_seconds))


def interval_peaks(points: Sequence[UsagePoint], interval_seconds: float) -> list[UsagePoint]:
    """Maximum per aligned interval (VPA memory model: one peak per container per 24 h); points time-ordered."""
    if not points:
        return []
    if points[0].timestamp_seconds // interval_seconds == points[-1].timestamp_seconds // interval_seconds:
        return [max(points, key=_VALUE)]  # the common case (< one interval of data): one C-level pass
    return [
        max(group, key=_VALUE)
        for _, group in itertools.groupby(points, key=lambda point: point.timestamp_seconds // interval_seconds)
    ]


def series_mean(series: Iterable[Sequence[UsagePoint]]) -> tuple[float, int]:
    """Mean value over several series and the number of points (no intermediate lists: a hot path)."""
    total, count = 0.0, 0
    for points in series:
        total += sum(map(_VALUE, points))
        count += len(points)
    return (total / count if count else 0.0), count
