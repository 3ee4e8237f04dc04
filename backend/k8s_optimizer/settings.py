"""Backend settings: flags override `OPTIMIZER_*` environment variables, which override these defaults.

No settings object is built at import time: the CLI (or a test) builds one and hands it to
`create_app(settings)`. Every field's docstring becomes its description in the README's table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from k8s_optimizer.domain.autoscaling import HpaControllerConfig

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str, field: str) -> float:
    """'14d', '36h', '90m', '2w' or plain seconds -> seconds; a clear error naming the field otherwise."""
    match = _DURATION.match(text)
    if match:
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{field} wants a duration like 14d, 36h or 90m, got {text!r}") from None


class PriceBook(BaseModel):
    """Prices used for cost and savings; OpenCost's defaults."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    cpu_core_hour_usd: float = Field(0.031611, ge=0)
    """Price of one vCPU for one hour."""
    memory_gib_hour_usd: float = Field(0.004237, ge=0)
    """Price of one GiB of memory for one hour."""
    hours_per_month: float = Field(730, gt=0)
    """Hours in a billing month."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPTIMIZER_", env_nested_delimiter="__", extra="ignore", use_attribute_docstrings=True
    )

    kubeconfig: Path | None = None
    """Kubeconfig file; unset: in-cluster config inside a pod, else the default kubeconfig."""
    context: str | None = None
    """Kubeconfig context to use (default: the current context)."""
    host: str = "0.0.0.0"
    """Address the backend listens on."""
    port: int = Field(8080, ge=1, le=65535)
    """Port the backend listens on."""
    data_dir: Path = Path(".data")
    """Directory of the history store (SQLite, WAL mode)."""
    namespaces: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Namespaces to watch, comma-separated; empty watches all (needs cluster-wide read)."""
    metrics_interval_seconds: float = Field(15.0, gt=0, le=3600)
    """How often metrics.k8s.io is scraped."""
    raw_retention_hours: float = Field(24.0, gt=0, le=24 * 14)
    """How long raw samples are kept (rollups are kept 14 days)."""
    request_timeout_seconds: float = Field(10.0, gt=0, le=300)
    """Timeout of every call to the Kubernetes API."""
    host_port_mappings: Annotated[dict[int, int], NoDecode] = Field(default_factory=dict)
    """kind's extraPortMappings as nodePort:hostPort pairs, e.g. '30080:3000,30081:8080'."""
    service_cidr: str = "10.96.0.0/12"
    """The cluster's Service CIDR (not discoverable through the API)."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins allowed by CORS and for the WebSocket, comma-separated; empty = same origin only."""
    apply_enabled: bool = False
    """Allow apply/rollback of recommendations (needs a token)."""
    apply_token: str | None = None
    """Bearer token for mutating endpoints."""
    apply_token_file: Path | None = None
    """File holding the bearer token (e.g. a mounted Secret); wins over apply_token."""
    policy: Literal["balanced", "krr-simple", "vpa"] = "balanced"
    """Right-sizing strategy: balanced (ours: VPA's estimate, KRR's floors, strict data gates, OOM bump),
    krr-simple (KRR's simple strategy exactly) or vpa (the VPA recommender exactly)."""
    prices: PriceBook = Field(default_factory=PriceBook)
    """Price book (OPTIMIZER_PRICES__CPU_CORE_HOUR_USD, ...)."""
    hpa: HpaControllerConfig = Field(default_factory=HpaControllerConfig)
    """The cluster's HPA controller flags the replay uses (OPTIMIZER_HPA__TOLERANCE, ...)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level."""
    prometheus_url: str | None = None
    """Prometheus-compatible server to read usage history from; unset: the backend's own SQLite history."""
    prometheus_bearer_token_file: Path | None = None
    """File holding the bearer token sent to Prometheus (re-read on every pass, so a rotated Secret works)."""
    prometheus_headers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Extra headers sent to Prometheus, e.g. 'X-Scope-OrgID: tenant-1; X-Custom: v' (semicolon-separated)."""
    prometheus_ca_file: Path | None = None
    """CA bundle (PEM) that verifies Prometheus's TLS certificate; unset: the system CAs."""
    prometheus_insecure_skip_verify: bool = False
    """Do not verify Prometheus's TLS certificate (testing only)."""
    prometheus_container_label: str = "container"
    """Label naming the container in cAdvisor and kube-state-metrics series."""
    prometheus_pod_label: str = "pod"
    """Label naming the pod in cAdvisor and kube-state-metrics series."""
    prometheus_namespace_label: str = "namespace"
    """Label naming the namespace in cAdvisor and kube-state-metrics series."""
    prometheus_cluster_label: str | None = None
    """Label that tells clusters apart in a shared store (Thanos, Mimir); set with prometheus_cluster."""
    prometheus_cluster: str | None = None
    """This cluster's value of prometheus_cluster_label."""
    history_window: Annotated[float, NoDecode] = Field(14 * 86400.0, gt=0, le=90 * 86400)
    """How far back history is read from Prometheus, e.g. '14d', '36h' (KRR's default is 14 d)."""
    prometheus_step_seconds: float = Field(75.0, gt=0, le=86400)
    """Finest query step (KRR's default 1.25 min); grows with the window and the container count."""
    prometheus_max_points: int = Field(5_000_000, ge=10_000)
    """Points per pass over the whole cluster before the step is coarsened."""
    prometheus_refresh_seconds: float = Field(300.0, gt=0, le=86400)
    """How often Prometheus is re-read (analysis passes in between use the last answer)."""
    prometheus_concurrency: int = Field(4, ge=1, le=64)
    """Queries in flight at once."""
    prometheus_query_timeout_seconds: float = Field(30.0, gt=0, le=600)
    """Timeout of one query (sent as the query's own timeout and enforced on the HTTP call)."""
    prometheus_metric_queries: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """HPA metric name -> PromQL (JSON object; {namespace}, {selector} filled in); unmapped names are used as-is."""

    @field_validator("namespaces", "cors_origins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("host_port_mappings", mode="before")
    @classmethod
    def _parse_mappings(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.strip() for part in value.split(",") if part.strip()]
            try:
                return {int(a): int(b) for a, b in (pair.split(":", 1) for pair in pairs)}
            except ValueError as exc:
                raise ValueError(f"host_port_mappings wants nodePort:hostPort pairs, got {value!r}") from exc
        return value

    @field_validator("prometheus_headers", mode="before")
    @classmethod
    def _parse_headers(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.strip() for part in value.split(";") if part.strip()]
            if any(":" not in pair for pair in pairs):
                raise ValueError("prometheus_headers wants 'Name: value' pairs separated by ';'")
            return {name.strip(): text.strip() for name, text in (pair.split(":", 1) for pair in pairs)}
        return value

    @field_validator("prometheus_metric_queries", mode="before")
    @classmethod
    def _parse_metric_queries(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"prometheus_metric_queries wants a JSON object of name -> PromQL: {exc}") from exc
        return value

    @field_validator("history_window", mode="before")
    @classmethod
    def _parse_window(cls, value: object) -> object:
        if isinstance(value, str):
            return duration_seconds(value, "history_window")
        return value

    @field_validator("prometheus_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("prometheus_url must start with http:// or https://")
        if "@" in value.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError("prometheus_url must not carry credentials; use prometheus_bearer_token_file")
        return value.rstrip("/")

    def read_prometheus_token(self) -> str | None:
        """The bearer token for Prometheus, read from its file now (None when no file is set)."""
        if self.prometheus_bearer_token_file is None:
            return None
        return self.prometheus_bearer_token_file.read_text(encoding="utf-8").strip() or None

    def read_apply_token(self) -> str | None:
        """The token from the Secret file when set, else from the environment."""
        if self.apply_token_file is not None:
            return self.apply_token_file.read_text(encoding="utf-8").strip() or None
        return self.apply_token
