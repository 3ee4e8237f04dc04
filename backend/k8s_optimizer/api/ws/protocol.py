"""The wire side of the WebSocket: what is queued for a client, how frames are parsed and encoded.

Every server message carries the serving process's `epoch` beside its `seq`: sequence numbers are per
process, so a `since` is only meaningful to the process (epoch) that issued it. Pure: no I/O.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from k8s_optimizer.api import schemas as s

MAX_FRAME_BYTES = 64 * 1024
MESSAGES_PER_SECOND = 20.0
_CLIENT_MESSAGES: TypeAdapter[s.SubscribeOp | s.UnsubscribeOp | s.PingOp] = TypeAdapter(s.ClientMessage)

SnapshotReason = Literal["subscribe", "resync", "since-expired", "epoch-changed"]
ClientOp = s.SubscribeOp | s.UnsubscribeOp | s.PingOp


def new_epoch() -> str:
    """A per-process id: wall-clock start (readable in logs) plus randomness (two replicas starting together)."""
    return f"{int(time.time()):x}-{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for every client subscribed to `topic` (and to `namespace`, '' = any)."""

    topic: s.Topic
    namespace: str
    seq: int
    payload: dict[str, Any]
    is_delta: bool = False
    text: str = ""
    """Deltas: the payload encoded once, so fanning out to 1,000 clients does not encode it 1,000 times."""


@dataclass(slots=True)
class Control:
    action: Literal["resync", "subscribe", "error", "pong"]
    topics: tuple[s.Topic, ...] = ()
    since: int | None = None
    epoch: str | None = None
    code: str = ""
    detail: str = ""


Item = Outgoing | Control


def dump(model: s.Model) -> dict[str, Any]:
    return model.model_dump(mode="json")


def encode(payload: dict[str, Any]) -> str:
    """The same encoding as WebSocket.send_json, done once per message instead of once per client."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def delta(topic: s.Topic, namespace: str, seq: int, message: s.DeltaMessage) -> Outgoing:
    payload = dump(message)
    return Outgoing(topic, namespace, seq, payload, is_delta=True, text=encode(payload))


def parse_frame(text: str) -> ClientOp | Control:
    """A client frame as its op, or the error control to answer it with (the socket stays open)."""
    if len(text.encode()) > MAX_FRAME_BYTES:
        return Control("error", code="too-large", detail=f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested arrays (reliability fuzz)
        return Control("error", code="bad-json", detail=f"frame is not JSON: {exc}")
    try:
        return _CLIENT_MESSAGES.validate_json(text)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'op'}: {e['msg']}" for e in exc.errors())
        return Control("error", code="bad-message", detail=detail)


def rate_limited() -> Control:
    return Control("error", code="rate-limited", detail=f"at most {MESSAGES_PER_SECOND:g} messages per second")
