"""Liveness, readiness and the backend's own metrics, in the exact shapes curl users and kubelet probes see."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.requests import HTTPConnection

from k8s_optimizer.api.schemas import ComponentCheck, Health, Ready
from k8s_optimizer.api.state import ApiState, history_health

router = APIRouter(tags=["health"])


def _state(conn: HTTPConnection) -> ApiState | None:
    state = getattr(conn.app.state, "api", None)
    return state if isinstance(state, ApiState) else None


@router.get("/health", response_model_exclude_none=True)  # the exact body curl users see: {"status":"healthy"}
async def health(request: HTTPConnection) -> Health:
    """Always 200 while the process serves; `degraded` lists the components that are not ok."""
    state = _state(request)
    if state is None:
        return Health(status="degraded", checks={"startup": ComponentCheck(healthy=False, detail="starting")})
    checks = {
        name: ComponentCheck(healthy=component.status == "ok", detail=component.reason or "")
        for name, component in state.live.health().items()
    }
    source = history_health(state.history)
    if source is not None:
        checks["history"] = ComponentCheck(healthy=source.status == "ok", detail=source.reason or "")
    if all(check.healthy for check in checks.values()):
        return Health(status="healthy")
    return Health(status="degraded", checks=checks)


@router.get("/ready", responses={503: {"model": Ready, "description": "caches not synced yet"}})
async def ready(request: HTTPConnection) -> Ready:
    """200 once the watch caches have synced; 503 with the reason before."""
    state = _state(request)
    if state is not None and state.live.synced:
        return Ready(ready=True)
    reason = "starting" if state is None else "watch caches not synced yet"
    return JSONResponse(Ready(ready=False, reason=reason).model_dump(), status_code=503)  # type: ignore[return-value]


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: HTTPConnection) -> PlainTextResponse:
    """Prometheus text exposition of the backend's own metrics."""
    state = _state(request)
    body = "" if state is None else state.metrics.render()
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")
