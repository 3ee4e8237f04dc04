"""A small stand-in for the dashboard's nginx, for machines where nginx is not installed.

`k8s-optimizer demo` prefers real nginx with dashboard/nginx.conf. Without it, this aiohttp app gives the
browser the same routing on one origin: the built SPA with an index.html fallback for deep links, `/api/*`,
`/health` and `/ready` forwarded to the backend, `/ws` bridged frame by frame, and its own `/healthz`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp import web

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding"}
    | {"upgrade", "host", "content-length", "content-encoding"}
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)


def create_proxy_app(dist: Path, backend_url: str) -> web.Application:
    """The dashboard server: static SPA from `dist`, backend routes forwarded to `backend_url`."""
    app = web.Application()
    backend = backend_url.rstrip("/")
    root = dist.resolve()

    async def open_session(app: web.Application) -> None:
        app[_SESSION] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def close_session(app: web.Application) -> None:
        await app[_SESSION].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        return await _forward(request, backend)

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await _bridge_websocket(request, backend)

    async def static(request: web.Request) -> web.StreamResponse:
        return _static(root, request.match_info["tail"])

    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/ws", websocket)
    app.router.add_route("*", "/api/{tail:.*}", forward)
    app.router.add_get("/health", forward)
    app.router.add_get("/ready", forward)
    app.router.add_get("/{tail:.*}", static)
    app.on_response_prepare.append(_add_security_headers)
    return app


async def _add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def _static(root: Path, tail: str) -> web.StreamResponse:
    candidate = (root / tail).resolve()
    inside = candidate == root or root in candidate.parents
    if inside and candidate.is_file():
        immutable = tail.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return web.FileResponse(candidate, headers={"Cache-Control": cache})
    if tail.startswith("assets/"):
        raise web.HTTPNotFound
    index = root / "index.html"
    if not index.is_file():
        return web.Response(status=503, text=f"dashboard not built: {index} is missing (run `make dashboard`)\n")
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


async def _forward(request: web.Request, backend: str) -> web.StreamResponse:
    session = request.app[_SESSION]
    headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP}
    headers["Host"] = request.host  # as nginx's $http_host: the backend sees the browser's origin host
    body = await request.read() if request.can_read_body else None
    try:
        async with session.request(
            request.method, backend + request.rel_url.path_qs, headers=headers, data=body, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=upstream.status, body=payload, headers=reply_headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.json_response({"detail": f"backend unavailable: {exc.__class__.__name__}"}, status=502)


async def _bridge_websocket(request: web.Request, backend: str) -> web.StreamResponse:
    session = request.app[_SESSION]
    # The backend compares Origin with Host, so both are passed as the browser sent them.
    headers = {"Host": request.host}
    if "Origin" in request.headers:
        headers["Origin"] = request.headers["Origin"]
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    # The browser's subprotocols carry the token: offered upstream as sent, the backend's choice answered back
    # (a browser that offered protocols drops a connection whose answer names none).
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    try:
        upstream = await session.ws_connect(
            backend + request.rel_url.path_qs,
            headers=headers,
            protocols=offered,
            timeout=aiohttp.ClientWSTimeout(),
        )
    except (aiohttp.ClientError, TimeoutError):
        return web.json_response({"detail": "backend unavailable"}, status=502)
    downstream = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else ())
    await downstream.prepare(request)
    async with upstream:
        pumps = [
            asyncio.create_task(_pump(upstream, downstream)),
            asyncio.create_task(_pump(downstream, upstream)),
        ]
        # Either side closing ends the bridge; the other pump is cancelled.
        _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await downstream.close()
    return downstream


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            break
