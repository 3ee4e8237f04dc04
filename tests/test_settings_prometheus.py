"""The Prometheus settings: flags (KRR's names) over OPTIMIZER_* over defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from k8s_optimizer.cli import build_parser, serve_settings
from k8s_optimizer.settings import Settings


def test_unset_url_keeps_the_own_store_and_krr_defaults() -> None:
    settings = Settings()
    assert settings.prometheus_url is None
    assert settings.history_window == 14 * 86400
    assert settings.prometheus_step_seconds == 75  # KRR's 1.25 min
    assert (settings.prometheus_container_label, settings.prometheus_pod_label) == ("container", "pod")


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPTIMIZER_PROMETHEUS_URL", "http://from-env:9090")
    monkeypatch.setenv("OPTIMIZER_HISTORY_WINDOW", "7d")
    args = build_parser().parse_args(
        ["serve", "--prometheus-url", "https://prom.example:9090/", "--prometheus-bearer-token-file",
         str(tmp_path / "token"), "--prometheus-header", "X-Scope-OrgID: tenant-1", "--prometheus-header",
         "X-Other: v", "--prometheus-ca-file", str(tmp_path / "ca.pem"), "--prometheus-insecure-skip-verify",
         "--prometheus-cluster-label", "cluster", "--prometheus-cluster", "eu-1", "--history-window", "36h"]
    )  # fmt: skip
    settings = serve_settings(args)
    assert settings.prometheus_url == "https://prom.example:9090"
    assert settings.prometheus_bearer_token_file == tmp_path / "token"
    assert settings.prometheus_headers == {"X-Scope-OrgID": "tenant-1", "X-Other": "v"}
    assert settings.prometheus_ca_file == tmp_path / "ca.pem"
    assert settings.prometheus_insecure_skip_verify is True
    assert (settings.prometheus_cluster_label, settings.prometheus_cluster) == ("cluster", "eu-1")
    assert settings.history_window == 36 * 3600


def test_environment_values_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIMIZER_PROMETHEUS_URL", "http://prometheus-operated.monitoring:9090")
    monkeypatch.setenv("OPTIMIZER_HISTORY_WINDOW", "2w")
    monkeypatch.setenv("OPTIMIZER_PROMETHEUS_METRIC_QUERIES", '{"queue_depth": "max(queue{{selector}})"}')
    settings = Settings()
    assert settings.history_window == 14 * 86400
    assert settings.prometheus_metric_queries == {"queue_depth": "max(queue{{selector}})"}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROMETHEUS_URL", "prometheus:9090", "prometheus_url must start with http:// or https://"),
        ("PROMETHEUS_URL", "http://user:secret@prom:9090", "prometheus_url must not carry credentials"),
        ("HISTORY_WINDOW", "two weeks", "history_window wants a duration like 14d, 36h or 90m"),
        ("PROMETHEUS_HEADERS", "no-colon", "prometheus_headers wants 'Name: value' pairs"),
        ("PROMETHEUS_METRIC_QUERIES", "{not json", "prometheus_metric_queries wants a JSON object"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(f"OPTIMIZER_{name}", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert message in str(caught.value)
