"""5-minute rollups (hand-computed min/avg/max/p95) and retention, all in sample time."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import astuple
from pathlib import Path

import pytest

from k8s_optimizer.domain.history import RollupPoint, SeriesTarget
from k8s_optimizer.history.engine import HistoryEngine, Retention
from k8s_optimizer.history.rollups import add_points, combine, summarize
from k8s_optimizer.history.schema import DATABASE_FILE, METRIC_CPU, METRIC_MEMORY, SCOPE_CONTAINER, SCOPE_WORKLOAD
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import DAY, MIB, T0, WEB, node, scraped

WEB_A_CPU = [100.0, 200.0, 300.0, 400.0, 1000.0]


def approx_points(*expected: RollupPoint) -> object:
    """p95 interpolation carries float rounding (879.9999999999999 for 880): compare to 1e-12."""
    return pytest.approx([value for point in expected for value in astuple(point)], rel=1e-12)


def points(series: tuple[RollupPoint, ...]) -> list[object]:
    return [value for point in series for value in astuple(point)]


def flat(rows: list[tuple[object, ...]]) -> list[object]:
    return [value for row in rows for value in row]


def _rows(data_dir: Path, query: str, *params: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(data_dir / DATABASE_FILE)) as connection, connection:
        return connection.execute(query, params).fetchall()


async def _one_bucket(store: HistoryStore) -> None:
    """Five scrapes in [T0, T0 + 300) and one at T0 + 420, which closes that bucket (grace 120 s)."""
    for index, cpu in enumerate(WEB_A_CPU):
        timestamp = T0 + 60 * index
        await store.record_scrape(
            [scraped("web-a", timestamp, cpu, (index + 1) * 10 * MIB), scraped("web-b", timestamp, 50.0, 5 * MIB)],
            [node("n1", timestamp, 1000.0 + index, 10**9)],
        )
    await store.record_scrape([scraped("web-a", T0 + 420, 1.0, MIB)], [])
    await store.maintain()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    opened = await HistoryStore.open(tmp_path)
    yield opened
    await opened.close()


def test_summarize_is_numpy_linear_p95() -> None:
    # rank (5 − 1) × 0.95 = 3.8: 400 + 0.8 × (1000 − 400) = 880
    assert points((summarize(T0, WEB_A_CPU),)) == approx_points(RollupPoint(T0, 5, 100.0, 400.0, 1000.0, 880.0))


def test_combine_and_add() -> None:
    first, second = RollupPoint(T0, 2, 1.0, 2.0, 3.0, 2.9), RollupPoint(T0 + 300, 6, 0.5, 4.0, 9.0, 8.0)
    assert combine([first, second], 600) == (RollupPoint(T0, 8, 0.5, 3.5, 9.0, 8.0),)
    assert add_points([(first,), (first,)]) == (RollupPoint(T0, 2, 2.0, 4.0, 6.0, 5.8),)


async def test_closed_bucket_rollups_are_hand_computed(store: HistoryStore, tmp_path: Path) -> None:
    await _one_bucket(store)
    web_a = _rows(tmp_path, "SELECT id FROM containers WHERE pod = 'web-a'")[0][0]
    query = (
        "SELECT samples, min, avg, max, p95 FROM rollups WHERE scope = ? AND owner_id = ? AND part = ? AND metric = ?"
    )
    assert flat(
        _rows(tmp_path, query + " AND bucket = ?", SCOPE_CONTAINER, web_a, "", METRIC_CPU, T0)
    ) == pytest.approx([5, 100.0, 400.0, 1000.0, 880.0], rel=1e-12)
    # memory 10..50 MiB: p95 = 40 + 0.8 × 10 MiB
    assert _rows(tmp_path, query + " AND bucket = ?", SCOPE_CONTAINER, web_a, "", METRIC_MEMORY, T0) == [
        (5, 10 * MIB, 30 * MIB, 50 * MIB, 48 * MIB)
    ]
    # the workload sums per scrape are 150, 250, 350, 450, 1050: p95 = 450 + 0.8 × 600
    workload = _rows(tmp_path, "SELECT id FROM workloads WHERE name = 'web'")[0][0]
    for part in ("", "app"):
        assert flat(_rows(tmp_path, query, SCOPE_WORKLOAD, workload, part, METRIC_CPU)) == pytest.approx(
            [5, 150.0, 450.0, 1050.0, 930.0], rel=1e-12
        )
    # the open bucket (T0 + 300 ..) is not rolled up yet
    assert _rows(tmp_path, "SELECT DISTINCT bucket FROM rollups") == [(T0,)]


async def test_long_windows_read_rollups(store: HistoryStore) -> None:
    await _one_bucket(store)
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web/app"),
        "cpu",
        window_seconds=2 * DAY,
        step_seconds=300,
        now_seconds=T0 + 420,
    )
    assert (series.resolution, series.step_seconds, series.unit) == ("rollup", 300.0, "millicores")
    assert points(series.total) == approx_points(
        RollupPoint(T0, 5, 150.0, 450.0, 1050.0, 930.0),
        RollupPoint(T0 + 300, 1, 1.0, 1.0, 1.0, 1.0),  # the raw tail, summarised the same way
    )
    assert points(series.per_pod["web-a"]) == approx_points(
        RollupPoint(T0, 5, 100.0, 400.0, 1000.0, 880.0), RollupPoint(T0 + 300, 1, 1.0, 1.0, 1.0, 1.0)
    )
    assert series.per_pod["web-b"] == (RollupPoint(T0, 5, 50.0, 50.0, 50.0, 50.0),)
    nodes = await store.series(
        SeriesTarget.parse("Node//n1"), "cpu", window_seconds=2 * DAY, step_seconds=600, now_seconds=T0 + 420
    )
    assert points(nodes.total) == approx_points(RollupPoint(T0, 5, 1000.0, 1002.0, 1004.0, 1003.8))


async def test_raw_samples_are_pruned_after_retention_but_rollups_stay(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path, retention=Retention(raw_seconds=600, prune_interval_seconds=0))
    await _one_bucket(store)
    assert _rows(tmp_path, "SELECT COUNT(*) FROM samples") == [(11,)]
    await store.record_scrape([scraped("web-a", T0 + 1000, 2.0, MIB)], [])  # now = T0 + 1000: cutoff T0 + 400
    await store.maintain()
    assert _rows(tmp_path, "SELECT ts FROM samples ORDER BY ts") == [(T0 + 420,), (T0 + 1000,)]
    assert _rows(tmp_path, "SELECT COUNT(*) FROM node_samples") == [(0,)]
    # closed up to T0 + 600 (1000 − 120, floored); [T0 + 600, T0 + 900) had no samples
    assert _rows(tmp_path, "SELECT DISTINCT bucket FROM rollups ORDER BY bucket") == [(T0,), (T0 + 300,)]
    await store.close()


async def test_raw_samples_are_never_pruned_before_they_are_rolled_up(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path, retention=Retention(raw_seconds=60, prune_interval_seconds=0))
    await store.record_scrape([scraped("web-a", T0, 1.0, MIB)], [])
    await store.record_scrape([scraped("web-a", T0 + 200, 2.0, MIB)], [])
    await store.maintain()  # now T0 + 200: the bucket [T0, T0 + 300) is still open
    assert _rows(tmp_path, "SELECT COUNT(*) FROM samples") == [(2,)]
    await store.close()


async def test_rollups_expire_after_their_retention(tmp_path: Path) -> None:
    retention = Retention(raw_seconds=600, rollup_seconds=3600, prune_interval_seconds=0)
    store = await HistoryStore.open(tmp_path, retention=retention)
    await _one_bucket(store)
    await store.record_scrape([scraped("web-a", T0 + 3900, 2.0, MIB)], [])  # cutoff T0 + 300
    await store.maintain()
    assert (T0,) not in _rows(tmp_path, "SELECT DISTINCT bucket FROM rollups")
    assert (T0 + 300,) in _rows(tmp_path, "SELECT DISTINCT bucket FROM rollups")
    await store.close()


async def test_retention_follows_sample_time_not_the_wall_clock(store: HistoryStore, tmp_path: Path) -> None:
    # T0 is years before the wall clock: a store pruning by local time would drop everything
    await _one_bucket(store)
    await store.maintain()
    assert _rows(tmp_path, "SELECT COUNT(*) FROM samples") == [(11,)]


async def test_histograms_of_containers_idle_for_8_days_are_dropped(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path, retention=Retention(prune_interval_seconds=0))
    await store.record_scrape([scraped("gone", T0, 1.0, MIB), scraped("web-a", T0, 1.0, MIB)], [])
    await store.checkpoint()
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(2,)]
    await store.record_scrape([scraped("web-a", T0 + 8 * DAY, 1.0, MIB)], [])
    await store.maintain()
    histories = await store.all_workload_histories(30 * DAY, T0 + 8 * DAY)
    assert [h.key.pod for h in histories[WEB].containers["app"]] == ["web-a"]
    assert _rows(tmp_path, "SELECT c.pod FROM histograms h JOIN containers c ON c.id = h.container_id") == [("web-a",)]
    await store.close()


async def test_rollups_survive_a_restart(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path)
    await _one_bucket(store)
    before = await store.series(
        SeriesTarget.parse("Deployment/shop/web"),
        "memory",
        window_seconds=2 * DAY,
        step_seconds=300,
        now_seconds=T0 + 420,
    )
    await store.close()
    reopened = await HistoryStore.open(tmp_path)
    after = await reopened.series(
        SeriesTarget.parse("Deployment/shop/web"),
        "memory",
        window_seconds=2 * DAY,
        step_seconds=300,
        now_seconds=T0 + 420,
    )
    await reopened.close()
    assert after == before
    assert points(after.total[:1]) == approx_points(RollupPoint(T0, 5, 15 * MIB, 35 * MIB, 55 * MIB, 53 * MIB))


def test_catching_up_rolls_a_few_buckets_per_pass(tmp_path: Path) -> None:
    engine = HistoryEngine.open(tmp_path, Retention())
    for index in range(11):  # one sample in each of eleven buckets, before any maintenance ran
        engine.record_scrape([scraped("web-a", T0 + 300 * index, 1.0, MIB)], [])
    counts = []
    for _ in range(3):
        engine.maintain()
        counts.append(_rows(tmp_path, "SELECT COUNT(DISTINCT bucket) FROM rollups")[0][0])
    engine.close()
    assert counts == [4, 8, 9]  # now T0 + 3000: buckets from T0 + 2700 on are not closed yet (2 min grace)


async def test_a_long_gone_containers_rows_are_forgotten(tmp_path: Path) -> None:
    retention = Retention(raw_seconds=3600, rollup_seconds=2 * DAY, prune_interval_seconds=0)
    store = await HistoryStore.open(tmp_path, retention=retention)
    await store.record_scrape([scraped("gone", T0, 1.0, MIB), scraped("web-a", T0, 1.0, MIB)], [])
    await store.record_scrape([scraped("web-a", T0 + 7 * DAY, 1.0, MIB)], [])
    await store.maintain()
    assert _rows(tmp_path, "SELECT pod FROM containers ORDER BY pod") == [("gone",), ("web-a",)]  # histogram kept
    await store.record_scrape([scraped("web-a", T0 + 9 * DAY, 1.0, MIB)], [])
    await store.maintain()  # 8 idle days: histogram dropped; rollups older than 2 days gone; raw gone
    assert _rows(tmp_path, "SELECT pod FROM containers ORDER BY pod") == [("web-a",)]
    await store.record_scrape([scraped("gone", T0 + 9 * DAY + 15, 2.0, MIB)], [])  # a new pod of that name
    history = await store.workload_history(WEB, window_seconds=60, now_seconds=T0 + 9 * DAY + 15)
    assert [(h.key.pod, len(h.cpu_millicores)) for h in history.containers["app"]] == [("gone", 1), ("web-a", 1)]
    await store.close()
