"""The VPA recommender's own estimator tests (logic/estimator_test.go), values unchanged, on analysis/vpa.py.

Amounts are VPA's ResourceAmount: millicores for CPU (3.14 cores = 3140), bytes for memory.
"""

from __future__ import annotations

import math

import pytest

from k8s_optimizer.analysis.histogram import (
    CPU_MILLICORES_BUCKETS,
    MEMORY_BYTES_BUCKETS,
    ContainerAggregate,
    Histogram,
    go_pow,
)
from k8s_optimizer.analysis.vpa import (
    MAX_RESOURCE_AMOUNT,
    VpaAggregate,
    cpu_histogram_from_series,
    pod_minimums,
    resource_amount,
    with_confidence,
    with_margin,
)
from k8s_optimizer.domain.usage import UsagePoint

ANY_TIME = 0.0


def test_percentile_estimator() -> None:
    # TestPercentileEstimator: CPU samples 1, 2, 3 cores and memory peaks 1e9, 2e9, 3e9 B, weight 1 each;
    # CPU p20 ≈ 1.0 core and memory p50 ≈ 2e9 B within 5 % ("to account for histogram rounding")
    cpu = Histogram(CPU_MILLICORES_BUCKETS)
    memory = Histogram(MEMORY_BYTES_BUCKETS)
    for cores in (1, 2, 3):
        cpu.add(cores * 1000.0, 1.0, ANY_TIME)
        memory.add(cores * 1e9, 1.0, ANY_TIME)
    assert resource_amount(cpu.percentile(0.2)) / 1000 == pytest.approx(1.0, rel=0.05)
    assert resource_amount(memory.percentile(0.5)) == pytest.approx(2e9, rel=0.05)


def test_confidence_multiplier() -> None:
    # TestConfidenceMultiplier: 9 CPU samples every 2 min → confidence min(16 min in days, 9/1440) = 0.00625;
    # 3.14 cores × (1 + 0.1/0.00625)^2 = 907.46 cores
    histogram = Histogram(CPU_MILLICORES_BUCKETS)
    for index in range(9):
        histogram.add(1000.0, 0.1, ANY_TIME + index * 120)
    state = VpaAggregate(histogram, Histogram(MEMORY_BYTES_BUCKETS), 0.0, 8 * 120.0, 9, from_store=False)
    assert state.confidence_days() == 0.00625
    assert with_confidence(3140, 0.1, 2, state.confidence_days()) == 907460


def test_confidence_multiplier_no_history() -> None:
    # TestConfidenceMultiplierNoHistory: +Inf → MaxResourceAmount (1e14), exponent −1 → 0
    assert with_confidence(3140, 1.0, 1, 0.0) == MAX_RESOURCE_AMOUNT == 10**14
    assert with_confidence(3140, 1.0, -1, 0.0) == 0


def test_margin_estimator() -> None:
    # TestMarginEstimator: 10 % on top of 3.14 cores and 3.14e9 B
    assert with_margin(3140, 0.1) == 3454  # 3.14 × 1.1 cores
    assert with_margin(3_140_000_000, 0.1) == 3_454_000_000


def test_min_resources_estimator() -> None:
    # TestMinResourcesEstimator: CPU 3.14 stays above the 0.2 minimum; memory 2e7 is lifted to 4e8
    assert max(3140, resource_amount(0.2 * 1000)) == 3140
    assert max(resource_amount(2e7), resource_amount(4e8)) == 400_000_000


def test_resource_amount_truncates_and_bounds() -> None:
    assert (resource_amount(1.9), resource_amount(-5.0), resource_amount(math.inf)) == (1, 0, MAX_RESOURCE_AMOUNT)


@pytest.mark.parametrize(
    ("containers", "expected"), [(1, (25, 262_144_000)), (2, (12, 131_072_000)), (3, (8, 87_381_333))]
)
def test_pod_minimums_split_and_truncate(containers: int, expected: tuple[int, int]) -> None:
    # GetRecommendedPodResources: ScaleResource(min, 1/containersPerPod) truncates (25m / 3 = 8m, not 9m)
    assert pod_minimums(containers) == expected


def test_go_pow_matches_repeated_squaring() -> None:
    # Go's math.Pow multiplies the frexp mantissa by repeated squaring: 1/(x·x) for exponent −2, x for 1
    x = 1.0 + 0.001 / 0.2076388888888889
    assert go_pow(x, -2) == 1 / (x * x)
    assert go_pow(x, 1) == x
    assert go_pow(1.05, 15) == pytest.approx(1.05**15, rel=1e-15)


def test_usage_is_read_in_whole_units_rounded_up_as_quantity_milli_value() -> None:
    # metrics_client.go reads usage with Quantity.MilliValue() / Value(): 9.5m counts as 10m (bucket 1, not 0)
    stored = ContainerAggregate()
    stored.add_cpu(1000.0, 9.5, None)
    raw = cpu_histogram_from_series([[UsagePoint(1000.0, 9.5)]], 86400.0)
    assert stored.cpu.percentile(1.0) == raw.percentile(1.0) == CPU_MILLICORES_BUCKETS.bucket_start(2)  # 20.5m
    stored.add_memory(1000.0, 0.5)
    assert stored.memory_peak_bytes == 1.0
