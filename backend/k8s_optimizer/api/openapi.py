"""The OpenAPI document, with the WebSocket protocol's messages beside the REST shapes.

Why: the dashboard's TypeScript types are generated from this one document (dashboard/src/api-schema.ts,
checked by tests/test_dashboard_types.py), and the WebSocket has no route OpenAPI could describe. Its
messages are run through FastAPI's own schema generation as if a route received the client's and
answered the server's (so shared models such as `PodOut` get the very same component), then those
probe routes are dropped and the two unions kept as the named components `ClientMessage` and
`ServerMessage`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from k8s_optimizer.api import schemas as s

_CLIENT_PATH = "/__websocket/client-message"
_SERVER_PATH = "/__websocket/server-message"


async def _receives(message: s.ClientMessage = Body()) -> None:  # noqa: B008 (FastAPI's declaration style)
    """Never served: describes what a client sends on /ws."""


async def _sends() -> None:
    """Never served: describes what the server sends on /ws."""


_PROBES = (
    APIRoute(_CLIENT_PATH, _receives, methods=["POST"]),
    APIRoute(_SERVER_PATH, _sends, methods=["GET"], response_model=s.ServerMessage),
)


def document(app: FastAPI) -> dict[str, Any]:
    """The REST document plus the WebSocket's `ClientMessage` and `ServerMessage` components."""
    result = get_openapi(title=app.title, version=app.version, routes=[*app.routes, *_PROBES])
    paths = result["paths"]
    client = paths.pop(_CLIENT_PATH)["post"]["requestBody"]["content"]["application/json"]["schema"]
    server = paths.pop(_SERVER_PATH)["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    schemas = result["components"]["schemas"]
    schemas["ClientMessage"] = {k: v for k, v in client.items() if k != "title"}
    schemas["ServerMessage"] = {k: v for k, v in server.items() if k != "title"}
    return result


def install(app: FastAPI) -> None:
    """Serve (and cache) the extended document at the app's openapi_url."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
