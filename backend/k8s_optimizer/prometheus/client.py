"""The Prometheus HTTP API client: one place for auth, TLS, limits, retries and error messages.

Every failure becomes a `PrometheusError` whose message names the setting a user changes to fix it
(a wrong URL, token, CA bundle or timeout), because "connection refused" alone does not say which of
five settings is wrong. Queries go out as POST forms (selectors over many pods outgrow a URL), at most
`concurrency` at a time, each with Prometheus's own `timeout` and the same timeout on the HTTP call.
429 and 503 are retried with backoff honouring Retry-After. The token never appears in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from k8s_optimizer.domain.history import HistoryUnavailableError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 503})
MAX_ATTEMPTS = 4
MAX_RETRY_WAIT_SECONDS = 30.0

Labels = dict[str, str]
Sample = tuple[float, float]


class PrometheusError(HistoryUnavailableError):
    """A query failed; `setting` is the OPTIMIZER_* variable most likely to fix it."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(f"{message} (check {setting})")
        self.setting = setting


@dataclass(frozen=True, slots=True)
class ClientConfig:
    url: str
    token_file: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    concurrency: int = 4
    timeout_seconds: float = 30.0


def _verify(config: ClientConfig) -> ssl.SSLContext | bool:
    if config.insecure_skip_verify:
        return False
    if config.ca_file is not None:
        return ssl.create_default_context(cafile=str(config.ca_file))
    return True


def retry_after_seconds(value: str | None, attempt: int) -> float:
    """Retry-After (seconds or an HTTP date) when given, else exponential backoff; capped."""
    wait: float = min(0.5 * 2.0**attempt, 8.0)
    if value:
        try:
            wait = float(value)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                wait = float(parsedate_to_datetime(value).timestamp() - time.time())
    return min(max(wait, 0.0), MAX_RETRY_WAIT_SECONDS)


