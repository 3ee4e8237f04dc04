"""The request guard: Host allow-list, read token, body limit, switches (issue 14, findings 2, 4, 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.websockets import WebSocketDisconnect

from k8s_optimizer.api.guard import host_allowed, host_name
from tests.api.conftest import TOKEN, BackendFactory

READ_TOKEN = "read-only-token"


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:8080", "localhost"),
        ("LOCALHOST", "localhost"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("10.0.0.7:30081", "10.0.0.7"),
        ("evil.example", "evil.example"),
        ("evil.example:abc", "evil.example:abc"),
        ("", ""),
    ],
)
def test_host_name(host: str, name: str) -> None:
    assert host_name(host) == name


@pytest.mark.parametrize(
    ("host", "allowed", "served"),
    [
        ("localhost:3000", [], True),
        ("app.localhost", [], True),
        ("127.0.0.1:8080", [], True),
        ("10.244.1.7:8080", [], True),  # kubelet probes and Prometheus use the pod IP
        ("[::1]:8080", [], True),
        ("rebind.attacker.example", [], False),  # a DNS-rebinding page: the attacker's name, our address
        ("rebind.attacker.example:8080", [], False),
        ("", [], False),
        ("optimizer.example.com", ["optimizer.example.com"], True),
        ("OPTIMIZER.example.com:443", ["optimizer.example.com"], True),
        ("other.example.com", ["optimizer.example.com"], False),
        ("anything.example", ["*"], True),
    ],
)
def test_host_allowed(host: str, allowed: list[str], served: bool) -> None:
    assert host_allowed(host, allowed) is served


def test_a_rebinding_host_is_refused_on_reads_and_websocket(make_backend: BackendFactory) -> None:
    client = make_backend(allowed_hosts=[]).client
    response = client.get("/api/v1/workloads", headers={"host": "rebind.attacker.example"})
    assert (response.status_code, response.headers["content-type"], response.json()) == (
        421,
        "application/problem+json",
        {
            "type": "about:blank",
            "title": "Misdirected Request",
            "status": 421,
            "detail": "host 'rebind.attacker.example' is not served (OPTIMIZER_ALLOWED_HOSTS)",
        },
    )
    assert client.get("/api/v1/workloads", headers={"host": "localhost:8080"}).status_code == 200
    # probes carry no data and answer any Host (kubelet, compose healthchecks by service name)
    assert client.get("/health", headers={"host": "rebind.attacker.example"}).status_code == 200
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws", headers={"host": "rebind.attacker.example"}),
    ):
        pass
    assert refused.value.code == 1008


def test_read_token_guards_the_api_and_websocket(make_backend: BackendFactory) -> None:
    client = make_backend(read_token=READ_TOKEN).client
    refused = client.get("/api/v1/services")
    assert (refused.status_code, refused.headers["www-authenticate"], refused.json()["detail"]) == (
        401,
        "Bearer",
        "a read token is required (Authorization: Bearer or X-Optimizer-Read-Token)",
    )
    assert client.get("/api/v1/services", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/services", headers={"authorization": f"Bearer {READ_TOKEN}"}).status_code == 200
    assert client.get("/api/v1/services", headers={"x-optimizer-read-token": READ_TOKEN}).status_code == 200
    # probes and the capabilities document stay open: kubelet and the dashboard's first call need them
    assert [client.get(path).status_code for path in ("/health", "/ready", "/api/v1/capabilities")] == [200, 200, 200]
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1008
    with client.websocket_connect("/ws", headers={"x-optimizer-read-token": READ_TOKEN}) as ws:
        ws.send_json({"op": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_the_apply_token_also_reads(make_backend: BackendFactory) -> None:
    client = make_backend(read_token=READ_TOKEN, apply_enabled=True, apply_token=TOKEN).client
    assert client.get("/api/v1/services", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_no_read_token_means_open_reads(make_backend: BackendFactory) -> None:
    assert make_backend().client.get("/api/v1/services").status_code == 200


def test_metrics_and_docs_switches(make_backend: BackendFactory) -> None:
    on = make_backend().client
    assert [on.get(p).status_code for p in ("/metrics", "/api/docs", "/api/v1/openapi.json")] == [200, 200, 200]
    off = make_backend(expose_metrics=False, expose_docs=False).client
    answers = [off.get(p) for p in ("/metrics", "/api/docs", "/api/v1/openapi.json")]
    assert [(a.status_code, a.json()["detail"]) for a in answers] == [
        (404, "/metrics is switched off on this backend"),
        (404, "/api/docs is switched off on this backend"),
        (404, "/api/v1/openapi.json is switched off on this backend"),
    ]
    assert off.get("/health").status_code == 200


def test_chunked_body_over_the_limit_gets_413(make_backend: BackendFactory) -> None:
    client = make_backend(apply_enabled=True, apply_token=TOKEN).client

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"x" * 4096

    response = client.post("/api/v1/changes/1/rollback", content=chunks(), headers={"authorization": f"Bearer {TOKEN}"})
    assert (response.status_code, response.json()["detail"]) == (413, "request body: at most 65536 bytes")
