"""The analysis scheduler: analyses once synced, again after every metrics tick, survives a failing pass."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.live.scheduler import AnalysisScheduler, snapshot_now_seconds
from k8s_optimizer.recommend.model import AnalysisReport
from tests.api.fakes import NOW, FakeLive, build_report, build_snapshot
from tests.live.conftest import eventually


def test_now_is_the_clusters_clock() -> None:
    assert snapshot_now_seconds(build_snapshot()) == NOW.timestamp()


async def test_analyses_once_synced_then_after_each_metrics_tick() -> None:
    live = FakeLive(synced=False)
    report = build_report()
    calls: list[float] = []

    def analyzer(
        snapshot: ClusterSnapshot, histories: Mapping[ObjectRef, WorkloadHistory], now: float
    ) -> AnalysisReport:
        calls.append(now)
        return report

    scheduler = AnalysisScheduler(live, analyzer, fallback_seconds=60.0)
    told: list[tuple[AnalysisReport | None, AnalysisReport]] = []
    scheduler.add_listener(lambda previous, new: told.append((previous, new)))
    tasks = [asyncio.create_task(scheduler.watch_ticks()), asyncio.create_task(scheduler.run())]
    try:
        await asyncio.sleep(0.05)
        assert calls == []  # not synced: nothing to analyse yet
        live.synced = True
        live.log.publish("modified", "MetricsTick", "", "", None)
        await eventually(lambda: len(calls) == 1, what="first analysis")
        assert (scheduler.report, scheduler.runs, told) == (report, 1, [(None, report)])
        live.log.publish("modified", "Pod", "shop", "web-7d4b9-0", None)
        await asyncio.sleep(0.05)
        assert len(calls) == 1  # other changes do not trigger a pass
        live.log.publish("modified", "MetricsTick", "", "", None)
        await eventually(lambda: len(calls) == 2, what="second analysis")
        assert told[-1] == (report, report)
        assert calls == [NOW.timestamp(), NOW.timestamp()]
    finally:
        for task in tasks:
            task.cancel()


async def test_a_failing_pass_keeps_the_previous_report_and_the_loop_alive() -> None:
    live = FakeLive()
    report = build_report()
    outcomes: list[AnalysisReport | None] = [report, None, report]

    def analyzer(
        snapshot: ClusterSnapshot, histories: Mapping[ObjectRef, WorkloadHistory], now: float
    ) -> AnalysisReport:
        outcome = outcomes.pop(0)
        if outcome is None:
            raise ValueError("a bug in one pass")
        return outcome

    scheduler = AnalysisScheduler(live, analyzer, fallback_seconds=60.0)
    tasks = [asyncio.create_task(scheduler.watch_ticks()), asyncio.create_task(scheduler.run())]
    try:
        await eventually(lambda: scheduler.runs == 1, what="first analysis")
        live.log.publish("modified", "MetricsTick", "", "", None)
        await eventually(lambda: len(outcomes) == 1, what="failing analysis")
        assert (scheduler.report, scheduler.runs) == (report, 1)
        live.log.publish("modified", "MetricsTick", "", "", None)
        await eventually(lambda: scheduler.runs == 2, what="analysis after the failure")
        assert outcomes == []
    finally:
        for task in tasks:
            task.cancel()
