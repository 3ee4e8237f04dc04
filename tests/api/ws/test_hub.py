"""The WebSocket hub end to end: snapshot then deltas, resume with `since` and `epoch`, slow-consumer resync, bad
frames, rate limit, batching."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import cast

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.api.cache import ViewCache
from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.api.ports import LiveModel
from k8s_optimizer.api.ws.hub import Hub
from k8s_optimizer.domain.changes import Change
from k8s_optimizer.live.feed import ChangeLog
from tests.api.conftest import Backend, BackendFactory
from tests.api.fakes import FakeLive, build_report, web_pod, web_recommendation
from tests.api.ws.conftest import receive


def test_snapshot_then_delta_on_scale(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["workloads", "services"], "namespace": "shop"})
        snapshot = receive(ws, "snapshot")
        assert (snapshot["reason"], snapshot["topics"], snapshot["namespace"]) == (
            "subscribe",
            ["workloads", "services"],
            "shop",
        )
        assert [w["replicas"] for w in snapshot["data"]["workloads"]] == [2]
        assert [s["name"] for s in snapshot["data"]["services"]] == ["lonely", "web"]
        assert snapshot["data"]["pods"] is None
        started = time.monotonic()
        fast_backend.in_loop(fast_backend.live.scale, 3)
        delta = receive(ws, "delta")
        assert time.monotonic() - started < 1.0
        assert (delta["topic"], delta["change"], delta["kind"], delta["name"]) == (
            "workloads",
            "modified",
            "Deployment",
            "web",
        )
        assert delta["object"]["replicas"] == 3
        assert delta["seq"] > snapshot["seq"]
        service = receive(ws, "delta")
        assert (service["topic"], service["name"], service["object"]["workloads"][0]["replicas"]) == (
            "services",
            "web",
            3,
        )


def test_pod_delta_and_namespace_filter(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"], "namespace": "default"})
        assert receive(ws, "snapshot")["data"]["pods"] == []
        ws.send_json({"op": "subscribe", "topics": ["pods"], "namespace": "shop"})
        assert len(receive(ws, "snapshot")["data"]["pods"]) == 2
        fast_backend.in_loop(fast_backend.live.put_pod, web_pod(5))
        added = receive(ws, "delta")
        assert (added["change"], added["name"], added["object"]["ip"]) == ("added", "web-7d4b9-5", "10.244.1.15")
        fast_backend.in_loop(fast_backend.live.delete_pod, "shop", "web-7d4b9-5")
        deleted = receive(ws, "delta")
        assert (deleted["change"], deleted["name"], deleted["object"]) == ("deleted", "web-7d4b9-5", None)


def test_resume_with_since_replays_missed_deltas(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"]})
        snapshot = receive(ws, "snapshot")
        seen, epoch = snapshot["seq"], snapshot["epoch"]
    fast_backend.in_loop(fast_backend.live.put_pod, web_pod(7))
    fast_backend.in_loop(fast_backend.live.put_pod, web_pod(8))
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": seen, "epoch": epoch})
        first, second = receive(ws, "delta"), receive(ws, "delta")
        assert [(m["name"], m["seq"]) for m in (first, second)] == [
            ("web-7d4b9-7", seen + 1),
            ("web-7d4b9-8", seen + 2),
        ]
        ws.send_json({"op": "ping"})
        assert receive(ws, "pong")["seq"] == seen + 2


def test_resume_too_old_gets_snapshot(make_backend: BackendFactory) -> None:
    live = FakeLive()
    live.log = ChangeLog(size=2)
    backend = make_backend(live=live)
    for index in range(5, 9):
        backend.in_loop(live.put_pod, web_pod(index))
    with backend.client.websocket_connect("/ws") as ws:
        epoch = backend.client.app.state.api.hub.epoch  # type: ignore[attr-defined]
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": 1, "epoch": epoch})
        snapshot = receive(ws, "snapshot")
        assert (snapshot["reason"], snapshot["seq"], len(snapshot["data"]["pods"])) == ("since-expired", 4, 6)


def test_slow_consumer_is_resynced(fast_backend: Backend) -> None:
    hub = fast_backend.client.app.state.api.hub  # type: ignore[attr-defined]
    hub.client_queue_size = 3

    def burst() -> None:
        for index in range(10, 20):
            fast_backend.live.put_pod(web_pod(index))

    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"]})
        receive(ws, "snapshot")
        fast_backend.in_loop(burst)
        resync = receive(ws, "snapshot")
        assert (resync["reason"], len(resync["data"]["pods"])) == ("resync", 12)
        assert resync["seq"] == fast_backend.live.seq
    assert "optimizer_ws_resyncs_total 1" in fast_backend.client.get("/metrics").text


@pytest.mark.parametrize(
    ("frame", "code", "detail"),
    [
        ("not json", "bad-json", "frame is not JSON"),
        ('{"op": "dance"}', "bad-message", "op: Input tag 'dance' found using 'op' does not match"),
        ('{"op": "subscribe", "topics": ["secrets"]}', "bad-message", "subscribe.topics.0: Input should be"),
        ('{"op": "subscribe", "topics": []}', "bad-message", "subscribe.topics: List should have at least 1 item"),
        (
            '{"op": "subscribe", "topics": ["pods"], "namespace": "Bad_NS"}',
            "bad-message",
            "subscribe.namespace: String should match pattern",
        ),
        ('{"op": "subscribe", "topics": ["pods"], "since": -1}', "bad-message", "subscribe.since: Input should be"),
        ("x" * 70_000, "too-large", "frames are limited to 65536 bytes"),
    ],
)
def test_bad_frames_get_errors_and_socket_stays_open(client: TestClient, frame: str, code: str, detail: str) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text(frame)
        error = receive(ws, "error")
        assert error["code"] == code
        assert error["detail"].startswith(detail), error
        ws.send_json({"op": "ping"})
        assert receive(ws, "pong")["type"] == "pong"


def test_rate_limit(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        for _ in range(25):
            ws.send_json({"op": "ping"})
        kinds = [ws.receive_json()["type"] for _ in range(25)]
        assert kinds.count("pong") == 20
        assert kinds.count("error") == 5


def test_unsubscribe_stops_deltas(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods", "workloads"]})
        receive(ws, "snapshot")
        ws.send_json({"op": "unsubscribe", "topics": ["pods"]})
        ws.send_json({"op": "ping"})
        receive(ws, "pong")
        fast_backend.in_loop(fast_backend.live.put_pod, web_pod(9))
        fast_backend.in_loop(fast_backend.live.scale, 4)
        assert receive(ws, "delta")["topic"] == "workloads"


def test_metrics_recommendations_and_anomalies_topics(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["metrics", "recommendations", "anomalies"]})
        data = receive(ws, "snapshot")["data"]
        assert [p["cpu_millicores"] for p in data["metrics"]["pods"]] == [100.0, 100.0]
        assert [s["name"] for s in data["metrics"]["services"]] == ["web"]
        assert [r["id"] for r in data["recommendations"]] == ["rec-web-app"]
        assert [a["kind"] for a in data["anomalies"]] == ["spike"]
        fast_backend.in_loop(fast_backend.live.log.publish, "modified", "MetricsTick", "", "", None)
        tick = receive(ws, "metrics")
        assert tick["services"][0]["cpu_millicores"] == 200.0


def test_ws_client_gauge(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "ping"})
        receive(ws, "pong")
        assert "optimizer_ws_clients 1" in fast_backend.client.get("/metrics").text


async def test_a_change_after_a_quiet_spell_is_flushed_at_once_and_a_burst_is_batched() -> None:
    """The batching delay was a fixed 50 ms of every delta's latency; now only bursts wait for it."""
    hub = Hub(cast(LiveModel, None), cast(ViewCache, None), ApiMetrics(), flush_seconds=30.0)
    flushed: list[list[int]] = []

    async def record() -> None:
        flushed.append([change.seq for change in hub._pending])
        hub._pending = []

    hub.flush = record  # type: ignore[method-assign]
    flusher = asyncio.create_task(hub.run_flusher())
    try:
        hub._pending.append(Change(1, "modified", "Deployment", "shop", "web", None))
        hub._wake.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert flushed == [[1]]  # at once, not 30 s later
        hub._pending += [
            Change(2, "modified", "Pod", "shop", "a", None),
            Change(3, "modified", "Pod", "shop", "b", None),
        ]
        hub._wake.set()
        await asyncio.sleep(0.05)
        assert flushed == [[1]]  # a second batch right behind the first waits out flush_seconds
    finally:
        flusher.cancel()


