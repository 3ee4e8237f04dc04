"""The app under a real uvicorn server: the WebSocket upgrade works (the original's never did), Origin is enforced."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.api.fakes import FakeHistory, FakeLive, FakeWriter, build_report


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    report = build_report()
    app = create_app(
        Settings(data_dir=Path(tmp_path_factory.mktemp("serve"))),
        live=FakeLive(),
        history=FakeHistory(),
        analyzer=lambda snapshot, histories, now: report,
        writer=FakeWriter(),
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws_max_size=64 * 1024, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_curl_lists_services(server_url: str) -> None:
    response = httpx.get(f"http://{server_url}/api/v1/services")
    assert response.status_code == 200
    assert [s["name"] for s in response.json()["items"]] == ["lonely", "web"]


def test_websocket_upgrade_and_snapshot(server_url: str) -> None:
    with connect(f"ws://{server_url}/ws", origin=Origin(f"http://{server_url}")) as ws:
        ws.send(json.dumps({"op": "subscribe", "topics": ["services"]}))
        message = json.loads(ws.recv(timeout=5))
        assert (message["type"], [s["name"] for s in message["data"]["services"]]) == ("snapshot", ["lonely", "web"])


def test_cross_site_websocket_is_refused(server_url: str) -> None:
    evil = Origin("https://evil.example")
    with pytest.raises(InvalidStatus) as refused, connect(f"ws://{server_url}/ws", origin=evil):
        pass
    assert refused.value.response.status_code == 403


def test_oversized_frame_closes_with_1009(server_url: str) -> None:
    with connect(f"ws://{server_url}/ws", max_size=None) as ws:
        ws.send("x" * (70 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009  # message too big: uvicorn enforces ws_max_size
