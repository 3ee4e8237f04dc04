"""Percentiles the way KRR computes them, so our numbers match its numbers.

KRR uses numpy's default (linear interpolation between closest ranks); one small pure function (no numpy:
per-container work stays O(n log n) on plain lists). The VPA recommender's decaying, bucketed histograms
live in `analysis/histogram.py` and its estimation in `analysis/vpa.py` — one model of VPA, not two.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

from k8s_optimizer.domain.usage import UsagePoint

_VALUE = operator.attrgetter("value")


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


def series_mean(series: Iterable[Sequence[UsagePoint]]) -> tuple[float, int]:
    """Mean value over several series and the number of points (no intermediate lists: a hot path)."""
    total, count = 0.0, 0
    for points in series:
        total += sum(map(_VALUE, points))
        count += len(points)
    return (total / count if count else 0.0), count
