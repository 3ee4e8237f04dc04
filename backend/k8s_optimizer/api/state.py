"""What the routes and the hub share, built by app.py's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from k8s_optimizer.api.audit import AuditLog
from k8s_optimizer.api.cache import ViewCache
from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.api.offload import ReportRenderer
from k8s_optimizer.api.ports import ComponentHealthLike, HistoryReader, LiveModel, ObjectWriter
from k8s_optimizer.api.ws.hub import Hub
from k8s_optimizer.settings import Settings


def history_source(history: object) -> str:
    """Which history answers: "prometheus" or the backend's own "sqlite" store (a fake counts as sqlite)."""
    source = getattr(history, "source", None)
    return source if isinstance(source, str) else "sqlite"


def history_health(history: object) -> ComponentHealthLike | None:
    """The history source's own health when it has one (Prometheus can be down; the store cannot)."""
    health = getattr(history, "health", None)
    return health() if callable(health) else None


@dataclass(slots=True)
class ApiState:
    """Everything the routes and the hub share; built by app.py's lifespan (the analysis is not the API's)."""

    settings: Settings
    live: LiveModel
    audit: AuditLog
    history: HistoryReader | None = None
    writer: ObjectWriter | None = None
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    views: ViewCache = field(init=False)
    reports: ReportRenderer = field(default_factory=ReportRenderer)
    hub: Hub | None = None
    cluster_name: str = "in-cluster"
    """The kubeconfig context (what the report names the cluster by)."""

    def __post_init__(self) -> None:
        self.views = ViewCache(self.live)
