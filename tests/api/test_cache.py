"""The view cache: rebuilt only after changes, and off the event loop for large clusters."""

from __future__ import annotations

import asyncio

import pytest

from k8s_optimizer.api.cache import SharedBuilds, ViewCache
from k8s_optimizer.api.listing import ServiceQuery
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.model import AnalysisReport
from tests.api.fakes import FakeLive, build_report, build_snapshot, web_pod


def test_rebuilds_only_after_a_change() -> None:
    live = FakeLive()
    cache = ViewCache(live, min_rebuild_seconds=0.0)
    first = cache.current()
    assert cache.current() is first
    live.put_pod(web_pod(5))
    second = cache.current()
    assert second is not first
    assert ("shop", "web-7d4b9-5") in second.snapshot.pods
    cache.report = build_report()
    assert cache.current() is not second  # a new analysis report also refreshes the view
    assert cache.current().recs_by_id.keys() == {"rec-web-app"}


async def test_large_cluster_serves_the_previous_view_while_rebuilding() -> None:
    live = FakeLive(build_snapshot(replicas=2100))
    cache = ViewCache(live, min_rebuild_seconds=0.0)
    first = cache.current()
    live.put_pod(web_pod(9999))
    assert cache.current() is first
    assert cache._rebuild is not None
    seq, rebuilt = await cache._rebuild
    assert seq == live.seq
    assert cache.current() is rebuilt
    assert len(rebuilt.topology.service_pods[("shop", "web")]) == 2101


async def test_listing_follows_the_view() -> None:
    live = FakeLive()
    cache = ViewCache(live, min_rebuild_seconds=0.0)
    first = await cache.listing()
    assert await cache.listing() is first
    assert cache.ready_listing() is first
    live.put_pod(web_pod(5))
    assert cache.ready_listing() is None  # the view moved on: the fast path must not answer from `first`
    second = await cache.listing()
    assert second is not first
    assert second.context is cache.current()


async def test_large_cluster_serves_the_previous_listing_while_rebuilding() -> None:
    live = FakeLive(build_snapshot(replicas=2100))
    cache = ViewCache(live, min_rebuild_seconds=0.0)
    first = await cache.listing()  # nothing to serve yet: waits for the worker thread
    assert first.context is cache.current()
    live.put_pod(web_pod(9999))
    assert await cache.listing() is first  # the next one builds in the background
    assert cache._rebuild is not None
    await cache._rebuild
    assert await cache.listing() is first  # view rebuilt; its listing is being built now
    assert cache._listing_build is not None
    rebuilt = await cache._listing_build
    assert await cache.listing() is rebuilt
    assert rebuilt.summaries(ServiceQuery(namespace="shop", sort="name")).items[1].endpoints.ready == 2100


async def test_concurrent_callers_share_one_threaded_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """50 WebSocket subscribes arriving together used to start 50 builds of the same 10,000-pod view."""
    live = FakeLive(build_snapshot(replicas=2100))
    cache = ViewCache(live, min_rebuild_seconds=0.0)
    previous_of_each_build: list[ViewContext | None] = []
    real = ViewContext.build

    def counting(
        snapshot: ClusterSnapshot, report: AnalysisReport | None, previous: ViewContext | None = None
    ) -> ViewContext:
        previous_of_each_build.append(previous)
        return real(snapshot, report, previous)

    monkeypatch.setattr(ViewContext, "build", counting)
    results = await asyncio.gather(*(cache.fresh() for _ in range(5)))
    assert previous_of_each_build == [None]
    assert all(result == results[0] for result in results)
    live.put_pod(web_pod(9999))
    seq, context = await cache.fresh()
    assert seq == live.seq
    assert previous_of_each_build == [None, results[0][1]]  # a new seq is a new build, from the last view
    assert len(context.topology.service_pods[("shop", "web")]) == 2101


async def test_shared_builds_run_once_per_key_forget_failures_and_keep_the_latest() -> None:
    calls: list[str] = []
    adopted: list[str] = []

    def build(value: str) -> str:
        calls.append(value)
        if value == "bad":
            raise ValueError("broken build")
        return value.upper()

    builds: SharedBuilds[str, str] = SharedBuilds(keep=2)
    first = builds.start("a", build, "a", adopt=adopted.append)
    assert builds.start("a", build, "a", adopt=adopted.append) is first
    assert list(await asyncio.gather(builds.get("a", build, "a"), first)) == ["A", "A"]
    assert (calls, adopted) == (["a"], ["A"])  # one build, adopted once
    with pytest.raises(ValueError, match="broken build"):
        await builds.get("x", build, "bad")
    with pytest.raises(ValueError, match="broken build"):
        await builds.get("x", build, "bad")  # a failure is not cached: built (and failed) again
    assert calls == ["a", "bad", "bad"]
    await builds.get("b", build, "b")
    await builds.get("c", build, "c")  # keep=2: "a" is dropped
    await builds.get("a", build, "a")
    assert calls == ["a", "bad", "bad", "b", "c", "a"]
