"""Each way Prometheus fails shows in the source's health and the log, naming the setting to fix.

The backend's /health shows this health as its `history` check (tests/prometheus/test_demo_history.py
proves that path with a real Prometheus stopped mid-run); here every failure kind goes through the
source over real sockets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from k8s_optimizer.demo_prometheus import free_port
from k8s_optimizer.prometheus.client import ClientConfig, PrometheusClient
from k8s_optimizer.prometheus.queries import Labels, Queries
from k8s_optimizer.prometheus.source import PrometheusHistory, SourceConfig
from tests.prometheus.http_servers import needs_token, self_signed, serve, slow

Case = Callable[[Path], tuple[AbstractContextManager[tuple[str, list[int]]] | None, dict[str, object]]]


def _nothing(_: Path) -> tuple[None, dict[str, object]]:
    return None, {"url": f"http://127.0.0.1:{free_port()}"}


def _token(tmp: Path) -> tuple[AbstractContextManager[tuple[str, list[int]]], dict[str, object]]:
    (tmp / "token").write_text("stale-token")
    return serve(needs_token("fresh-token")), {"token_file": tmp / "token"}


def _tls(tmp: Path) -> tuple[AbstractContextManager[tuple[str, list[int]]], dict[str, object]]:
    return serve(needs_token("t"), tls=self_signed(tmp)), {}


def _timeout(_: Path) -> tuple[AbstractContextManager[tuple[str, list[int]]], dict[str, object]]:
    return serve(slow(3.0)), {"timeout_seconds": 0.5}


def _no_series(tmp: Path) -> tuple[AbstractContextManager[tuple[str, list[int]]], dict[str, object]]:
    (tmp / "token").write_text("t")
    return serve(needs_token("t")), {"token_file": tmp / "token"}  # answers every query with no series


@pytest.mark.parametrize(
    ("case", "setting"),
    [
        (_nothing, "(check OPTIMIZER_PROMETHEUS_URL)"),
        (_token, "(check OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE)"),
        (_tls, "(check OPTIMIZER_PROMETHEUS_CA_FILE (or OPTIMIZER_PROMETHEUS_INSECURE_SKIP_VERIFY for testing))"),
        (_timeout, "(check OPTIMIZER_PROMETHEUS_QUERY_TIMEOUT_SECONDS (or a shorter OPTIMIZER_HISTORY_WINDOW))"),
        (_no_series, "(check OPTIMIZER_PROMETHEUS_URL, the OPTIMIZER_PROMETHEUS_*_LABEL settings and "
                     "OPTIMIZER_PROMETHEUS_CLUSTER)"),
    ],
    ids=["wrong-url", "wrong-token", "tls", "timeout", "missing-series"],
)  # fmt: skip
async def test_a_failure_degrades_health_and_logs_the_setting(
    case: Case, setting: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, options = case(tmp_path)
    with server if server is not None else _no_server(str(options.pop("url"))) as (url, _):
        client = PrometheusClient(ClientConfig(url=url, **options))  # type: ignore[arg-type]
        source = PrometheusHistory(client, Queries(Labels()), SourceConfig())
        with caplog.at_level(logging.WARNING, logger="k8s_optimizer.prometheus.source"):
            histories = await source.all_workload_histories(14 * 86400, 1_800_000_000)
        await source.close()
    assert histories == {}
    health = source.health()
    assert health.status == "degraded"
    assert health.reason is not None
    assert health.reason.endswith(setting)
    assert [r.getMessage() for r in caplog.records] == [f"prometheus history: {health.reason}"]


class _no_server:  # noqa: N801 (a context manager standing in for `serve` when nothing may listen)
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> tuple[str, list[int]]:
        return self.url, []

    def __exit__(self, *_: object) -> None:
        return None
