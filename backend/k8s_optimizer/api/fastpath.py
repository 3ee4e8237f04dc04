"""A cache-hit fast path for `GET /api/v1/services`, below FastAPI's routing and validation.

Why: with the service list pre-serialised (api/listing.py) a page costs a dict lookup, but FastAPI's
routing and dependency/parameter solving still cost ~0.4 ms per request, which is what kept 64
concurrent clients above the 50 ms p99 target. A query string the real route has already validated
and answered for the *current* view is mapped to its cached bytes, so a repeat is answered here.
Anything else (first sight of a query, a new view, a CORS request, another method or path) falls
through to the normal route, which validates, answers and records the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from k8s_optimizer.api.state import ApiState

SERVICES_PATH = "/api/v1/services"


@dataclass(frozen=True, slots=True)
class _RouteTemplate:
    """Stands in for the matched route so request metrics still count the hit under its template."""

    path: str


_SERVICES_ROUTE = _RouteTemplate(SERVICES_PATH)


class CachedPages:
    """ASGI middleware answering repeated service-list queries from the current listing's page cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == SERVICES_PATH:
            body = _cached_body(scope)
            if body is not None:
                scope["route"] = _SERVICES_ROUTE
                headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _cached_body(scope: Scope) -> bytes | None:
    app = scope.get("app")
    state: ApiState | None = getattr(getattr(app, "state", None), "api", None)
    if state is None or not state.live.synced:
        return None
    if any(name == b"origin" for name, _ in scope["headers"]):
        return None  # CORS requests go through CORSMiddleware on the normal path
    listing = state.views.ready_listing()
    return None if listing is None else listing.cached_raw(scope["query_string"])
