"""Who may open the WebSocket: the Origin check (cross-site WebSocket hijacking) and the token.

The token never travels in the URL (query strings end up in access logs and proxies' logs). Browsers
cannot set headers on a WebSocket, so they offer it as a subprotocol, the way kube-apiserver takes
bearer tokens from browsers: `Sec-WebSocket-Protocol: k8s-optimizer.v1,
base64url.bearer.authorization.k8s.io.<base64url(token)>`; the server answers with `k8s-optimizer.v1`
only, never echoing the token. Other clients may send `Authorization: Bearer <token>` instead.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

PROTOCOL = "k8s-optimizer.v1"
TOKEN_PROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io."


@dataclass(frozen=True, slots=True)
class Handshake:
    """The verdict on an upgrade: refuse with `problem`, or accept with `subprotocol` (None: none offered)."""

    problem: str | None
    subprotocol: str | None = None


def check_handshake(conn: HTTPConnection, allowed_origins: list[str], token: str | None) -> Handshake:
    """Why this upgrade must be refused (foreign origin, token in the URL, missing token), or how to accept."""
    offered = _offered_protocols(conn)
    subprotocol = PROTOCOL if PROTOCOL in offered else None
    origin = conn.headers.get("origin")
    if origin is not None and not _origin_allowed(origin, conn.headers.get("host", ""), allowed_origins):
        return Handshake(f"origin {origin!r} is not allowed")
    if "token" in conn.query_params:
        return Handshake("the token is never accepted in the URL: offer it as a subprotocol or Authorization header")
    if token is not None:
        given = _protocol_token(offered) or _bearer(conn.headers.get("authorization"))
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return Handshake(f"a valid token is required ({TOKEN_PROTOCOL_PREFIX}<base64url> or Authorization: Bearer)")
    return Handshake(None, subprotocol)


def token_protocol(token: str) -> str:
    """The subprotocol that carries `token` (what the dashboard offers)."""
    return TOKEN_PROTOCOL_PREFIX + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _offered_protocols(conn: HTTPConnection) -> list[str]:
    header = conn.headers.get("sec-websocket-protocol", "")
    return [item.strip() for item in header.split(",") if item.strip()]


def _protocol_token(offered: list[str]) -> str | None:
    for protocol in offered:
        if protocol.startswith(TOKEN_PROTOCOL_PREFIX):
            encoded = protocol[len(TOKEN_PROTOCOL_PREFIX) :]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def _origin_allowed(origin: str, host: str, allowed_origins: list[str]) -> bool:
    if origin.rstrip("/") in {o.rstrip("/") for o in allowed_origins}:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
