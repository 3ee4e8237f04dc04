"""FastAPI dependencies, defined once as `Annotated` aliases: the shared state, the current view and auth.

They read from `app.state` through `HTTPConnection`, so the same dependency serves HTTP and WebSocket
routes. Mutations are guarded here: the apply switch must be on and the bearer token must match
(constant-time compare); the caller is identified in the audit log only by a short hash of the token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, cast

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.listing import ServiceListing
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.views import ViewContext


async def get_state(conn: HTTPConnection) -> ApiState:
    """Async on purpose: FastAPI runs a plain `def` dependency in a thread pool, a hop per request."""
    state = getattr(conn.app.state, "api", None)
    if state is None:
        raise ApiError(503, "the backend is starting: cluster connection not set up yet")
    return cast(ApiState, state)


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_context(state: StateDep) -> ViewContext:
    """The current view; async so it runs on the event loop (the cache schedules rebuilds there)."""
    if not state.live.synced:
        raise ApiError(503, "cluster caches not synced yet; retry shortly", headers={"Retry-After": "2"})
    return state.views.current()


ContextDep = Annotated[ViewContext, Depends(get_context)]


async def get_listing(state: StateDep) -> ServiceListing:
    """The serialised service list of the current view (api/listing.py)."""
    if not state.live.synced:
        raise ApiError(503, "cluster caches not synced yet; retry shortly", headers={"Retry-After": "2"})
    return await state.views.listing()


ListingDep = Annotated[ServiceListing, Depends(get_listing)]


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def require_apply(state: StateDep, authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> str:
    """The caller's token id when mutations are enabled and the bearer token matches."""
    if not state.settings.apply_enabled:
        raise ApiError(403, "apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it)")
    expected = state.settings.read_apply_token()
    if expected is None:
        raise ApiError(403, "apply is enabled but no token is configured (OPTIMIZER_APPLY_TOKEN[_FILE])")
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        raise ApiError(401, "Authorization: Bearer <token> header required", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(offered.strip().encode(), expected.encode()):
        raise ApiError(401, "bearer token is not valid", headers={"WWW-Authenticate": "Bearer"})
    return token_id(expected)


ApplyTokenDep = Annotated[str, Depends(require_apply)]
