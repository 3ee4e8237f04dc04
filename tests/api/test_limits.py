"""Limits the backend enforces on its own port, nothing in front (issue 14, finding 2).

The reproduction is the finding's: raw sockets to `k8s-optimizer serve` (the shipped process, the
bounded protocol of serving.py), eight requests with 64 MB headers, a 200 KB chunked body, a long
request line, more WebSocket clients than allowed. Before the fix RSS went from 147 MB to 731 MB and the
chunked body passed the 64 KiB body limit.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.dashboard_servers import BackendServer
from tests.reliability.stack import rss_bytes

MB = 1024 * 1024
UNREACHABLE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendServer]:
    """A real backend whose cluster is unreachable: the limits hold before anything else works."""
    root = Path(tmp_path_factory.mktemp("limits"))
    (root / "kubeconfig").write_text(UNREACHABLE_KUBECONFIG)
    server = BackendServer(
        root / "kubeconfig",
        root / "data",
        extra_env={"OPTIMIZER_MAX_WEBSOCKET_CLIENTS": "2", "OPTIMIZER_ALLOWED_HOSTS": ""},
    )
    server.start_and_wait()
    yield server
    server.stop()


def _exchange(port: int, head: bytes, body_pieces: Iterator[bytes] | None = None) -> bytes:
    """Send a request piece by piece, stopping once the server answers or resets; the bytes answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        received = b""
        try:
            sock.sendall(head)
            for piece in body_pieces or iter(()):
                if select.select([sock], [], [], 0)[0]:
                    break
                sock.sendall(piece)
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        return received


def _complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found and lengths) and len(body) >= int(lengths[0])


def _status_and_problem(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def _header_stream(total_bytes: int) -> Iterator[bytes]:
    piece = b"a" * MB
    for _ in range(total_bytes // MB):
        yield piece


def test_eight_64mb_headers_are_refused_with_431_and_memory_stays_flat(backend: BackendServer) -> None:
    assert backend.process is not None
    before = rss_bytes(backend.process.pid)
    answers = [
        _exchange(backend.port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ", _header_stream(64 * MB))
        for _ in range(8)
    ]
    grown = rss_bytes(backend.process.pid) - before
    assert grown < 32 * MB, f"RSS grew {grown / MB:.0f} MiB"  # was +584 MB before the head was bounded
    answered = [_status_and_problem(a) for a in answers if a]
    assert answered, "no 64 MB request got an answer"
    assert {status for status, _ in answered} == {431}
    assert httpx.get(f"{backend.url}/health").status_code == 200


def test_a_head_over_the_limit_gets_an_exact_431(backend: BackendServer) -> None:
    answer = _exchange(
        backend.port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    )
    assert _status_and_problem(answer) == (
        431,
        {
            "type": "about:blank",
            "title": "Request Header Fields Too Large",
            "status": 431,
            "detail": "request head: at most 32768 bytes",
        },
    )


def test_a_head_under_the_limit_is_served(backend: BackendServer) -> None:
    response = httpx.get(f"{backend.url}/health", headers={"X-Big": "a" * 30_000})
    assert response.status_code == 200


def test_a_long_request_line_gets_414(backend: BackendServer) -> None:
    answer = _exchange(backend.port, b"GET /health?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert _status_and_problem(answer) == (
        414,
        {"type": "about:blank", "title": "URI Too Long", "status": 414, "detail": "request target: at most 8192 bytes"},
    )


def _chunks(total_bytes: int, size: int = 4096) -> Iterator[bytes]:
    for _ in range(total_bytes // size):
        yield b"%x\r\n" % size + b"b" * size + b"\r\n"
    yield b"0\r\n\r\n"


def test_a_200kb_chunked_body_gets_413(backend: BackendServer) -> None:
    head = (
        b"POST /api/v1/changes/1/rollback HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = _exchange(backend.port, head, _chunks(200 * 1024))
    assert _status_and_problem(answer) == (
        413,
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": 413,
            "detail": "request body: at most 65536 bytes",
        },
    )


def test_a_declared_length_over_the_limit_gets_413_before_the_body(backend: BackendServer) -> None:
    head = b"POST /api/v1/changes/1/rollback HTTP/1.1\r\nHost: localhost\r\nContent-Length: 200000\r\n\r\n"
    status, _ = _status_and_problem(_exchange(backend.port, head))
    assert status == 413


def test_a_small_chunked_body_reaches_the_route(backend: BackendServer) -> None:
    head = b"POST /api/v1/changes/1/rollback HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, problem = _status_and_problem(_exchange(backend.port, head, _chunks(8192)))
    assert (status, problem["detail"]) == (
        403,
        "apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it)",
    )


def test_websocket_clients_beyond_the_limit_are_refused(backend: BackendServer) -> None:
    url = f"ws://127.0.0.1:{backend.port}/ws"
    with connect(url) as first, connect(url) as second:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 403
        first.send(json.dumps({"op": "ping"}))
        second.send(json.dumps({"op": "ping"}))
        assert json.loads(first.recv(timeout=5))["type"] == "pong"
        assert json.loads(second.recv(timeout=5))["type"] == "pong"
    deadline = time.monotonic() + 5
    while True:  # the slots are given back once the two close
        try:
            with connect(url, open_timeout=5):
                break
        except InvalidStatus:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_connections_beyond_the_limit_get_503(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text(UNREACHABLE_KUBECONFIG)
    server = BackendServer(tmp_path / "kubeconfig", tmp_path / "data", extra_env={"OPTIMIZER_MAX_CONNECTIONS": "8"})
    server.start_and_wait()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(8)]
    try:
        time.sleep(0.2)  # let the server accept them all
        refused = httpx.get(f"{server.url}/health")
        assert (refused.status_code, refused.text) == (503, "Service Unavailable")
    finally:
        for sock in idle:
            sock.close()
        time.sleep(0.2)
    try:
        assert httpx.get(f"{server.url}/health").status_code == 200  # the slots are given back
    finally:
        server.stop()
