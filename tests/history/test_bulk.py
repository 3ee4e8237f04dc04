"""The bulk read's series: raw when affordable, else 5-minute points (CPU average, memory peak), else none."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.history.bulk import BULK_MAX_POINTS, BulkPlan, choose_resolution, raw_series, rollup_series
from k8s_optimizer.history.engine import HistoryEngine, Retention
from k8s_optimizer.history.rollups import ROLLUP_SECONDS
from tests.history.factories import DAY, MIB, T0, scraped


@pytest.mark.parametrize(
    ("containers", "covered", "window", "interval", "expected"),
    [
        (10, DAY, 7 * DAY, 60.0, BulkPlan("raw", DAY)),  # 14,400 samples
        (49, DAY, 14 * DAY, 300.0, BulkPlan("raw", DAY)),  # 14,112
        (10, DAY, 7 * DAY, 15.0, BulkPlan("raw", 75_000.0)),  # 57,600: the last 20.8 h fit
        (30, DAY, 7 * DAY, 15.0, BulkPlan("raw", 25_000.0)),  # the last 6.9 h fit
        (150, DAY, DAY, 15.0, BulkPlan("rollup")),  # 1.4 h of raw is too short; 43,200 five-minute points fit
        (10_000, 600, 600, 15.0, BulkPlan("rollup")),  # 400,000 samples; 20,000 five-minute points
        (100, DAY, 7 * DAY, 15.0, BulkPlan("none")),  # 2.1 h of raw; 201,600 five-minute points
        (10_000, DAY, 7 * DAY, 15.0, BulkPlan("none")),
    ],
)
def test_choose_resolution(containers: int, covered: float, window: float, interval: float, expected: BulkPlan) -> None:
    assert BULK_MAX_POINTS == 50_000
    assert choose_resolution(containers, covered, window, interval) == expected


@pytest.fixture
def engine(tmp_path: Path) -> HistoryEngine:
    """web-a: cpu 100, 200, 300 and memory 1, 5, 2 MiB in [T0, T0 + 300); 400 / 3 MiB at T0 + 600 (the raw tail)."""
    opened = HistoryEngine.open(tmp_path, Retention())
    for index, (cpu, memory) in enumerate([(100.0, 1), (200.0, 5), (300.0, 2)]):
        opened.record_scrape([scraped("web-a", T0 + 60 * index, cpu, memory * MIB)], [])
    opened.record_scrape([scraped("web-a", T0 + 600, 400.0, 3 * MIB)], [])
    opened.maintain()  # rolls up [T0, T0 + 300); [T0 + 600, ...) is still open
    return opened


def test_rollup_points_are_cpu_averages_and_memory_peaks(engine: HistoryEngine) -> None:
    (web_a,) = engine.catalog.containers_by_id
    assert engine.rolled_until_seconds == T0 + ROLLUP_SECONDS
    series = rollup_series(engine.connection, {web_a}, T0 - 10, T0 + 600, engine.rolled_until_seconds)
    cpu, memory = series[web_a]
    assert cpu == (UsagePoint(T0, 200.0), UsagePoint(T0 + 600, 400.0))
    assert memory == (UsagePoint(T0, 5.0 * MIB), UsagePoint(T0 + 600, 3.0 * MIB))
    engine.close()


def test_raw_points_are_every_sample_in_the_window(engine: HistoryEngine) -> None:
    (web_a,) = engine.catalog.containers_by_id
    cpu, memory = raw_series(engine.connection, {web_a}, T0 + 60, T0 + 600)[web_a]
    assert cpu == (UsagePoint(T0 + 60, 200.0), UsagePoint(T0 + 120, 300.0), UsagePoint(T0 + 600, 400.0))
    assert [point.value for point in memory] == [5.0 * MIB, 2.0 * MIB, 3.0 * MIB]
    assert raw_series(engine.connection, set(), T0, T0 + 600) == {}
    engine.close()


def test_typical_interval_is_the_median_of_the_containers_own(engine: HistoryEngine) -> None:
    assert engine.typical_interval_seconds() == 480.0  # web-a's last gap: T0 + 120 -> T0 + 600
    engine.close()
