"""The FastAPI application factory: wires settings, the live cluster model and the routers.

`create_app(settings)` has no side effects until the lifespan starts: the Kubernetes client, the
history store and the background tasks are created inside the lifespan (kubernetes_asyncio's
ApiClient needs a running loop) and closed when it ends. Tests may inject any of the collaborators
(`live=`, `history=`, `analyzer=`, `writer=`) as fakes at the Protocol seams of `api/ports.py`. The
application owns the process: it tunes the interpreter (k8s_optimizer/interpreter.py) once the live
model's caches have synced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import yaml
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_optimizer import __version__
from k8s_optimizer.analysis.cost import Prices
from k8s_optimizer.api import openapi
from k8s_optimizer.api.audit import AuditLog
from k8s_optimizer.api.errors import install_error_handlers
from k8s_optimizer.api.fastpath import CachedPages
from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.api.ports import Analyzer, HistoryReader, LiveModel, ObjectWriter
from k8s_optimizer.api.router import api_router
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.ws.hub import Hub
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.history.store import HistoryStore
from k8s_optimizer.interpreter import tune_for_synced_caches
from k8s_optimizer.k8s.errors import ClusterError
from k8s_optimizer.k8s.kube import connect
from k8s_optimizer.k8s.writer import ClusterWriter
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.live.scheduler import AnalysisScheduler
from k8s_optimizer.recommend.engine import analyze
from k8s_optimizer.recommend.model import AnalysisReport
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.settings import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # no route takes a body bigger than a patch; refuse anything larger


@dataclass(slots=True)
class Collaborators:
    """What the lifespan builds unless a test injected it."""

    live: LiveModel | None = None
    history: HistoryReader | None = None
    analyzer: Analyzer | None = None
    writer: ObjectWriter | None = None


def default_analyzer(settings: Settings) -> Analyzer:
    """The engine with the configured policy and prices; each pass carries the previous pass's topology over.

    Between two scrapes few pods change, so the index of 10,000 pods is patched, not rebuilt (any earlier
    index gives the exact result; passes run one at a time).
    """
    policy = Policy.named(settings.policy)
    prices = Prices(**settings.prices.model_dump())
    previous: list[Topology] = []

    def run(
        snapshot: ClusterSnapshot, histories: Mapping[ObjectRef, WorkloadHistory], now_seconds: float
    ) -> AnalysisReport:
        topology = Topology.build(snapshot, previous[0] if previous else None)
        previous[:] = [topology]
        return analyze(snapshot, histories, policy=policy, prices=prices, now_seconds=now_seconds, topology=topology)

    return run


async def _open_real(settings: Settings, given: Collaborators, stack: contextlib.AsyncExitStack) -> Collaborators:
    history = given.history
    live = given.live
    if live is None:
        store = await HistoryStore.open(settings.data_dir, raw_retention_seconds=settings.raw_retention_hours * 3600)
        stack.push_async_callback(store.close)
        history = history or store
        model = ClusterModel(settings, history=store, on_synced=tune_for_synced_caches)
        await model.start()
        stack.push_async_callback(model.stop)
        live = model
    writer = given.writer
    if writer is None and given.live is None:
        try:
            connection = await connect(settings)
        except ClusterError as exc:
            logger.warning("apply/dry-run unavailable: %s", exc)
        else:
            stack.push_async_callback(connection.close)
            writer = ClusterWriter(connection)
    return Collaborators(live, history, given.analyzer or default_analyzer(settings), writer)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _backend(app: FastAPI, settings: Settings, given: Collaborators) -> AsyncIterator[None]:
    """Start everything the routes read; stop it in reverse order."""
    async with contextlib.AsyncExitStack() as stack:
        ready = await _open_real(settings, given, stack)
        assert ready.live is not None
        audit = AuditLog(settings.data_dir / "audit.sqlite3")
        stack.callback(audit.close)
        state = ApiState(
            settings=settings,
            live=ready.live,
            audit=audit,
            history=ready.history,
            writer=ready.writer,
            metrics=app.state.metrics,
            cluster_name=cluster_name(settings),
        )
        stack.push_async_callback(state.reports.close)
        hub = state.hub = Hub(state.live, state.views, state.metrics)
        scheduler = AnalysisScheduler(
            ready.live, ready.analyzer, ready.history, fallback_seconds=max(1.0, settings.metrics_interval_seconds)
        )
        scheduler.add_listener(lambda previous, report: _publish_report(state, scheduler, previous, report))
        state.metrics.gauges["optimizer_cache_objects"] = lambda: _cache_sizes(state)
        state.metrics.gauges["optimizer_service_list_pages_cached"] = lambda: {"": state.views.pages_cached}
        if isinstance(ready.live, ClusterModel):
            _watch_gauges(state.metrics, ready.live)
        tasks = [
            asyncio.create_task(hub.run(), name="ws-hub-feed"),
            asyncio.create_task(hub.run_flusher(), name="ws-hub-flush"),
            asyncio.create_task(scheduler.watch_ticks(), name="analysis-ticks"),
            asyncio.create_task(scheduler.run(), name="analysis"),
        ]
        app.state.api = state
        try:
            yield
        finally:
            app.state.api = None
            await _cancel(tasks)


def _publish_report(
    state: ApiState, scheduler: AnalysisScheduler, previous: AnalysisReport | None, report: AnalysisReport
) -> None:
    """A new analysis report: the views serve it, the hub tells the clients, the metrics count it."""
    state.metrics.analysis_runs = scheduler.runs
    state.metrics.analysis_seconds = scheduler.last_seconds
    state.views.report = report
    if state.hub is not None:
        state.hub.publish_analysis(previous, report)


def _watch_gauges(metrics: ApiMetrics, model: ClusterModel) -> None:
    """Watch restarts, relists and errors per informer, and metrics scrapes, read at exposition time."""
    metrics.gauges["optimizer_watch_restarts"] = lambda: {i.name: i.watch_count for i in model.informers}
    metrics.gauges["optimizer_watch_relists"] = lambda: {i.name: i.list_count for i in model.informers}
    metrics.gauges["optimizer_watch_errors"] = lambda: {i.name: i.error_count for i in model.informers}
    metrics.gauges["optimizer_metrics_scrapes"] = lambda: {"": model.collector.scrape_count if model.collector else 0}
    metrics.gauges["optimizer_metrics_scrape_duration_seconds"] = lambda: _scrape_seconds(model)


def _scrape_seconds(model: ClusterModel) -> dict[str, float]:
    """The last scrape's duration, once the collector records one (`last_scrape_seconds`); empty until then."""
    seconds = getattr(model.collector, "last_scrape_seconds", None)
    return {"": float(seconds)} if isinstance(seconds, int | float) else {}


