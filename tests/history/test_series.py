"""Chart series from raw samples: per pod and summed, step statistics, targets, replicas and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from k8s_optimizer.domain.history import RollupPoint, SeriesQueryError, SeriesTarget
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.history.series import MAX_POINTS
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import DAY, MIB, T0, WEB, at, node, scraped, two_pod_scrape


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    opened = await HistoryStore.open(tmp_path)
    for step in range(4):  # T0 .. T0 + 45: web-a cpu 100..130, web-b 50..65
        timestamp = T0 + 15 * step
        scrape = two_pod_scrape(timestamp, step)
        scrape.append(scraped("web-a", timestamp, 1.0, MIB, container="sidecar"))
        await opened.record_scrape(scrape, [node("n1", timestamp, 500.0 + step, 10**9)])
    yield opened
    await opened.close()


def _single(value: float, timestamp: float) -> RollupPoint:
    return RollupPoint(timestamp, 1, value, value, value, value)


async def test_container_series_per_pod_and_total(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web/app"), "cpu", window_seconds=60, step_seconds=15, now_seconds=T0 + 45
    )
    assert (series.target, series.unit, series.resolution, series.step_seconds) == (
        "Deployment/shop/web/app",
        "millicores",
        "raw",
        15,
    )
    assert series.per_pod["web-a"] == tuple(_single(100.0 + 10 * i, T0 + 15 * i) for i in range(4))
    assert series.per_pod["web-b"] == tuple(_single(50.0 + 5 * i, T0 + 15 * i) for i in range(4))
    assert series.total == tuple(_single(150.0 + 15 * i, T0 + 15 * i) for i in range(4))


async def test_workload_series_sums_a_pods_containers(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web"), "cpu", window_seconds=60, step_seconds=15, now_seconds=T0 + 45
    )
    assert series.per_pod["web-a"][0] == _single(101.0, T0)  # app 100 + sidecar 1
    assert series.total[0] == _single(151.0, T0)


async def test_a_step_summarises_its_samples(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web/app"), "cpu", window_seconds=60, step_seconds=60, now_seconds=T0 + 45
    )
    # totals 150, 165, 180, 195: p95 at rank 2.85 = 180 + 0.85 × 15
    (point,) = series.total
    assert (point.timestamp_seconds, point.samples, point.min, point.avg, point.max) == (T0, 4, 150.0, 172.5, 195.0)
    assert point.p95 == pytest.approx(192.75, rel=1e-12)


async def test_window_bounds_are_inclusive_and_follow_now(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web/app"), "memory", window_seconds=15, step_seconds=15, now_seconds=T0 + 30
    )
    assert series.unit == "bytes"
    assert series.per_pod["web-a"] == (_single(101.0 * MIB, T0 + 15), _single(102.0 * MIB, T0 + 30))


async def test_now_defaults_to_the_newest_sample(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web/app"), "cpu", window_seconds=15, step_seconds=15
    )
    assert [p.timestamp_seconds for p in series.total] == [T0 + 30, T0 + 45]


async def test_pod_and_node_targets(store: HistoryStore) -> None:
    pod = await store.series(
        SeriesTarget.parse("Pod/shop/web-a"), "cpu", window_seconds=60, step_seconds=15, now_seconds=T0 + 45
    )
    assert list(pod.per_pod) == ["web-a"]
    assert pod.total[3] == _single(131.0, T0 + 45)
    nodes = await store.series(
        SeriesTarget.parse("Node//n1"), "memory", window_seconds=60, step_seconds=30, now_seconds=T0 + 45
    )
    assert nodes.per_pod == {}
    assert [p.samples for p in nodes.total] == [2, 2]


async def test_unknown_targets_are_empty(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("StatefulSet/shop/db"), "cpu", window_seconds=60, step_seconds=15, now_seconds=T0
    )
    assert (series.total, series.per_pod) == ((), {})


async def test_replicas_series_is_a_step_function(store: HistoryStore) -> None:
    await store.record_replicas(WEB, at(T0 - 100), 2, None)
    await store.record_replicas(WEB, at(T0 + 20), 4, 4)
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web"), "replicas", window_seconds=59, step_seconds=30, now_seconds=T0 + 59
    )
    assert series.unit == "replicas"
    assert series.total == (
        RollupPoint(T0, 2, 2.0, 3.0, 4.0, 3.9),  # 2 carried in, 4 from T0 + 20
        _single(4.0, T0 + 30),
    )


async def test_steps_grow_to_bound_the_points(store: HistoryStore) -> None:
    series = await store.series(
        SeriesTarget.parse("Deployment/shop/web"), "cpu", window_seconds=6 * 3600, step_seconds=1, now_seconds=T0
    )
    assert series.step_seconds == 6 * 3600 / MAX_POINTS
    long = await store.series(
        SeriesTarget.parse("Deployment/shop/web"), "cpu", window_seconds=14 * DAY, step_seconds=60, now_seconds=T0
    )
    assert (long.resolution, long.step_seconds) == ("rollup", 900.0)  # 14 d / 2000 = 604.8 s, in 5-minute steps


@pytest.mark.parametrize(
    ("target", "metric", "window", "step", "field"),
    [
        ("Deployment/shop", "cpu", 60, 15, "target"),
        ("Deployment/shop/web/app/x", "cpu", 60, 15, "target"),
        ("Service/shop/web", "cpu", 60, 15, "target"),
        ("Node/shop/n1", "cpu", 60, 15, "target"),
        ("Deployment//web", "cpu", 60, 15, "target"),
        ("Node//n1/x", "cpu", 60, 15, "target"),
        ("Deployment/shop/web", "disk", 60, 15, "metric"),
        ("Deployment/shop/web/app", "replicas", 60, 15, "metric"),
        ("Pod/shop/web-a", "replicas", 60, 15, "metric"),
        ("Deployment/shop/web", "cpu", 0, 15, "window_seconds"),
        ("Deployment/shop/web", "cpu", float("nan"), 15, "window_seconds"),
        ("Deployment/shop/web", "cpu", 60, -1, "step_seconds"),
    ],
)
async def test_bad_input_names_the_field(
    store: HistoryStore, target: str, metric: str, window: float, step: float, field: str
) -> None:
    with pytest.raises(SeriesQueryError) as caught:
        await store.series(SeriesTarget.parse(target), metric, window_seconds=window, step_seconds=step, now_seconds=T0)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_target_round_trip() -> None:
    assert str(SeriesTarget.parse("Deployment/shop/web/app")) == "Deployment/shop/web/app"
    assert SeriesTarget.parse("Node//n1") == SeriesTarget("Node", "", "n1")
    assert ObjectRef("Deployment", "shop", "web") == WEB