def test_resume_against_a_restarted_backend_gets_a_fresh_snapshot_without_ghosts(make_backend: BackendFactory) -> None:
    """Issue 14 #3: seq is per process, so a client's `since` from before a restart names unrelated changes."""
    before = make_backend()
    before.in_loop(before.live.put_pod, web_pod(7))
    with before.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"]})
        snapshot = receive(ws, "snapshot")
    seen, epoch = snapshot["seq"], snapshot["epoch"]
    assert "web-7d4b9-7" in [p["name"] for p in snapshot["data"]["pods"]]
    # The restarted process: its own numbering has passed the client's seq, and web-7d4b9-7 is gone.
    after = make_backend()
    for index in range(10, 14):
        after.in_loop(after.live.put_pod, web_pod(index))
    after.in_loop(after.live.delete_pod, "shop", "web-7d4b9-13")
    assert after.live.seq > seen
    with after.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": seen, "epoch": epoch})
        resumed = receive(ws, "snapshot")
    assert resumed["epoch"] != epoch
    assert (resumed["reason"], resumed["seq"]) == ("epoch-changed", after.live.seq)
    assert [p["name"] for p in resumed["data"]["pods"]] == [
        "web-7d4b9-0",
        "web-7d4b9-1",
        "web-7d4b9-10",
        "web-7d4b9-11",
        "web-7d4b9-12",
    ]


