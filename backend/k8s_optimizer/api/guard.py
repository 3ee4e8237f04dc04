"""The outermost ASGI layer: what every request must satisfy before any route sees it.

The backend's port is reachable without nginx in front (the NodePort, `curl localhost:8080`), so it
enforces its own limits: the Host allow-list (a DNS-rebinding page reaches the backend under the
attacker's name, never under localhost or an IP), the optional read token, a body limit that counts
chunked bodies as they arrive (a Content-Length check alone lets a chunked body through), the number
of WebSocket clients, and the switches for `/metrics` and the API docs. It also times every request
by route template. The request head is bounded one layer below, in the HTTP protocol (serving.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.settings import Settings

LOCAL_HOSTS = frozenset({"localhost"})
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics", "/api/v1/capabilities"})
PROBE_PATHS = frozenset({"/health", "/ready"})  # carry no data: any Host may ask (probes, compose healthchecks)
DOCS_PATHS = frozenset({"/api/docs", "/api/docs/oauth2-redirect", "/api/v1/openapi.json"})
READ_TOKEN_HEADER = b"x-optimizer-read-token"


class _BodyTooLargeError(Exception):
    pass


def host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def host_allowed(host_header: str, allowed: list[str]) -> bool:
    """localhost, *.localhost, IP literals and the configured names; '*' allows any."""
    if "*" in allowed:
        return True
    name = host_name(host_header)
    if not name:
        return False
    if name in LOCAL_HOSTS or name.endswith(".localhost") or name in {a.lower() for a in allowed}:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _problem(status: int, title: str, detail: str, extra: list[tuple[bytes, bytes]] | None = None) -> list[Message]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body))]
    return [
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])},
        {"type": "http.response.body", "body": body},
    ]


class RequestGuard:
    """Host, read token, body size, WebSocket clients and switches; then times the request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, settings: Settings) -> None:
        self.app = app
        self.metrics = metrics
        self.settings = settings
        self.websocket_clients = 0
        metrics.gauges["optimizer_guard_websocket_clients"] = lambda: {"": float(self.websocket_clients)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """Why this request (HTTP or WebSocket) must be refused before routing, or None."""
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if scope["path"] not in PROBE_PATHS and not host_allowed(host, self.settings.allowed_hosts):
            detail = f"host {host_name(host)!r} is not served (OPTIMIZER_ALLOWED_HOSTS)"
            return 421, "Misdirected Request", detail
        path = scope["path"]
        if (path == "/metrics" and not self.settings.expose_metrics) or (
            path in DOCS_PATHS and not self.settings.expose_docs
        ):
            return 404, "Not Found", f"{path} is switched off on this backend"
        if path not in OPEN_PATHS and (path == "/ws" or path.startswith("/api/")) and not self._reader(headers):
            return 401, "Unauthorized", "a read token is required (Authorization: Bearer or X-Optimizer-Read-Token)"
        return None

    def _reader(self, headers: dict[bytes, bytes]) -> bool:
        try:
            read_token = self.settings.read_read_token()
            expected = [t for t in (read_token, self.settings.read_apply_token()) if t]
        except OSError:
            return False  # a configured token file that cannot be read: closed, not open
        if not read_token:
            return True
        scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        offered = [value.strip()] if scheme.lower() == "bearer" else []
        offered.append(headers.get(READ_TOKEN_HEADER, b"").decode("latin-1").strip())
        return any(o and hmac.compare_digest(o.encode(), t.encode()) for o in offered for t in expected)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                for message in _problem(*refusal, _www_authenticate(refusal[0])):
                    await send_with_status(message)
                return
            try:
                replay = await self._bounded_body(scope, receive)
            except _BodyTooLargeError:
                detail = f"request body: at most {self.settings.max_body_bytes} bytes"
                for message in _problem(413, "Content Too Large", detail):  # uvicorn then drains the rest
                    await send_with_status(message)
                return
            await self.app(scope, replay, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(template, scope["method"], status, time.perf_counter() - started)

    async def _bounded_body(self, scope: Scope, receive: Receive) -> Receive:
        """Reads the whole body (at most max_body_bytes, chunked or not) and replays it to the app."""
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.settings.max_body_bytes):
            raise _BodyTooLargeError
        if length in (None, b"0") and b"transfer-encoding" not in headers:
            return receive
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay(chunks, message, receive)
            size += len(message.get("body", b""))
            if size > self.settings.max_body_bytes:
                raise _BodyTooLargeError
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        return _replay(chunks, None, receive)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope)
        if refusal is None and self.websocket_clients >= self.settings.max_websocket_clients:
            refusal = (1013, "Try Again Later", f"at most {self.settings.max_websocket_clients} WebSocket clients")
        if refusal is not None:
            await send({"type": "websocket.close", "code": 1008 if refusal[0] != 1013 else 1013, "reason": refusal[2]})
            return
        self.websocket_clients += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.websocket_clients -= 1


def _www_authenticate(status: int) -> list[tuple[bytes, bytes]]:
    return [(b"www-authenticate", b"Bearer")] if status == 401 else []


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that returns the buffered body once, then whatever the server sends next."""
    queue: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
    if pending is not None:
        queue.append(pending)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed
