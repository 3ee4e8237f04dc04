from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from k8s_optimizer.analysis.percentiles import (
    bucket_index,
    bucket_upper_edge,
    bucket_weights,
    histogram_percentile,
    interval_peaks,
    linear_percentile,
    weighted_bucket_percentile,
)
from k8s_optimizer.domain.history import DecayingHistogram
from k8s_optimizer.domain.usage import UsagePoint


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4], 95, 3.85), ([5], 90, 5.0), ([10, 0], 0, 0.0), ([10, 0], 100, 10.0)],
)
def test_linear_percentile_matches_numpy(values, percentile, expected):
    assert linear_percentile(values, percentile) == pytest.approx(expected)


def test_linear_percentile_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        linear_percentile([], 50)


def test_buckets_grow_five_percent():
    assert bucket_index(5.0, 10.0) == 0
    assert bucket_index(200.0, 10.0) == 14
    assert bucket_upper_edge(0, 10.0) == pytest.approx(10.0)
    assert bucket_upper_edge(1, 10.0) == pytest.approx(20.5)
    assert bucket_upper_edge(14, 10.0) == pytest.approx(215.78564, abs=1e-4)


@given(st.floats(min_value=0.01, max_value=1e6))
def test_value_is_inside_its_bucket(value):
    index = bucket_index(value, 10.0)
    assert value <= bucket_upper_edge(index, 10.0) * (1 + 1e-9)
    if index > 0:
        assert value >= bucket_upper_edge(index - 1, 10.0) * (1 - 1e-9)


def test_histogram_percentile_walks_to_the_upper_edge():
    histogram = DecayingHistogram(10.0, 0.05, 86400.0, 0.0, (1.0, 0.0, 3.0, 1.0))
    assert histogram_percentile(histogram, 10) == pytest.approx(10.0)
    assert histogram_percentile(histogram, 50) == pytest.approx(bucket_upper_edge(2, 10.0))
    assert histogram_percentile(histogram, 100) == pytest.approx(bucket_upper_edge(3, 10.0))
    assert histogram_percentile(DecayingHistogram(10.0, 0.05, 86400.0, 0.0, (0.0,)), 50) is None


def test_weighted_percentile_respects_weights():
    samples = [(100.0, 1.0), (1000.0, 9.0)]
    assert weighted_bucket_percentile(samples, 50, 10.0) == pytest.approx(
        bucket_upper_edge(bucket_index(1000.0, 10.0), 10.0)
    )
    assert weighted_bucket_percentile(samples, 5, 10.0) == pytest.approx(
        bucket_upper_edge(bucket_index(100.0, 10.0), 10.0)
    )
    assert weighted_bucket_percentile([], 50, 10.0) is None


def test_interval_peaks():
    points = [UsagePoint(0, 1), UsagePoint(10, 5), UsagePoint(100, 2), UsagePoint(150, 1)]
    assert interval_peaks(points, 100) == [UsagePoint(10, 5), UsagePoint(100, 2)]


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0.01, max_value=10)),
        min_size=1,
        max_size=40,
    )
)
def test_bucket_weights_sum_each_sample_into_its_bucket(samples):
    expected: dict[int, float] = {}
    for value, weight in samples:
        index = bucket_index(value, 10.0)
        expected[index] = expected.get(index, 0.0) + weight
    found = bucket_weights([v for v, _ in samples], [w for _, w in samples], 10.0)
    assert found.keys() == expected.keys()
    for index, weight in expected.items():
        assert found[index] == pytest.approx(weight)
