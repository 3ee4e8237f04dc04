"""Issue 14 #1: the token never reaches a log, not even when a client puts it in the URL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from k8s_optimizer.api.redact import REDACTED, log_config, redact
from k8s_optimizer.api.ws.handshake import PROTOCOL, token_protocol
from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.api.fakes import FakeHistory, FakeLive, FakeWriter, build_report

SECRET = "Zq9-s3cret.T0ken_value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /ws?token=abc123 HTTP/1.1", "GET /ws?token=[redacted] HTTP/1.1"),
        ("/api/v1/x?a=1&apply_token=abc&b=2", "/api/v1/x?a=1&apply_token=[redacted]&b=2"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
        ("{'authorization': 'Bearer abc'}", "{'authorization': 'Bearer [redacted]'}"),
        ("headers: authorization=xyz", "headers: authorization=[redacted]"),
        ("offered bearer xyz", "offered bearer [redacted]"),
        (
            "protocols k8s-optimizer.v1, base64url.bearer.authorization.k8s.io.czNjcmV0",
            "protocols k8s-optimizer.v1, base64url.bearer.authorization.k8s.io.[redacted]",
        ),
        ("GET /api/v1/services?namespace=shop", "GET /api/v1/services?namespace=shop"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """dictConfig replaces handlers process-wide: put the test session's back afterwards."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in names}
    saved_propagate = {name: logging.getLogger(name).propagate for name in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = saved_propagate[name]


def test_the_token_never_appears_in_the_logs(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    report = build_report()
    app = create_app(
        Settings(data_dir=tmp_path, apply_enabled=True, apply_token=SECRET),
        live=FakeLive(),
        history=FakeHistory(),
        analyzer=lambda snapshot, histories, now: report,
        writer=FakeWriter(),
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=log_config("debug"), lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    host = f"127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        with pytest.raises(InvalidStatus):  # refused: the token is never accepted in the URL
            connect(f"ws://{host}/ws?token={SECRET}").close()
        with connect(f"ws://{host}/ws", subprotocols=[Subprotocol(PROTOCOL), Subprotocol(token_protocol(SECRET))]):
            pass
        auth = {"Authorization": f"Bearer {SECRET}"}
        assert httpx.get(f"http://{host}/api/v1/services?token={SECRET}", headers=auth).status_code == 200
        httpx.post(f"http://{host}/api/v1/recommendations/rec-web-app/dry-run", headers=auth)
        logging.getLogger("k8s_optimizer.test").warning("echoing headers: {'authorization': 'Bearer %s'}", SECRET)
    finally:
        server.should_exit = True
        thread.join(10)
    out, err = capfd.readouterr()
    logs = out + err
    assert f"GET /api/v1/services?token={REDACTED} HTTP/1.1" in logs  # the access log is on and was filtered
    assert f"'authorization': 'Bearer {REDACTED}'" in logs
    assert SECRET not in logs
    assert token_protocol(SECRET).rsplit(".", 1)[1] not in logs
