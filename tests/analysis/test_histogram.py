"""The VPA decaying histogram: bucket edges, percentiles, half-life decay, merge and the memory-peaks model.

Expected values are hand-computed from VPA's formulas: bucket n starts at first·(1.05^n − 1)/0.05, a
percentile is the end of the first bucket whose cumulative weight reaches p × total, and a sample at t
weighs 2^((t − ref)/24 h) with ref the multiple of 24 h nearest the first sample.
"""

from __future__ import annotations

import json
import math

import pytest

from k8s_optimizer.analysis.histogram import (
    CPU_MILLICORES_BUCKETS,
    EPSILON,
    MEMORY_BYTES_BUCKETS,
    BucketScheme,
    ContainerAggregate,
    Histogram,
    cpu_sample_weight,
    decay_to,
    go_pow,
    merge_all,
    percentile,
)

DAY = 86400.0
T0 = 19676 * DAY  # 2023-11-15T00:00:00Z, a multiple of the half-life
MB = 1e6
MIB = 2**20


def test_bucket_scheme_matches_vpa_sizes() -> None:
    # ceil(log_1.05(max·0.05/first + 1)) + 1 = ceil(log_1.05(5001)) + 1 = 175 + 1
    assert CPU_MILLICORES_BUCKETS.num_buckets == 176
    assert MEMORY_BYTES_BUCKETS.num_buckets == 176
    assert CPU_MILLICORES_BUCKETS.bucket_start(0) == 0.0
    assert CPU_MILLICORES_BUCKETS.bucket_start(1) == pytest.approx(10.0, abs=1e-12)
    assert CPU_MILLICORES_BUCKETS.bucket_start(2) == pytest.approx(20.5, abs=1e-12)
    assert CPU_MILLICORES_BUCKETS.bucket_start(3) == pytest.approx(31.525, abs=1e-12)


@pytest.mark.parametrize(
    ("value", "bucket"),
    [(0.0, 0), (9.99, 0), (10.0, 1), (15.0, 1), (20.49, 1), (20.51, 2), (25.0, 2), (1e9, 175)],
)
def test_bucket_of(value: float, bucket: int) -> None:
    assert CPU_MILLICORES_BUCKETS.bucket_of(value) == bucket


def test_bucket_scheme_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        BucketScheme(first_bucket_size=0, growth_ratio=0.05, max_value=1)


def _three_samples_at_t0() -> Histogram:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    for value in (5.0, 15.0, 25.0):  # buckets 0, 1, 2
        histogram.add(value, 1.0, T0)
    return histogram


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.0, 10.0), (0.33, 10.0), (0.34, 20.5), (0.5, 20.5), (0.67, 31.525), (0.9, 31.525), (1.0, 31.525)],
)
def test_percentile_is_the_upper_edge_of_the_bucket_reaching_the_weight(fraction: float, expected: float) -> None:
    assert _three_samples_at_t0().percentile(fraction) == pytest.approx(expected, abs=1e-12)


def test_empty_histogram_percentile_is_zero() -> None:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    assert histogram.is_empty()
    assert histogram.percentile(0.9) == 0.0


def test_last_bucket_returns_its_start() -> None:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    histogram.add(5e6, 1.0, T0)  # beyond max_value: clamped into the last bucket
    assert histogram.percentile(0.5) == CPU_MILLICORES_BUCKETS.bucket_start(175)


def test_a_sample_one_half_life_newer_weighs_twice_as_much() -> None:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    histogram.add(5.0, 1.0, T0)
    histogram.add(25.0, 1.0, T0 + DAY)
    assert histogram.reference_seconds == T0
    assert histogram.to_domain().weights == (1.0, 0.0, 2.0)
    # threshold 0.4 × 3 = 1.2 > 1.0 (the old sample): the newer one decides; undecayed it would be 10.
    assert histogram.percentile(0.4) == pytest.approx(31.525, abs=1e-12)
    assert histogram.percentile(0.3) == pytest.approx(10.0, abs=1e-12)


def test_reference_is_the_nearest_multiple_of_the_half_life() -> None:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    histogram.add(5.0, 1.0, T0 + 0.6 * DAY)  # rounds up to T0 + 1 day
    assert histogram.reference_seconds == T0 + DAY
    assert histogram.weights[0] == pytest.approx(2 ** (-0.4), rel=1e-12)


