"""All HTTP routers and the WebSocket endpoint in one place (what app.py mounts)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from k8s_optimizer.api.health import router as health_router
from k8s_optimizer.api.routes.capabilities import router as capabilities_router
from k8s_optimizer.api.routes.cluster import router as cluster_router
from k8s_optimizer.api.routes.network import router as network_router
from k8s_optimizer.api.routes.recommendations import router as recommendations_router
from k8s_optimizer.api.routes.report import router as report_router
from k8s_optimizer.api.routes.services import router as services_router
from k8s_optimizer.api.routes.timeseries import router as timeseries_router
from k8s_optimizer.api.routes.workloads import router as workloads_router
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.ws.handshake import check_handshake

api_router = APIRouter()
for _router in (
    health_router,
    capabilities_router,
    cluster_router,
    services_router,
    network_router,
    workloads_router,
    timeseries_router,
    recommendations_router,
    report_router,
):
    api_router.include_router(_router)


@api_router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    """The live stream: see docs/api.md for the protocol."""
    state = getattr(websocket.app.state, "api", None)
    if not isinstance(state, ApiState) or state.hub is None:
        await websocket.close(code=1013, reason="backend starting")
        return
    token = state.settings.read_apply_token() if state.settings.apply_enabled else None
    handshake = check_handshake(websocket, state.settings.cors_origins, token)
    if handshake.problem is not None:
        await websocket.close(code=1008, reason=handshake.problem)
        return
    await websocket.accept(subprotocol=handshake.subprotocol)
    await state.hub.serve(websocket)