class PrometheusClient:
    """Instant and range queries against one Prometheus-compatible server."""

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.queries_sent = 0
        self._limit = asyncio.Semaphore(config.concurrency)
        try:
            verify = _verify(config)
        except (OSError, ssl.SSLError) as exc:
            raise PrometheusError(
                f"the CA bundle {config.ca_file} cannot be loaded: {exc}", "OPTIMIZER_PROMETHEUS_CA_FILE"
            ) from exc
        self._http = httpx.AsyncClient(
            base_url=config.url,
            headers=dict(config.headers),
            verify=verify,
            timeout=httpx.Timeout(_http_timeout(config), connect=min(config.timeout_seconds, 10.0)),
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def query(self, expr: str, *, at_seconds: float) -> list[tuple[Labels, Sample]]:
        """An instant query → (labels, (time, value)) per series."""
        data = await self._post("/api/v1/query", {"query": expr, "time": _fmt(at_seconds)})
        return [(item["metric"], _sample(item["value"])) for item in _result(data, "vector")]

    async def query_range(
        self, expr: str, *, start_seconds: float, end_seconds: float, step_seconds: float
    ) -> list[tuple[Labels, list[Sample]]]:
        """A range query → (labels, samples) per series."""
        form = {"query": expr, "start": _fmt(start_seconds), "end": _fmt(end_seconds), "step": _fmt(step_seconds)}
        data = await self._post("/api/v1/query_range", form)
        # the hot loop of a pass (hundreds of thousands of points): no per-point function call
        return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]]) for item in _result(data, "matrix")]

    def _headers(self) -> dict[str, str]:
        if self.config.token_file is None:
            return {}
        try:
            token = self.config.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PrometheusError(
                f"the bearer token file {self.config.token_file} is unreadable ({exc.strerror})",
                "OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE",
            ) from exc
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _post(self, path: str, form: dict[str, str]) -> Any:
        form = {**form, "timeout": f"{self.config.timeout_seconds:g}s"}
        headers = self._headers()
        async with self._limit:
            for attempt in range(MAX_ATTEMPTS):
                self.queries_sent += 1
                response = await self._send(path, form, headers)
                if response.status_code not in RETRY_STATUSES or attempt == MAX_ATTEMPTS - 1:
                    return _decode(response, self.config)
                wait = retry_after_seconds(response.headers.get("Retry-After"), attempt)
                logger.info("prometheus answered %s; retrying in %.1f s", response.status_code, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _send(self, path: str, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        url = self.config.url
        try:
            return await asyncio.wait_for(
                self._http.post(path, data=form, headers=headers), timeout=_http_timeout(self.config)
            )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise PrometheusError(
                f"a query to Prometheus took longer than {self.config.timeout_seconds:g} s",
                "OPTIMIZER_PROMETHEUS_QUERY_TIMEOUT_SECONDS (or a shorter OPTIMIZER_HISTORY_WINDOW)",
            ) from exc
        except httpx.ConnectError as exc:
            if _is_tls(exc):
                raise PrometheusError(
                    f"TLS verification of {url} failed: {_tls_reason(exc)}",
                    "OPTIMIZER_PROMETHEUS_CA_FILE (or OPTIMIZER_PROMETHEUS_INSECURE_SKIP_VERIFY for testing)",
                ) from exc
            raise PrometheusError(f"cannot connect to Prometheus at {url}: {exc}", "OPTIMIZER_PROMETHEUS_URL") from exc
        except httpx.HTTPError as exc:
            raise PrometheusError(f"request to Prometheus at {url} failed: {exc}", "OPTIMIZER_PROMETHEUS_URL") from exc


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE" in str(seen).upper() or "SSL" in str(seen).upper():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tls_reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return getattr(seen, "verify_message", None) or getattr(seen, "reason", None) or str(seen)
        seen = seen.__cause__ or seen.__context__
    return str(exc)


def _decode(response: httpx.Response, config: ClientConfig) -> Any:
    status = response.status_code
    if status in (401, 403):
        raise PrometheusError(
            f"Prometheus at {config.url} refused the credentials (HTTP {status})",
            "OPTIMIZER_PROMETHEUS_BEARER_TOKEN_FILE",
        )
    if status == 404:
        raise PrometheusError(
            f"no Prometheus query API at {config.url} (HTTP 404); give the server's base URL",
            "OPTIMIZER_PROMETHEUS_URL",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if status in RETRY_STATUSES:
        raise PrometheusError(
            f"Prometheus is overloaded or unavailable (HTTP {status} after {MAX_ATTEMPTS} attempts)",
            "OPTIMIZER_PROMETHEUS_CONCURRENCY",
        )
    if not isinstance(body, dict) or body.get("status") != "success":
        return _failed(body, status, config)
    return body.get("data")


def _failed(body: object, status: int, config: ClientConfig) -> Any:
    error_type = body.get("errorType") if isinstance(body, dict) else None
    error = body.get("error") if isinstance(body, dict) else None
    if error_type == "timeout" or (isinstance(error, str) and "timeout" in error.lower()):
        raise PrometheusError(
            f"Prometheus gave up on a query after {config.timeout_seconds:g} s ({error})",
            "OPTIMIZER_PROMETHEUS_QUERY_TIMEOUT_SECONDS (or a shorter OPTIMIZER_HISTORY_WINDOW)",
        )
    if body is None:
        raise PrometheusError(
            f"{config.url} did not answer like a Prometheus API (HTTP {status})", "OPTIMIZER_PROMETHEUS_URL"
        )
    raise PrometheusError(
        f"Prometheus rejected a query (HTTP {status}, {error_type}: {error})",
        "OPTIMIZER_PROMETHEUS_METRIC_QUERIES and the OPTIMIZER_PROMETHEUS_*_LABEL settings",
    )


def _result(data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind:
        found = data.get("resultType") if isinstance(data, dict) else None
        raise PrometheusError(f"Prometheus answered a {found} where a {kind} was expected", "OPTIMIZER_PROMETHEUS_URL")
    result = data.get("result")
    return result if isinstance(result, list) else []


def _sample(pair: list[Any]) -> Sample:
    value = float(pair[1])
    return float(pair[0]), value


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if not math.isclose(seconds, round(seconds)) else str(round(seconds))


def _http_timeout(config: ClientConfig) -> float:
    """The HTTP call waits a little longer than the query's own timeout, so Prometheus's answer says why."""
    return config.timeout_seconds + min(5.0, config.timeout_seconds)