def test_a_since_without_its_epoch_gets_a_snapshot(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": 0})
        assert receive(ws, "snapshot")["reason"] == "epoch-changed"


def test_every_message_carries_the_epoch(fast_backend: Backend) -> None:
    epoch = fast_backend.client.app.state.api.hub.epoch  # type: ignore[attr-defined]
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods", "metrics", "recommendations", "anomalies"]})
        seen = [receive(ws, "snapshot")]
        fast_backend.in_loop(fast_backend.live.put_pod, web_pod(5))
        seen.append(receive(ws, "delta"))
        fast_backend.in_loop(fast_backend.live.log.publish, "modified", "MetricsTick", "", "", None)
        seen.append(receive(ws, "metrics"))
        ws.send_json({"op": "ping"})
        seen.append(receive(ws, "pong"))
        ws.send_text("not json")
        seen.append(receive(ws, "error"))
        seen.append(ws.receive_json())  # a heartbeat after 0.5 s of silence
    assert [m["type"] for m in seen] == ["snapshot", "delta", "metrics", "pong", "error", "heartbeat"]
    assert {m["epoch"] for m in seen} == {epoch}


def test_a_changed_analysis_reaches_subscribers_as_recommendations_and_anomalies(fast_backend: Backend) -> None:
    hub = fast_backend.client.app.state.api.hub  # type: ignore[attr-defined]
    previous = build_report()
    other = dataclasses.replace(web_recommendation(), id="rec-other")
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["recommendations", "anomalies"]})
        receive(ws, "snapshot")
        fast_backend.in_loop(hub.publish_analysis, previous, build_report((other,)))
        message = receive(ws, "recommendations")
    assert ([r["id"] for r in message["items"]], message["added"], message["removed"]) == (
        ["rec-other"],
        ["rec-other"],
        ["rec-web-app"],
    )
    assert message["epoch"] == hub.epoch
