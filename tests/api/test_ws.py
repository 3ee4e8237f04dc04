"""The WebSocket protocol: snapshot then deltas, resume with `since`, slow-consumer resync, bad frames, auth."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from k8s_optimizer.api import ws as ws_module
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.api.ws import changes_to_messages
from k8s_optimizer.domain.changes import Change
from k8s_optimizer.live.feed import ChangeLog
from tests.api.conftest import TOKEN, Backend, BackendFactory
from tests.api.fakes import FakeLive, build_report, build_snapshot, web_pod


def receive(ws: WebSocketTestSession, wanted: str, timeout_seconds: float = 5.0) -> dict[str, Any]:
    """The next message of type `wanted`, skipping heartbeats (other types fail the test)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == "heartbeat":
            continue
        assert message["type"] == wanted, message
        return message
    pytest.fail(f"no {wanted} message within {timeout_seconds}s")


@pytest.fixture
def fast_backend(make_backend: BackendFactory) -> Backend:
    backend = make_backend()
    backend.client.app.state.api.hub.heartbeat_seconds = 0.5  # type: ignore[attr-defined]
    return backend


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
        seen = receive(ws, "snapshot")["seq"]
    fast_backend.in_loop(fast_backend.live.put_pod, web_pod(7))
    fast_backend.in_loop(fast_backend.live.put_pod, web_pod(8))
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": seen})
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
        ws.send_json({"op": "subscribe", "topics": ["pods"], "since": 1})
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


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example", False),
        ("http://testserver", True),
        ("https://testserver", False),  # same host, another scheme: another origin
        ("https://ui.example", True),
        (None, True),
    ],
)
def test_origin_check(make_backend: BackendFactory, origin: str | None, allowed: bool) -> None:
    client = make_backend(cors_origins=["https://ui.example"]).client
    headers = {"origin": origin} if origin else {}
    if allowed:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_json({"op": "ping"})
            assert receive(ws, "pong")["type"] == "pong"
    else:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws", headers=headers):
            pass
        assert refused.value.code == 1008


def test_token_required_when_apply_enabled(make_backend: BackendFactory) -> None:
    client = make_backend(apply_enabled=True, apply_token=TOKEN).client
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
        pass
    assert refused.value.code == 1008
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws?token=wrong"):
        pass
    with client.websocket_connect(f"/ws?token={TOKEN}") as ws:
        ws.send_json({"op": "ping"})
        assert receive(ws, "pong")["type"] == "pong"


def test_ws_client_gauge(fast_backend: Backend) -> None:
    with fast_backend.client.websocket_connect("/ws") as ws:
        ws.send_json({"op": "ping"})
        receive(ws, "pong")
        assert "optimizer_ws_clients 1" in fast_backend.client.get("/metrics").text


def test_snapshot_helper_is_pure() -> None:
    # A resync never mutates the report or snapshot it reads.
    live = FakeLive()
    before = dataclasses.replace(live.current)
    assert before == live.current


def test_pod_change_touches_its_service_through_the_index_and_encodes_once() -> None:
    snapshot = build_snapshot()
    context = ViewContext.build(snapshot, build_report())
    assert context.pod_services[("shop", "web-7d4b9-0")] == ["web"]
    pod = snapshot.pods[("shop", "web-7d4b9-0")]
    gone = web_pod(42)  # deleted: not in the view, found by scanning the selectors instead
    changes = [
        Change(7, "modified", "Pod", "shop", pod.name, pod),
        Change(8, "deleted", "Pod", "shop", gone.name, gone),
    ]
    messages = changes_to_messages(changes, context)
    assert [(m.topic, m.payload["kind"], m.payload["name"], m.seq) for m in messages] == [
        ("pods", "Pod", "web-7d4b9-0", 7),
        ("pods", "Pod", "web-7d4b9-42", 8),
        ("services", "Service", "web", 8),
    ]
    for message in messages:
        assert json.loads(message.text) == message.payload


def test_clients_asking_for_the_same_snapshot_share_one_build(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[tuple[Any, ...]] = []
    real = ws_module._snapshot_text

    def counting(*args: Any) -> str:
        builds.append(args[1:])
        return real(*args)

    monkeypatch.setattr(ws_module, "_snapshot_text", counting)
    texts = []
    for _ in range(3):
        with backend.client.websocket_connect("/ws") as ws:
            ws.send_json({"op": "subscribe", "topics": ["services", "workloads"], "namespace": "shop"})
            texts.append(receive(ws, "snapshot"))
    assert texts[0] == texts[1] == texts[2]
    assert [w["name"] for w in texts[0]["data"]["workloads"]] == ["web"]
    assert builds == [(texts[0]["seq"], "subscribe", ("services", "workloads"), "shop")]


async def test_a_change_after_a_quiet_spell_is_flushed_at_once_and_a_burst_is_batched() -> None:
    """The batching delay was a fixed 50 ms of every delta's latency; now only bursts wait for it."""
    hub = ws_module.Hub(cast(ApiState, None), flush_seconds=30.0)
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
