"""The upgrade: Origin enforced, the token taken from a subprotocol or header and never from the URL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from k8s_optimizer.api.ws.handshake import PROTOCOL, token_protocol
from tests.api.conftest import TOKEN, BackendFactory
from tests.api.ws.conftest import receive


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example", False),
        ("http://testserver", True),
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
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", subprotocols=[token_protocol("wrong")]):
        pass
    with client.websocket_connect("/ws", subprotocols=[PROTOCOL, token_protocol(TOKEN)]) as ws:
        accepted: str | None = ws.accepted_subprotocol
        assert accepted == PROTOCOL  # never the token's
        ws.send_json({"op": "ping"})
        assert receive(ws, "pong")["type"] == "pong"
    with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send_json({"op": "ping"})
        assert receive(ws, "pong")["type"] == "pong"


@pytest.mark.parametrize("query", [f"token={TOKEN}", "token=wrong"])
def test_a_token_in_the_url_is_refused_even_when_valid(make_backend: BackendFactory, query: str) -> None:
    client = make_backend(apply_enabled=True, apply_token=TOKEN).client
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(f"/ws?{query}"):
        pass
    assert refused.value.code == 1008
    assert refused.value.reason.startswith("the token is never accepted in the URL")


def test_the_protocol_is_selected_only_when_offered(client: TestClient) -> None:
    with client.websocket_connect("/ws", subprotocols=[PROTOCOL]) as ws:
        offered: str | None = ws.accepted_subprotocol
    with client.websocket_connect("/ws") as ws:
        not_offered: str | None = ws.accepted_subprotocol
    assert (offered, not_offered) == (PROTOCOL, None)
