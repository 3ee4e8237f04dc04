"""One authenticated connection to the Kubernetes API, speaking raw JSON.

Why raw JSON: the informers read 10,000 pods on a cold start, and building kubernetes_asyncio models
for them costs seconds; decoding the JSON ourselves (`_preload_content=False`) and translating dicts
costs a fraction of that. The ApiClient still does what it is good at: kubeconfig / in-cluster
loading, TLS and bearer-token refresh. Every request carries a timeout, and every failure leaves this
module as a `k8s.errors.ClusterError`. `KubeConnection.api_client()` hands the raw ApiClient to
`k8s/writer.py` (the one other module allowed to use it), with `translate_api_exception` to map its
exceptions onto the same error tree.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, cast

import aiohttp
import orjson
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException, load_incluster_config, load_kube_config

from k8s_optimizer.interpreter import GC_PAUSE
from k8s_optimizer.k8s.errors import (
    ClusterConfigError,
    ClusterError,
    ClusterUnavailableError,
    error_for_status,
)
from k8s_optimizer.settings import Settings

logger = logging.getLogger(__name__)

Json = dict[str, Any]
Query = Sequence[tuple[str, str]]

# One watch per kind (x namespaces when scoped) stays open for minutes; the client's default pool
# would make later requests queue behind them.
_CONNECTION_POOL_SIZE = 256
# Seconds a watch may stay silent beyond its own timeoutSeconds before we call the stream dead.
_WATCH_READ_SLACK_SECONDS = 30.0


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _status_message(status: int, body: bytes, path: str) -> str:
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("message"):
        return f"{status} from GET {path}: {decoded['message']}"
    return f"{status} from GET {path}"


def translate_api_exception(exc: ApiException) -> ClusterError:
    """Map a kubernetes_asyncio ApiException (as writer.py sees them) onto the adapter's errors."""
    status = int(exc.status or 0)
    headers = cast(Mapping[str, str], exc.headers or {})
    body = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
    if status == 0:
        return ClusterUnavailableError(f"request failed: {exc.reason}")
    message = _status_message(status, body, "API")
    return error_for_status(status, message, retry_after_seconds=_retry_after_seconds(headers))


class ApiReader(Protocol):
    """The reads an informer needs (KubeConnection; tests may pass a fake at this seam)."""

    async def get_json(self, path: str, query: Query = ()) -> Json: ...

    def watch(
        self, path: str, query: Query, *, watch_timeout_seconds: float
    ) -> AbstractAsyncContextManager[AsyncIterator[Json]]: ...


# Bodies above this are decoded off the event loop (a 10,000-pod metrics list is ~3.7 MB, ~25 ms of
# decoding); small ones are cheaper to decode in place than to hand to a thread.
_THREAD_DECODE_BYTES = 256 * 1024


async def _decode(body: bytes) -> Any:
    """Decode JSON with the cyclic GC paused; large bodies in a worker thread."""
    if len(body) < _THREAD_DECODE_BYTES:
        return orjson.loads(body)
    return await asyncio.to_thread(_decode_paused, body)


def _decode_paused(body: bytes) -> Any:
    with GC_PAUSE.paused():  # millions of fresh dicts; collections would walk every cached object
        return orjson.loads(body)


class KubeConnection:
    """The ApiClient plus JSON GET and watch streaming with the adapter's timeouts and errors."""

    def __init__(self, api: ApiClient, *, request_timeout_seconds: float) -> None:
        self._api = api
        self.request_timeout_seconds = request_timeout_seconds

    def api_client(self) -> ApiClient:
        """The underlying client, for k8s/writer.py (map its ApiException with translate_api_exception)."""
        return self._api

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    async def close(self) -> None:
        await self._api.close()

    async def _open(self, path: str, query: Query, client_timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        try:
            response = await self._api.call_api(
                path,
                "GET",
                query_params=list(query),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=client_timeout,
            )
        except ApiException as exc:
            raise translate_api_exception(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ClusterUnavailableError(f"GET {path} failed: {exc!r}") from exc
        response = cast(aiohttp.ClientResponse, response)
        if response.status >= 300:
            body = await self._read_quietly(response)
            response.release()
            raise error_for_status(
                response.status,
                _status_message(response.status, body, path),
                retry_after_seconds=_retry_after_seconds(response.headers),
            )
        return response

    @staticmethod
    async def _read_quietly(response: aiohttp.ClientResponse) -> bytes:
        try:
            return await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return b""

    async def get_json(self, path: str, query: Query = ()) -> Json:
        """GET path and decode the JSON body; any failure is a ClusterError."""
        timeout = aiohttp.ClientTimeout(total=self.request_timeout_seconds)
        response = await self._open(path, query, timeout)
        try:
            body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ClusterUnavailableError(f"GET {path}: body failed: {exc!r}") from exc
        finally:
            response.release()
        try:
            decoded = await _decode(body)
        except orjson.JSONDecodeError as exc:
            raise ClusterUnavailableError(f"GET {path}: response is not JSON") from exc
        if not isinstance(decoded, dict):
            raise ClusterUnavailableError(f"GET {path}: response is not a JSON object")
        return decoded

    @asynccontextmanager
    async def watch(
        self, path: str, query: Query, *, watch_timeout_seconds: float
    ) -> AsyncIterator[AsyncIterator[Json]]:
        """Open a watch stream; yields an iterator of decoded `{"type", "object"}` events."""
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.request_timeout_seconds,
            sock_read=watch_timeout_seconds + _WATCH_READ_SLACK_SECONDS,
        )
        response = await self._open(path, query, timeout)
        try:
            yield _watch_events(response, path)
        finally:
            response.close()


async def _watch_events(response: aiohttp.ClientResponse, path: str) -> AsyncIterator[Json]:
    """Split the chunked body into lines ourselves: a 10,000-line pod is longer than aiohttp's line limit."""
    pending = b""
    try:
        async for chunk in response.content.iter_any():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield _decode_event(line, path)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ClusterUnavailableError(f"watch {path} broke: {exc!r}") from exc
    if pending.strip():
        yield _decode_event(pending, path)


def _decode_event(line: bytes, path: str) -> Json:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ClusterUnavailableError(f"watch {path}: malformed event line") from exc
    if not isinstance(event, dict):
        raise ClusterUnavailableError(f"watch {path}: event is not an object")
    return event


async def connect(settings: Settings) -> KubeConnection:
    """Build the client from settings: in-cluster inside a pod (no kubeconfig given), else the kubeconfig.

    Must run inside the event loop (kubernetes_asyncio's ApiClient needs one).
    """
    configuration = cast(Configuration, type.__call__(Configuration))
    try:
        if settings.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            await load_kube_config(
                config_file=str(settings.kubeconfig) if settings.kubeconfig is not None else None,
                context=settings.context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (ConfigException, OSError, ValueError, KeyError) as exc:
        raise ClusterConfigError(f"cannot load Kubernetes configuration: {exc}") from exc
    configuration.connection_pool_maxsize = _CONNECTION_POOL_SIZE
    logger.info("connecting to Kubernetes API at %s", configuration.host)
    return KubeConnection(ApiClient(configuration), request_timeout_seconds=settings.request_timeout_seconds)
