"""Small real HTTP(S) servers on loopback that answer like a Prometheus in trouble.

A stock Prometheus cannot demand a bearer token, stall a query on purpose or answer 429, so these
play those parts over real sockets (and real TLS) for the client's error paths.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EMPTY_VECTOR = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()

Answer = Callable[[BaseHTTPRequestHandler, int], tuple[int, dict[str, str], bytes]]


@contextmanager
def serve(answer: Answer, *, tls: tuple[Path, Path] | None = None) -> Iterator[tuple[str, list[int]]]:
    """Serve `answer(handler, request_number)` on 127.0.0.1; yields (base URL, statuses answered)."""
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, headers, body = answer(self, len(answered))
            answered.append(status)
            try:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (openssl), usable as its own CA bundle."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def needs_token(token: str) -> Answer:
    def answer(handler: BaseHTTPRequestHandler, _: int) -> tuple[int, dict[str, str], bytes]:
        if handler.headers.get("Authorization") != f"Bearer {token}":
            return 401, {}, b"Unauthorized"
        return 200, {}, EMPTY_VECTOR

    return answer


def slow(seconds: float) -> Answer:
    def answer(_: BaseHTTPRequestHandler, __: int) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return 200, {}, EMPTY_VECTOR

    return answer


def busy_then_fine(times: int, retry_after: str) -> Answer:
    def answer(_: BaseHTTPRequestHandler, number: int) -> tuple[int, dict[str, str], bytes]:
        if number < times:
            return 429, {"Retry-After": retry_after}, b'{"status":"error","error":"too many requests"}'
        return 200, {}, EMPTY_VECTOR

    return answer
