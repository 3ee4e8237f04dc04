"""Helpers for the WebSocket tests: read the next message of a type, a backend with fast heartbeats."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession

from tests.api.conftest import Backend, BackendFactory


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