def cluster_name(settings: Settings) -> str:
    """The context the backend talks to: the configured one, else the kubeconfig's current-context."""
    if settings.context:
        return settings.context
    if settings.kubeconfig is None:
        return "in-cluster"
    try:
        config = yaml.safe_load(settings.kubeconfig.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "unknown"
    current = config.get("current-context") if isinstance(config, dict) else None
    return str(current) if current else "unknown"


def _cache_sizes(state: ApiState) -> dict[str, float]:
    snapshot = state.live.snapshot()
    return {
        "pods": len(snapshot.pods),
        "services": len(snapshot.services),
        "nodes": len(snapshot.nodes),
        "workloads": len(snapshot.workloads),
        "events": len(snapshot.events),
    }


class RequestGuard:
    """Times every HTTP request by route template and refuses oversized bodies with 413 before reading them."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            await _too_large(send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(template, scope["method"], status, time.perf_counter() - started)


async def _too_large(send: Send) -> None:
    body = (
        b'{"type":"about:blank","title":"Content Too Large","status":413,"detail":"request body: at most 65536 bytes"}'
    )
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings | None = None,
    *,
    live: LiveModel | None = None,
    history: HistoryReader | None = None,
    analyzer: Analyzer | None = None,
    writer: ObjectWriter | None = None,
) -> FastAPI:
    settings = settings or Settings()
    given = Collaborators(live, history, analyzer, writer)
    metrics = ApiMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _backend(app, settings, given):
            yield

    app = FastAPI(
        title="k8s-service-optimizer",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.api = None
    install_error_handlers(app)
    app.include_router(api_router)
    openapi.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    app.add_middleware(CachedPages)  # inside RequestGuard: hits are still size-checked and timed
    app.add_middleware(RequestGuard, metrics=metrics)
    return app
