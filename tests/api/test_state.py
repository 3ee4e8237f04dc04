"""The view cache: rebuilt only after changes, and off the event loop for large clusters."""

from __future__ import annotations

from k8s_optimizer.api.state import ViewCache, snapshot_now_seconds
from tests.api.fakes import NOW, FakeLive, build_report, build_snapshot, web_pod


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
    assert len(rebuilt.service_pods[("shop", "web")]) == 2101


def test_now_is_the_clusters_clock() -> None:
    assert snapshot_now_seconds(build_snapshot()) == NOW.timestamp()