def test_renormalises_when_the_exponent_would_exceed_100() -> None:
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    histogram.add(5.0, 1.0, T0)
    histogram.add(25.0, 1.0, T0 + 101 * DAY)
    assert histogram.reference_seconds == T0 + 101 * DAY
    assert histogram.weights[0] == math.ldexp(1.0, -101)
    assert histogram.weights[2] == 1.0
    assert histogram.total_weight == pytest.approx(1.0 + math.ldexp(1.0, -101), rel=1e-15)
    # the ancient sample is below epsilon: the histogram starts at bucket 2 now
    assert histogram.percentile(0.0) == pytest.approx(31.525, abs=1e-12)


def test_subtract_never_goes_negative() -> None:
    histogram = Histogram(MEMORY_BYTES_BUCKETS)
    histogram.add(100 * MB, 1.0, T0)
    histogram.subtract(100 * MB, 5.0, T0)
    assert histogram.total_weight == 0.0
    assert histogram.is_empty()


def test_merge_equals_one_histogram_with_all_samples() -> None:
    first, second, together = (Histogram(CPU_MILLICORES_BUCKETS) for _ in range(3))
    first.add(5.0, 1.0, T0)
    second.add(25.0, 3.0, T0 + 2 * DAY)
    together.add(5.0, 1.0, T0)
    together.add(25.0, 3.0, T0 + 2 * DAY)
    first.merge(second)
    assert first.reference_seconds == T0 + 2 * DAY
    # same weights once expressed against the same reference (together's stayed at T0: 1 and 3 × 2²)
    assert together.to_domain().weights == (1.0, 0.0, 12.0)
    assert first.weights == list(decay_to(together.to_domain(), T0 + 2 * DAY).weights)
    assert first.percentile(0.2) == together.percentile(0.2)
    assert first.weights[0] == 0.25
    assert first.weights[2] == 3.0
    assert first.total_samples == 2
    assert (first.first_sample_seconds, first.last_sample_seconds) == (T0, T0 + 2 * DAY)
    assert second.reference_seconds == T0 + 2 * DAY  # the argument is untouched


def test_merge_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="same buckets"):
        Histogram(CPU_MILLICORES_BUCKETS).merge(Histogram(MEMORY_BYTES_BUCKETS))


def test_domain_round_trip_and_helpers() -> None:
    source = _three_samples_at_t0()
    data = source.to_domain()
    assert data.weights == (1.0, 1.0, 1.0)
    assert data.total_samples == 3
    assert data.max_value == 1e6
    assert percentile(data, 0.5) == source.percentile(0.5)
    shifted = decay_to(data, T0 + 3 * DAY)
    assert shifted.weights == (0.125, 0.125, 0.125)
    assert percentile(shifted, 0.5) == percentile(data, 0.5)
    merged = merge_all([data, shifted])
    assert merged is not None
    assert merged.weights == (0.25, 0.25, 0.25)
    assert merge_all([]) is None


# VPA >= 1.4: the sample's request is never filled in (kubernetes/autoscaler#7818), so every sample weighs 0.1
@pytest.mark.parametrize(("request_millicores", "weight"), [(None, 0.1), (0, 0.1), (50, 0.1), (250, 0.1), (2000, 0.1)])
def test_cpu_sample_weight_is_the_constant_tenth(request_millicores: int | None, weight: float) -> None:
    assert cpu_sample_weight(request_millicores) == weight


def test_cpu_samples_weigh_a_tenth_and_are_deduplicated() -> None:
    aggregate = ContainerAggregate()
    assert aggregate.add_cpu(T0, 5.0, 500)
    assert not aggregate.add_cpu(T0, 25.0, 500)  # same timestamp: a duplicate
    assert not aggregate.add_cpu(T0 - 15, 25.0, 500)  # out of order
    assert aggregate.add_cpu(T0 + 15, 25.0, None)
    assert aggregate.cpu.weights[0] == 0.1  # the 500m request does not weigh in (VPA >= 1.4)
    assert aggregate.cpu.weights[2] == pytest.approx(0.1 * 2 ** (15 / DAY), rel=1e-12)
    assert aggregate.cpu.total_samples == 2


