"""Every way a Prometheus query fails gives a message naming the setting to fix (real sockets, real TLS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s_optimizer.demo_prometheus import free_port
from k8s_optimizer.prometheus.client import ClientConfig, PrometheusClient, PrometheusError, retry_after_seconds
from tests.prometheus.http_servers import busy_then_fine, needs_token, self_signed, serve, slow


async def _query(config: ClientConfig) -> object:
    client = PrometheusClient(config)
    try:
        return await client.query("up", at_seconds=1_700_000_000)
    finally:
        await client.close()


async def test_nothing_listening_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusError) as caught:
        await _query(ClientConfig(url=url))
    assert caught.value.setting == "OPTIMIZER_PROMETHEUS_URL"
    assert str(caught.value).startswith(f"cannot connect to Prometheus at {url}")


async def test_a_refused_token_names_the_token_file_and_never_shows_the_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("wrong-secret\n")
    with serve(needs_token("right-secret")) as (url, _):
        with pytest.raises(PrometheusError) as caught:
            await _query(ClientConfig(url=url, token_file=token))
        token.write_text("right-secret\n")  # re-read on every query: a rotated Secret works without a restart
        assert await _query(ClientConfig(url=url, token_file=token)) == []
    assert caught.value.setting == "OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE"
    assert str(caught.value) == (
        f"Prometheus at {url} refused the credentials (HTTP 401) (check OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE)"
    )
    assert "secret" not in str(caught.value)


async def test_an_unreadable_token_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(PrometheusError) as caught:
        await _query(ClientConfig(url="http://127.0.0.1:9", token_file=tmp_path / "missing"))
    assert caught.value.setting == "OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE"


async def test_an_unknown_certificate_names_the_ca_setting_and_the_right_ca_works(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with serve(needs_token("t"), tls=(cert, key)) as (url, _):
        with pytest.raises(PrometheusError) as caught:
            await _query(ClientConfig(url=url))
        token = tmp_path / "token"
        token.write_text("t")
        assert await _query(ClientConfig(url=url, ca_file=cert, token_file=token)) == []
        assert await _query(ClientConfig(url=url, insecure_skip_verify=True, token_file=token)) == []
    assert caught.value.setting.startswith("OPTIMIZER_PROMETHEUS_CA_FILE")
    assert "TLS verification" in str(caught.value)
    assert "failed: self-signed certificate" in str(caught.value)


async def test_a_slow_query_names_the_timeout() -> None:
    with serve(slow(3.0)) as (url, _), pytest.raises(PrometheusError) as caught:
        await _query(ClientConfig(url=url, timeout_seconds=0.5))
    assert caught.value.setting.startswith("OPTIMIZER_PROMETHEUS_QUERY_TIMEOUT_SECONDS")


async def test_429_is_retried_after_retry_after() -> None:
    with serve(busy_then_fine(2, "0.2")) as (url, answered):
        assert await _query(ClientConfig(url=url)) == []
    assert answered == [429, 429, 200]


async def test_429_for_ever_names_the_concurrency() -> None:
    with serve(busy_then_fine(99, "0")) as (url, answered), pytest.raises(PrometheusError) as caught:
        await _query(ClientConfig(url=url))
    assert answered == [429] * 4
    assert caught.value.setting == "OPTIMIZER_PROMETHEUS_CONCURRENCY"


def test_retry_after_takes_seconds_or_a_date_and_is_capped() -> None:
    assert retry_after_seconds("2", 0) == 2.0
    assert retry_after_seconds(None, 0) == 0.5
    assert retry_after_seconds(None, 3) == 4.0
    assert retry_after_seconds("3600", 0) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 0) == 0.0  # in the past
