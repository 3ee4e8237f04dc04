"""The dashboard's routing, proven on both servers that provide it: real nginx running dashboard/nginx.conf
(what the container image runs) and the aiohttp stand-in `k8s-optimizer demo` uses when nginx is missing.

The backend here is a small stub that reports what it received: these tests are about the proxy layer
(which paths go where, headers, caching, the WebSocket upgrade), not the backend. The browser tests in
tests/e2e/ run the same nginx in front of the real backend.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from k8s_optimizer.dashboard_proxy import create_proxy_app
from tests.dashboard_servers import NginxServer

INDEX = "<!doctype html><html><head><title>dash</title></head><body><div id=app></div></body></html>\n"
ASSET_NAME = "index-AbC123.js"
ASSET = "console.log('the dashboard');\n" * 200  # large enough for gzip


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / ASSET_NAME).write_text(ASSET)
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


def _stub_backend() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response(
            {
                "method": request.method,
                "path_qs": request.rel_url.path_qs,
                "body": body,
                "auth": request.headers.get("Authorization"),
                "host": request.host,
            },
            status=201 if request.method == "POST" else 200,
        )

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    async def ready(_request: web.Request) -> web.Response:
        return web.json_response({"ready": False, "reason": "syncing"}, status=503)

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse(protocols=("k8s-optimizer.v1",))
        await socket_.prepare(request)
        await socket_.send_json(
            {
                "type": "hello",
                "query": request.rel_url.query_string,
                "host": request.host,
                "origin": request.headers.get("Origin"),
                "protocols": request.headers.get("Sec-WebSocket-Protocol"),
            }
        )
        async for message in socket_:
            if message.type == aiohttp.WSMsgType.TEXT:
                await socket_.send_str(f"echo:{message.data}")
        return socket_

    app = web.Application()
    app.router.add_route("*", "/api/{tail:.*}", echo)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/ws", ws)
    return app


@pytest.fixture
async def backend_url() -> AsyncIterator[str]:
    runner = web.AppRunner(_stub_backend())
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, listener)
    await site.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    await runner.cleanup()


@pytest.fixture(params=["nginx", "aiohttp"])
async def dashboard(request: pytest.FixtureRequest, backend_url: str, dist: Path) -> AsyncIterator[str]:
    if request.param == "nginx":
        server = NginxServer(backend_url, dist)
        # Blocking start-up in a thread: the stub backend must keep serving on this loop meanwhile.
        await asyncio.to_thread(server.__enter__)
        try:
            yield server.url
        finally:
            await asyncio.to_thread(server.__exit__, None, None, None)
        return
    runner = web.AppRunner(create_proxy_app(dist, backend_url))
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


def _assert_security_headers(headers: Mapping[str, str]) -> None:
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_healthz_is_answered_by_the_dashboard_server_itself(dashboard: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{dashboard}/healthz") as response:
        assert response.status == 200
        assert await response.text() == "ok\n"


@pytest.mark.parametrize(
    "path", ["/", "/services", "/services/k8s-optimizer/echo-demo", "/recommendations?sort=priority"]
)
async def test_every_view_url_serves_index_html_uncached(
    dashboard: str, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(f"{dashboard}{path}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.headers["Cache-Control"] == "no-cache"
        assert await response.text() == INDEX
        _assert_security_headers(response.headers)


async def test_hashed_assets_are_immutable_and_gzipped(dashboard: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{dashboard}/assets/{ASSET_NAME}", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "javascript" in response.headers["Content-Type"]
        body = await response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert body.decode() == ASSET
        _assert_security_headers(response.headers)


async def test_nginx_compresses_assets(backend_url: str, dist: Path, http: aiohttp.ClientSession) -> None:
    with NginxServer(backend_url, dist) as server:
        async with http.get(f"{server.url}/assets/{ASSET_NAME}", headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await response.read()).decode() == ASSET


async def test_a_missing_asset_is_404_not_the_spa(dashboard: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{dashboard}/assets/gone-123.js") as response:
        assert response.status == 404


async def test_api_requests_are_forwarded_unchanged(dashboard: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{dashboard}/api/v1/services?namespace=demo&limit=2") as response:
        assert response.status == 200
        assert await response.json() == {
            "method": "GET",
            "path_qs": "/api/v1/services?namespace=demo&limit=2",
            "body": "",
            "auth": None,
            "host": dashboard.removeprefix("http://"),
        }
    async with http.post(
        f"{dashboard}/api/v1/recommendations/r1/apply", data="{}", headers={"Authorization": "Bearer t0k"}
    ) as response:
        assert response.status == 201
        assert await response.json() == {
            "method": "POST",
            "path_qs": "/api/v1/recommendations/r1/apply",
            "body": "{}",
            "auth": "Bearer t0k",
            "host": dashboard.removeprefix("http://"),
        }


async def test_backend_health_and_readiness_pass_through_with_status(
    dashboard: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{dashboard}/health") as response:
        assert (response.status, await response.json()) == (200, {"status": "healthy"})
    async with http.get(f"{dashboard}/ready") as response:
        assert (response.status, await response.json()) == (503, {"ready": False, "reason": "syncing"})


async def test_websocket_is_upgraded_and_bridged_both_ways(dashboard: str, http: aiohttp.ClientSession) -> None:
    ws_url = dashboard.replace("http://", "ws://") + "/ws?x=1"
    offered = ("k8s-optimizer.v1", "base64url.bearer.authorization.k8s.io.YWJj")
    async with http.ws_connect(ws_url, origin=dashboard, protocols=offered) as socket_:
        # The backend sees the browser's Host, Origin and subprotocols (the token), and its choice comes back.
        assert socket_.protocol == "k8s-optimizer.v1"
        assert await socket_.receive_json(timeout=5) == {
            "type": "hello",
            "query": "x=1",
            "host": dashboard.removeprefix("http://"),
            "origin": dashboard,
            "protocols": "k8s-optimizer.v1,base64url.bearer.authorization.k8s.io.YWJj",
        }
        await socket_.send_str('{"op":"ping"}')
        assert await socket_.receive_str(timeout=5) == 'echo:{"op":"ping"}'


async def test_backend_down_gives_502_not_a_hang(dist: Path, http: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    runner = web.AppRunner(create_proxy_app(dist, dead))
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    try:
        async with http.get(f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1/services") as response:
            assert response.status == 502
    finally:
        await runner.cleanup()


def test_missing_build_answers_503_with_the_fix(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str]:
        runner = web.AppRunner(create_proxy_app(tmp_path / "nothing", "http://127.0.0.1:9"))
        await runner.setup()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        await web.SockSite(runner, listener).start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/") as r,
            ):
                return r.status, await r.text()
        finally:
            await runner.cleanup()

    status, text = asyncio.run(scenario())
    assert status == 503
    assert "make dashboard" in text