def test_memory_keeps_one_growing_peak_per_day() -> None:
    aggregate = ContainerAggregate()
    aggregate.add_memory(T0, 100 * MB)  # opens the interval [T0, T0 + 1 day); peak stamped at its end
    aggregate.add_memory(T0 + 3600, 150 * MB)  # replaces the peak
    aggregate.add_memory(T0 + 7200, 120 * MB)  # lower: ignored
    aggregate.add_memory(T0 + DAY + 10, 80 * MB)  # next interval, ends T0 + 2 days
    memory = aggregate.memory
    assert aggregate.memory_window_end_seconds == T0 + 2 * DAY
    assert memory.reference_seconds == T0 + DAY
    assert MEMORY_BYTES_BUCKETS.bucket_of(150 * MB) == 11
    assert MEMORY_BYTES_BUCKETS.bucket_of(100 * MB) == 8
    assert MEMORY_BYTES_BUCKETS.bucket_of(80 * MB) == 6
    assert memory.weights[8] == 0.0  # the replaced 100 MB peak
    assert memory.weights[11] == 1.0  # 150 MB at the end of day one
    assert memory.weights[6] == 2.0  # 80 MB one half-life later
    assert memory.percentile(1.0) == MEMORY_BYTES_BUCKETS.bucket_start(12)
    assert memory.percentile(0.5) == MEMORY_BYTES_BUCKETS.bucket_start(7)


def test_memory_replay_is_idempotent() -> None:
    once, twice = ContainerAggregate(), ContainerAggregate()
    samples = [(T0, 100 * MB), (T0 + 60, 150 * MB), (T0 + DAY + 5, 90 * MB)]
    for timestamp, value in samples:
        once.add_memory(timestamp, value)
        twice.add_memory(timestamp, value)
        twice.add_memory(timestamp, value)
    assert once.to_checkpoint() == twice.to_checkpoint()


def test_oom_adds_a_bumped_peak() -> None:
    aggregate = ContainerAggregate()
    aggregate.add_memory(T0, 150 * MB)
    assert aggregate.record_oom(T0 + 60, 200 * MIB)
    # used = max(request 200 MiB, peak 150 MB); needed = max(used + 100 MiB, used × 1.2) = 300 MiB
    assert aggregate.oom_peak_bytes == 300 * MIB
    assert aggregate.memory.percentile(1.0) == MEMORY_BYTES_BUCKETS.bucket_start(
        MEMORY_BYTES_BUCKETS.bucket_of(300 * MIB) + 1
    )
    assert aggregate.last_oom_seconds == T0 + 60


def test_oom_older_than_one_interval_is_discarded() -> None:
    aggregate = ContainerAggregate()
    aggregate.add_memory(T0 + 3 * DAY, 150 * MB)  # window ends T0 + 4 days
    assert not aggregate.record_oom(T0 + 2 * DAY, 200 * MIB)
    assert aggregate.oom_peak_bytes == 0.0


def test_checkpoint_round_trip_is_exact() -> None:
    aggregate = ContainerAggregate()
    for index in range(50):
        aggregate.add_cpu(T0 + 15 * index, 3.7 * index, 250)
        aggregate.add_memory(T0 + 15 * index, 90 * MB + index * 1e5)
    aggregate.record_oom(T0 + 800, None)
    restored = ContainerAggregate.from_checkpoint(json.loads(json.dumps(aggregate.to_checkpoint())))
    assert restored.to_checkpoint() == aggregate.to_checkpoint()
    assert restored.cpu.percentile(0.9) == aggregate.cpu.percentile(0.9)
    assert restored.cpu.to_domain() == aggregate.cpu.to_domain()


def test_epsilon_is_vpas() -> None:
    assert pytest.approx(1e-4) == EPSILON


def test_exponential_histogram_options_upstream() -> None:
    # histogram_options_test.go TestExponentialHistogramOptions: NewExponentialHistogramOptions(500, 40, 1.5, ε)
    scheme = BucketScheme(first_bucket_size=40.0, growth_ratio=0.5, max_value=500.0)
    assert scheme.num_buckets == 6
    assert [scheme.bucket_start(b) for b in range(6)] == [0.0, 40.0, 100.0, 190.0, 325.0, 527.5]
    assert [scheme.bucket_of(v) for v in (-1.0, 39.99, 40.0, 100.0, 900.0)] == [0, 0, 1, 2, 5]


def test_cpu_buckets_are_computed_in_cores_as_vpa_does() -> None:
    # VPA's CPU histogram is in cores (first bucket 0.01, ratio 1.05); ours stores millicores and computes the
    # bucket in cores: 10m is exactly the start of bucket 1, and bucket 15 starts at 0.01·(1.05^15 − 1)/0.05 cores
    assert CPU_MILLICORES_BUCKETS.bucket_of(10.0) == 1
    assert CPU_MILLICORES_BUCKETS.bucket_of(9.999) == 0
    assert CPU_MILLICORES_BUCKETS.bucket_start(15) == 0.01 * (go_pow(1.05, 15) - 1) / (1.05 - 1) * 1000.0
