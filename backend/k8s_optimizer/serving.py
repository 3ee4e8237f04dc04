"""The HTTP server the backend runs in: uvicorn with limits the backend enforces itself.

nginx limits what reaches the backend through the dashboard, but the backend's own port (the NodePort
that `curl localhost:8080` reaches) has nothing in front of it. uvicorn's httptools parser has no bound
on a request head: a 64 MB header is buffered whole, so a handful of requests can exhaust the pod's
memory. The protocol here feeds the parser at most `max_header_bytes` of a request head, answers 431
when the head is not complete by then and 414 when the request target alone is too long, and closes
the connection. Bodies, WebSocket clients and the Host allow-list are checked in the ASGI layer
(`api/guard.py`); concurrent connections are uvicorn's `limit_concurrency` (503 beyond it).
"""

from __future__ import annotations

import asyncio
import json

import httptools
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from k8s_optimizer.api.redact import log_config
from k8s_optimizer.settings import Settings

WS_MAX_FRAME_BYTES = 64 * 1024
LINGER_SECONDS = 5.0  # after a refusal, read and drop what the client still sends, so it can read the answer


class _RefusedError(Exception):
    """Raised from a parser callback to stop parsing; the refusal's status is on the protocol."""


def _problem_response(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head and request target."""

    max_header_bytes = 32 * 1024
    max_request_line_bytes = 8 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._refusal: bytes | None = None
        self._discarding = False

    def data_received(self, data: bytes) -> None:
        """Feeds the parser, never more than the head allowance while a request head is being read."""
        if self._discarding:
            return
        while (
            data and self.transport.get_protocol() is self and not self.transport.is_closing() and not self._discarding
        ):
            if self._in_head:
                room = self.max_header_bytes - self._head_bytes
                if room <= 0:
                    self._refuse_head()
                    return
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
            else:
                piece, data = data, b""
            self._feed(piece)
            if self._in_head and self._head_bytes >= self.max_header_bytes and not self._stopped():
                self._refuse_head()

    def _stopped(self) -> bool:
        """Refused, closing, or handed over to the WebSocket protocol: nothing more is parsed here."""
        return self._discarding or self.transport.is_closing() or self.transport.get_protocol() is not self

    def _refuse_head(self) -> None:
        self._refuse(431, "Request Header Fields Too Large", f"request head: at most {self.max_header_bytes} bytes")

    def _feed(self, piece: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._linger(self._refusal)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")

    def _refuse(self, status: int, title: str, detail: str) -> None:
        self.logger.warning("refused a request: %s", detail)
        self._linger(_problem_response(status, title, detail))

    def _linger(self, response: bytes) -> None:
        """Answer, stop writing, and drop whatever still arrives for a while before closing.

        Closing at once with unread bytes in the socket makes the kernel send a reset, and the client
        loses the answer it has not read yet; dropping input costs no memory.
        """
        self._discarding = True
        self.transport.write(response)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def eof_received(self) -> None:
        if self._discarding:
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > self.max_request_line_bytes:
            detail = f"request target: at most {self.max_request_line_bytes} bytes"
            self._refusal = _problem_response(414, "URI Too Long", detail)
            raise _RefusedError(detail)
        super().on_url(url)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0


def bounded_protocol(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """The protocol class with this configuration's limits (uvicorn instantiates it per connection)."""
    return type(
        "ConfiguredHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "max_header_bytes": settings.max_header_bytes,
            "max_request_line_bytes": settings.max_request_line_bytes,
        },
    )


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration for `serve`: the bounded protocol, the connection limit, the frame limit,
    and logging whose every handler redacts tokens (api/redact.py)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        http=bounded_protocol(settings),
        limit_concurrency=settings.max_connections,
        ws_max_size=WS_MAX_FRAME_BYTES,
        timeout_graceful_shutdown=5,
    )
