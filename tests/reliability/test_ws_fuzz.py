"""WebSocket fuzz against the real backend: bad frames get an `error` message, the socket stays usable.

Each bad frame is followed by a `ping` that must be answered with `pong` on the same socket, so "the socket
stays usable" is checked after every single frame, not once at the end. Frames are paced under the
documented 20 messages/second so the rate limiter is not what answers. A frame over the transport limit
(64 KiB) is the one case where the protocol itself closes the socket (1009); the test proves the server
is unaffected and a new socket works.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.dashboard_servers import BackendServer

PACE_SECONDS = 0.06  # 16 frames/s: under the server's 20 messages/second limit
RANDOM_FRAMES = 60


@pytest.fixture
async def ws(shared_backend: BackendServer) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{shared_backend.url}/ws") as socket_:
        yield socket_


async def _next_non_heartbeat(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message = await ws.receive(timeout=10)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        payload: dict[str, Any] = json.loads(message.data)
        if payload["type"] not in {"heartbeat", "metrics"}:
            return payload


async def _expect_error_then_pong(ws: aiohttp.ClientWebSocketResponse, code: str) -> dict[str, Any]:
    await asyncio.sleep(PACE_SECONDS)
    error = await _next_non_heartbeat(ws)
    assert error["type"] == "error", error
    assert error["code"] == code, error
    assert isinstance(error["detail"], str)
    assert error["detail"]
    await ws.send_str(json.dumps({"op": "ping"}))
    assert (await _next_non_heartbeat(ws))["type"] == "pong"
    await asyncio.sleep(PACE_SECONDS)
    return error


def _malformed_frames() -> list[tuple[str, str]]:
    """(frame, expected error code): invalid JSON, unknown ops, wrong types, unknown topics."""
    return [
        ("", "bad-json"),
        ("{", "bad-json"),
        ("not json at all", "bad-json"),
        ('{"op": "subscribe", "topics": ["pods"]', "bad-json"),
        ("\x00\x01\x02", "bad-json"),
        ("null", "bad-message"),
        ("42", "bad-message"),
        ('"ping"', "bad-message"),
        ("[]", "bad-message"),
        ("{}", "bad-message"),
        ('{"op": "explode"}', "bad-message"),
        ('{"op": 7}', "bad-message"),
        ('{"op": null}', "bad-message"),
        ('{"op": "subscribe", "topics": "pods"}', "bad-message"),
        ('{"op": "subscribe", "topics": [1, 2]}', "bad-message"),
        ('{"op": "subscribe", "topics": ["no-such-topic"]}', "bad-message"),
        ('{"op": "subscribe", "topics": ["pods"], "since": "yesterday"}', "bad-message"),
        ('{"op": "subscribe", "topics": ["pods"], "namespace": ["a"]}', "bad-message"),
        ('{"op": "unsubscribe", "topics": {"pods": true}}', "bad-message"),
        ('{"op": "subscribe", "topics": [' + '"pods",' * 2000 + '"x"]}', "bad-message"),
        ("[" * 5000 + "]" * 5000, "bad-json"),  # deep nesting must not crash the parser
    ]


@pytest.mark.parametrize(("frame", "code"), _malformed_frames(), ids=lambda value: repr(value)[:40])
async def test_malformed_frame_gets_error_and_socket_stays_usable(
    ws: aiohttp.ClientWebSocketResponse, frame: str, code: str
) -> None:
    await ws.send_str(frame)
    await _expect_error_then_pong(ws, code)


async def test_random_bytes_get_errors_on_one_socket(ws: aiohttp.ClientWebSocketResponse) -> None:
    generator = random.Random(9)
    codes: list[str] = []
    for _ in range(RANDOM_FRAMES):
        frame = generator.randbytes(generator.randint(1, 2048))
        if frame.lstrip(b" \t\r\n")[:1] in {b"{", b"[", b'"'} or frame.strip().isdigit():
            continue  # could be valid JSON by chance; the explicit cases cover those shapes
        await ws.send_bytes(frame)
        codes.append((await _expect_error_then_pong(ws, "bad-json"))["code"])
    assert len(codes) >= RANDOM_FRAMES // 2
    await _subscribe_works(ws)


async def test_frame_that_expands_past_the_limit_is_refused_in_band(ws: aiohttp.ClientWebSocketResponse) -> None:
    # 30 KiB of invalid UTF-8 fits the transport limit but decodes to ~90 KiB: the app's own size check answers.
    await ws.send_bytes(b"\xff" * (30 * 1024))
    await _expect_error_then_pong(ws, "too-large")
    await _subscribe_works(ws)


async def test_oversized_frame_closes_only_that_socket(shared_backend: BackendServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{shared_backend.url}/ws") as bystander:
            async with session.ws_connect(f"{shared_backend.url}/ws") as victim:
                await victim.send_str("x" * (70 * 1024))
                closed = await victim.receive(timeout=10)
                assert closed.type in {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
                assert victim.close_code == 1009  # message too big, from the transport
            await bystander.send_str(json.dumps({"op": "ping"}))
            assert (await _next_non_heartbeat(bystander))["type"] == "pong"
        async with session.ws_connect(f"{shared_backend.url}/ws") as fresh:
            await _subscribe_works(fresh)


async def test_flood_is_rate_limited_not_fatal(ws: aiohttp.ClientWebSocketResponse) -> None:
    for _ in range(60):
        await ws.send_str(json.dumps({"op": "ping"}))
    answers = [await _next_non_heartbeat(ws) for _ in range(60)]
    kinds = {answer["type"] for answer in answers}
    assert kinds == {"pong", "error"}
    assert {answer["code"] for answer in answers if answer["type"] == "error"} == {"rate-limited"}
    await asyncio.sleep(1.5)  # the budget refills
    await _subscribe_works(ws)


async def _subscribe_works(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_str(json.dumps({"op": "subscribe", "topics": ["pods", "services"]}))
    snapshot = await _next_non_heartbeat(ws)
    assert snapshot["type"] == "snapshot", snapshot
    assert snapshot["reason"] == "subscribe"
    assert len(snapshot["data"]["pods"]) > 0
    assert len(snapshot["data"]["services"]) > 0
