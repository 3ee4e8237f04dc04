"""The history store end to end on a real SQLite file: ingest, idempotence, restarts, histories, the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import closing
from pathlib import Path

import pytest

from k8s_optimizer.analysis.histogram import ContainerAggregate
from k8s_optimizer.domain.history import SeriesTarget
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, UsagePoint
from k8s_optimizer.history.engine import HistoryEngine, Retention
from k8s_optimizer.history.schema import DATABASE_FILE, SchemaError
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import DAY, MIB, T0, WEB, at, node, oom, scraped, two_pod_scrape


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[HistoryStore]:
    opened = await HistoryStore.open(tmp_path)
    yield opened
    await opened.close()


async def _fill(store: HistoryStore, scrapes: int, *, start: float = T0) -> None:
    for step in range(scrapes):
        await store.record_scrape(
            two_pod_scrape(start + 15 * step, step), [node("n1", start + 15 * step, 900.0, 10**9)]
        )


def _rows(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(data_dir / DATABASE_FILE)) as connection, connection:
        return connection.execute(query).fetchall()


async def test_wal_mode_and_synchronous_normal(store: HistoryStore, tmp_path: Path) -> None:
    await _fill(store, 1)
    assert _rows(tmp_path, "PRAGMA journal_mode") == [("wal",)]


async def test_re_recording_the_same_samples_is_a_no_op(store: HistoryStore, tmp_path: Path) -> None:
    assert await store.record_scrape(two_pod_scrape(T0, 0), []) == 2
    assert await store.record_scrape(two_pod_scrape(T0, 0), []) == 0
    assert await store.record_scrape(two_pod_scrape(T0 + 15, 1), []) == 2
    history = await store.workload_history(WEB, window_seconds=3600, now_seconds=T0 + 15)
    pods = history.containers["app"]
    assert [h.key.pod for h in pods] == ["web-a", "web-b"]
    assert pods[0].cpu_millicores == (UsagePoint(T0, 100.0), UsagePoint(T0 + 15, 110.0))
    assert pods[1].memory_bytes == (UsagePoint(T0, 80.0 * MIB), UsagePoint(T0 + 15, 81.0 * MIB))
    assert pods[0].cpu_histogram is not None
    assert pods[0].cpu_histogram.total_samples == 2
    assert _rows(tmp_path, "SELECT COUNT(*) FROM samples") == [(4,)]
    assert _rows(tmp_path, "SELECT COUNT(*) FROM workload_samples") == [(4,)]  # ('app', '') × 2 scrapes


async def test_workload_sums_per_scrape(store: HistoryStore, tmp_path: Path) -> None:
    await _fill(store, 2)
    rows = _rows(
        tmp_path, "SELECT part, ts, cpu_millicores, memory_bytes, pods FROM workload_samples ORDER BY ts, part"
    )
    assert rows == [
        ("", T0, 150.0, 180 * MIB, 2),
        ("app", T0, 150.0, 180 * MIB, 2),
        ("", T0 + 15, 165.0, 182 * MIB, 2),
        ("app", T0 + 15, 165.0, 182 * MIB, 2),
    ]


async def test_a_workload_sum_includes_pods_whose_metrics_did_not_refresh(store: HistoryStore, tmp_path: Path) -> None:
    await store.record_scrape(two_pod_scrape(T0, 0), [])
    await store.record_scrape(two_pod_scrape(T0 + 15, 1), [])
    await store.record_scrape([scraped("web-a", T0 + 30, 120.0, 100 * MIB)], [])  # web-b not refreshed
    await store.record_scrape([scraped("web-a", T0 + 90, 130.0, 100 * MIB)], [])  # web-b gone: 2.5 × 15 s passed
    rows = _rows(tmp_path, "SELECT ts, cpu_millicores, pods FROM workload_samples WHERE part = '' ORDER BY ts")
    assert rows == [(T0, 150.0, 2), (T0 + 15, 165.0, 2), (T0 + 30, 175.0, 2), (T0 + 90, 130.0, 1)]


async def test_a_restart_keeps_every_sample_and_the_histograms(tmp_path: Path) -> None:
    first = await HistoryStore.open(tmp_path)
    await _fill(first, 40)
    await first.record_terminations([oom("web-a", T0 + 100)])
    before = await first.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 600)
    await first.close()
    second = await HistoryStore.open(tmp_path)
    after = await second.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 600)
    assert await second.now_seconds() == T0 + 15 * 39
    await second.close()
    assert after == before
    assert len(after.containers["app"][0].cpu_millicores) == 40
    assert after.containers["app"][0].oom_kill_times_seconds == (T0 + 100,)


async def test_replay_after_an_unclean_stop_rebuilds_the_same_histograms(tmp_path: Path) -> None:
    clean = await HistoryStore.open(tmp_path / "clean")
    await _fill(clean, 30)
    await clean.record_terminations([oom("web-b", T0 + 200)])
    expected = await clean.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 600)
    await clean.close()
    crashed = HistoryEngine.open(tmp_path / "crashed", Retention())
    for step in range(30):
        crashed.record_scrape(two_pod_scrape(T0 + 15 * step, step), [node("n1", T0 + 15 * step, 900.0, 10**9)])
        if step == 10:
            crashed.maintain()  # one checkpoint part-way, then nothing more is checkpointed
    crashed.record_terminations([oom("web-b", T0 + 200)])
    crashed.connection.close()  # the process dies: no final checkpoint
    reopened = await HistoryStore.open(tmp_path / "crashed")
    assert await reopened.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 600) == expected
    await reopened.close()


async def test_two_stores_fed_the_same_metrics_converge(tmp_path: Path) -> None:
    """Replica A sees every scrape once; replica B sees some twice and in a different batching."""
    first = await HistoryStore.open(tmp_path / "a")
    second = await HistoryStore.open(tmp_path / "b")
    scrapes = [two_pod_scrape(T0 + 15 * step, step) for step in range(20)]
    for scrape in scrapes:
        await first.record_scrape(scrape, [])
    for step, scrape in enumerate(scrapes):
        await second.record_scrape(scrape[:1], [])
        await second.record_scrape(scrape, [])
        if step % 3 == 0:
            await second.record_scrape(scrape, [])
    a = await first.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 300)
    b = await second.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 300)
    series = [
        await store.series(
            SeriesTarget.parse("Deployment/shop/web"), "cpu", window_seconds=600, step_seconds=15, now_seconds=T0 + 300
        )
        for store in (first, second)
    ]
    await first.close()
    await second.close()
    assert a == b
    assert series[0] == series[1]
    assert len(series[0].total) == 20


async def test_terminations_are_recorded_once_and_ooms_bump_memory(store: HistoryStore) -> None:
    await _fill(store, 2)
    assert await store.record_terminations([oom("web-a", T0 + 20), oom("web-a", T0 + 20)]) == 1
    assert await store.record_terminations([oom("web-a", T0 + 20)]) == 0
    history = await store.workload_history(WEB, window_seconds=3600, now_seconds=T0 + 30)
    web_a = history.containers["app"][0]
    assert web_a.oom_kill_times_seconds == (T0 + 20,)
    assert web_a.restart_count_in_window == 1
    expected = ContainerAggregate()
    for step in range(2):
        expected.add_memory(T0 + 15 * step, 100 * MIB + step * MIB)
    expected.record_oom(T0 + 20, 256 * MIB)  # the request (256 MiB) beats the peak: 356 MiB
    assert expected.oom_peak_bytes == 356 * MIB
    assert web_a.memory_histogram == expected.memory.to_domain()


async def test_terminations_outside_the_window_are_left_out(store: HistoryStore) -> None:
    await _fill(store, 1)
    await store.record_terminations([oom("web-a", T0 - 7200)])
    history = await store.workload_history(WEB, window_seconds=3600, now_seconds=T0 + 15)
    assert history.containers["app"][0].oom_kill_times_seconds == ()
    assert history.containers["app"][0].restart_count_in_window == 0


async def test_replicas_are_stored_as_change_points(store: HistoryStore) -> None:
    assert await store.record_replicas(WEB, at(T0), 2, None) == 1
    assert await store.record_replicas(WEB, at(T0 + 15), 2, None) == 0  # unchanged
    assert await store.record_replicas(WEB, at(T0 + 30), 4, 4) == 1
    assert await store.record_replicas(WEB, at(T0 + 30), 4, 4) == 0
    assert await store.record_replicas(WEB, at(T0 + 600), 3, 3) == 1
    await _fill(store, 1)
    history = await store.workload_history(WEB, window_seconds=500, now_seconds=T0 + 600)
    # the window opens at T0 + 100 with 4 replicas (the change at T0 + 30), then 3 at T0 + 600
    assert history.replicas == (UsagePoint(T0 + 100, 4.0), UsagePoint(T0 + 600, 3.0))
    assert history.desired_replicas == (UsagePoint(T0 + 100, 4.0), UsagePoint(T0 + 600, 3.0))


async def test_a_bare_pod_is_its_own_workload(store: HistoryStore) -> None:
    await store.record_scrape([scraped("debug", T0, 5.0, MIB, workload=None)], [])
    histories = await store.all_workload_histories(3600, T0)
    assert set(histories) == {ObjectRef("Pod", "shop", "debug")}


async def test_bulk_histories_have_histograms_and_skip_idle_workloads(store: HistoryStore) -> None:
    old = ObjectRef("Deployment", "shop", "old")
    await store.record_scrape([scraped("old-x", T0 - 2 * DAY, 5.0, MIB, workload=old)], [])
    await _fill(store, 3)
    histories = await store.all_workload_histories(DAY, T0 + 30)
    assert set(histories) == {WEB}
    single = await store.workload_history(WEB, window_seconds=DAY, now_seconds=T0 + 30)
    assert histories[WEB] == single  # a small cluster fits the bulk budget: raw series, like the single read
    assert histories[WEB].series_resolution == "raw"
    assert [len(h.cpu_millicores) for h in histories[WEB].containers["app"]] == [3, 3]
    bare = await store.all_workload_histories(DAY, T0 + 30, include_series=False)
    assert bare[WEB].series_resolution == "none"
    assert all(h.cpu_millicores == () for h in bare[WEB].containers["app"])
    assert [h.cpu_histogram for h in bare[WEB].containers["app"]] == [h.cpu_histogram for h in single.containers["app"]]
    assert set(await store.all_workload_histories(4 * DAY, T0 + 30)) == {WEB, old}


async def test_unknown_workload_has_an_empty_history(store: HistoryStore) -> None:
    history = await store.workload_history(ObjectRef("Deployment", "x", "y"), window_seconds=60, now_seconds=T0)
    assert (history.kind, history.namespace, history.name, history.containers) == ("Deployment", "x", "y", {})


async def test_a_pod_moving_to_its_resolved_owner_keeps_its_history(store: HistoryStore) -> None:
    await store.record_scrape([scraped("web-a", T0, 5.0, MIB, workload=None)], [])
    await store.record_scrape([scraped("web-a", T0 + 15, 6.0, MIB)], [])
    history = await store.workload_history(WEB, window_seconds=3600, now_seconds=T0 + 15)
    assert [p.value for p in history.containers["app"][0].cpu_millicores] == [5.0, 6.0]


async def test_writes_never_block_the_event_loop(store: HistoryStore) -> None:
    """Every database call runs on the store's writer thread, never on the event loop's."""
    threads: list[threading.Thread] = []
    engine = store._engine
    record = engine.record_scrape

    def watched(*args: object) -> int:
        threads.append(threading.current_thread())
        return record(*args)  # type: ignore[arg-type]

    engine.record_scrape = watched  # type: ignore[method-assign,assignment]  # observes; same work
    batch = [
        scraped(f"pod-{i}", T0, float(i), i * MIB, workload=ObjectRef("Deployment", "shop", f"w{i // 10}"))
        for i in range(1_000)
    ]
    assert await store.record_scrape(batch, []) == 1_000
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert threads[0].name.startswith("history-writer")


async def test_a_failed_batch_leaves_nothing_behind(store: HistoryStore, tmp_path: Path) -> None:
    await store.record_scrape(two_pod_scrape(T0, 0), [])
    broken = [scraped("web-c", T0 + 15, 5.0, MIB), scraped("web-a", T0 + 15, 5.0, None)]  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # fails inside the transaction, after web-c got an id
        await store.record_scrape(broken, [])
    assert await store.now_seconds() == T0
    assert _rows(tmp_path, "SELECT pod FROM containers ORDER BY pod") == [("web-a",), ("web-b",)]
    assert await store.record_scrape([scraped("web-c", T0 + 15, 5.0, MIB)], []) == 1
    history = await store.workload_history(WEB, window_seconds=60, now_seconds=T0 + 15)
    assert [len(h.cpu_millicores) for h in history.containers["app"]] == [1, 1, 1]


@pytest.mark.parametrize(("cpu", "memory"), [(float("nan"), MIB), (float("inf"), MIB), (-1.0, MIB), (1.0, -1)])
async def test_impossible_samples_are_dropped(store: HistoryStore, cpu: float, memory: int) -> None:
    assert await store.record_scrape([scraped("web-a", T0, cpu, memory), scraped("web-b", T0, 1.0, MIB)], []) == 1
    history = await store.workload_history(WEB, window_seconds=60, now_seconds=T0)
    assert [h.key.pod for h in history.containers["app"]] == ["web-b"]


async def test_checkpoints_are_written_a_slice_per_pass_and_replay_covers_the_rest(tmp_path: Path) -> None:
    engine = HistoryEngine.open(tmp_path, Retention(checkpoint_interval_seconds=0, checkpoint_batch=1))
    engine.record_scrape(two_pod_scrape(T0, 0), [])
    engine.maintain()
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(1,)]
    engine.record_scrape(two_pod_scrape(T0 + 15, 1), [])
    engine.maintain()  # finishes the first pass with web-b; web-a's checkpoint is a sample behind
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(2,)]
    engine.connection.close()  # die here: reopening must replay web-a's second sample
    reopened = await HistoryStore.open(tmp_path)
    history = await reopened.workload_history(WEB, window_seconds=60, now_seconds=T0 + 15)
    await reopened.close()
    assert [h.cpu_histogram.total_samples for h in history.containers["app"] if h.cpu_histogram] == [2, 2]


async def test_a_database_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    await (await HistoryStore.open(tmp_path)).close()
    with closing(sqlite3.connect(tmp_path / DATABASE_FILE)) as connection, connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaError, match="has schema 99, this version needs 2: move the file away"):
        await HistoryStore.open(tmp_path)


def test_a_maintenance_pass_is_a_series_of_short_steps(tmp_path: Path) -> None:
    engine = HistoryEngine.open(
        tmp_path, Retention(checkpoint_interval_seconds=0, checkpoint_batch=3, checkpoint_step=2)
    )
    pods = [scraped(f"web-{index}", T0, 10.0, 64 * MIB) for index in range(5)]
    engine.record_scrape(pods, [])
    steps = engine.maintenance_steps()
    assert next(steps) == "prune"
    assert next(steps) == "checkpoint"
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(2,)]
    engine.record_scrape([scraped("web-0", T0 + 15, 20.0, 64 * MIB)], [])  # a scrape between two steps
    assert list(steps) == ["checkpoint"]  # the pass's budget (3) ends it; the rest waits for the next pass
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(3,)]
    engine.maintain()
    assert _rows(tmp_path, "SELECT COUNT(*) FROM histograms") == [(5,)]
    engine.close()


async def test_a_scrape_queued_during_maintenance_runs_before_the_rest_of_the_pass(tmp_path: Path) -> None:
    store = await HistoryStore.open(tmp_path, retention=Retention(checkpoint_interval_seconds=0, checkpoint_step=1))
    order: list[str] = []
    engine = store._engine
    steps, record = engine.maintenance_steps, engine.record_scrape

    def traced_steps() -> Iterator[str]:
        for step in steps():
            order.append(step)
            time.sleep(0.01)  # each step takes a while, so the next scrape arrives mid-pass
            yield step

    def traced_record(containers: Sequence[ScrapedContainer], nodes: Sequence[NodeUsage]) -> int:
        order.append("scrape")
        return record(containers, nodes)

    engine.maintenance_steps = traced_steps  # type: ignore[method-assign]
    engine.record_scrape = traced_record  # type: ignore[method-assign]
    await store.record_scrape([scraped(f"web-{index}", T0, 10.0, 64 * MIB) for index in range(6)], [])
    await asyncio.sleep(0.015)
    await store.record_scrape([scraped("web-0", T0 + 15, 20.0, 64 * MIB)], [])
    for _ in range(200):
        if order.count("checkpoint") >= 6:
            break
        await asyncio.sleep(0.01)
    await store.close()
    second = order.index("scrape", 1)
    assert order[0] == "scrape"
    assert "checkpoint" in order[second:], f"the scrape waited for the whole pass: {order}"
    assert order.count("checkpoint") >= 6
