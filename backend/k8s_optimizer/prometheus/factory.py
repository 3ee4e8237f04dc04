"""Build the Prometheus history source from settings (the app's only door into this package)."""

from __future__ import annotations

from k8s_optimizer.prometheus.client import ClientConfig, PrometheusClient
from k8s_optimizer.prometheus.queries import Labels, Queries
from k8s_optimizer.prometheus.source import NodeSeries, PrometheusHistory, SnapshotProvider, SourceConfig
from k8s_optimizer.settings import Settings


def client_config(settings: Settings) -> ClientConfig:
    assert settings.prometheus_url is not None
    return ClientConfig(
        url=settings.prometheus_url,
        token_file=settings.prometheus_bearer_token_file,
        headers=dict(settings.prometheus_headers),
        ca_file=settings.prometheus_ca_file,
        insecure_skip_verify=settings.prometheus_insecure_skip_verify,
        concurrency=settings.prometheus_concurrency,
        timeout_seconds=settings.prometheus_query_timeout_seconds,
    )


def queries_for(settings: Settings) -> Queries:
    return Queries(
        Labels(
            container=settings.prometheus_container_label,
            pod=settings.prometheus_pod_label,
            namespace=settings.prometheus_namespace_label,
            cluster_label=settings.prometheus_cluster_label,
            cluster=settings.prometheus_cluster,
        )
    )


def open_prometheus_history(
    settings: Settings, *, snapshot: SnapshotProvider | None = None, node_series: NodeSeries | None = None
) -> PrometheusHistory:
    config = SourceConfig(
        window_seconds=settings.history_window,
        step_seconds=settings.prometheus_step_seconds,
        max_points=settings.prometheus_max_points,
        refresh_seconds=settings.prometheus_refresh_seconds,
        namespaces=tuple(settings.namespaces),
        metric_queries=dict(settings.prometheus_metric_queries),
    )
    client = PrometheusClient(client_config(settings))
    return PrometheusHistory(client, queries_for(settings), config, snapshot=snapshot, node_series=node_series)
