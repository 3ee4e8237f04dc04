"""The only code that writes to the cluster: read, server-side dry-run and apply of strategic-merge patches.

Recommendations are applied as patches, never as whole objects, so fields we do not model survive. A
dry run goes through the real API server (`dryRun=All`): admission, defaulting and validation run and
the would-be object comes back, which is what the diff shows. Every call carries the request timeout,
and every failure leaves as a `k8s.errors.ClusterError`.
"""

from __future__ import annotations

import json
from typing import Any, cast

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.k8s.errors import ClusterInvalidError, ClusterUnavailableError, error_for_status
from k8s_optimizer.k8s.kube import KubeConnection, translate_api_exception

Json = dict[str, Any]

# kind -> (API group path, plural). Only the kinds recommendations patch.
_RESOURCES: dict[str, tuple[str, str]] = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "Service": ("/api/v1", "services"),
}
STRATEGIC_MERGE = "application/strategic-merge-patch+json"


def object_path(ref: ObjectRef) -> str:
    """The REST path of a namespaced object; ClusterInvalidError for kinds we never patch."""
    try:
        group, plural = _RESOURCES[ref.kind]
    except KeyError:
        raise ClusterInvalidError(f"kind {ref.kind!r} cannot be patched by the optimizer", status=422) from None
    return f"{group}/namespaces/{ref.namespace}/{plural}/{ref.name}"


class ClusterWriter:
    """Reads and patches single objects through the connection's ApiClient."""

    def __init__(self, connection: KubeConnection) -> None:
        self._connection = connection

    async def read(self, ref: ObjectRef) -> Json:
        """GET the object as the API server has it now."""
        return await self._connection.get_json(object_path(ref))

    async def patch(self, ref: ObjectRef, patch: Json, *, dry_run: bool) -> Json:
        """PATCH with a strategic merge patch; with dry_run the server validates but persists nothing."""
        query = [("dryRun", "All")] if dry_run else []
        query.append(("fieldManager", "k8s-optimizer"))
        return await self._call("PATCH", object_path(ref), query, patch)

    async def _call(self, method: str, path: str, query: list[tuple[str, str]], body: Json) -> Json:
        api = self._connection.api_client()
        timeout = aiohttp.ClientTimeout(total=self._connection.request_timeout_seconds)
        try:
            response = await api.call_api(
                path,
                method,
                query_params=query,
                header_params={"Accept": "application/json", "Content-Type": STRATEGIC_MERGE},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as exc:
            raise translate_api_exception(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ClusterUnavailableError(f"{method} {path} failed: {exc!r}") from exc
        return await _decode(cast(aiohttp.ClientResponse, response), method, path)


async def _decode(response: aiohttp.ClientResponse, method: str, path: str) -> Json:
    try:
        body = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ClusterUnavailableError(f"{method} {path}: body failed: {exc!r}") from exc
    finally:
        response.release()
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if response.status >= 300:
        message = decoded.get("message") if isinstance(decoded, dict) else None
        raise error_for_status(response.status, f"{response.status} from {method} {path}: {message or ''}".strip())
    if not isinstance(decoded, dict):
        raise ClusterUnavailableError(f"{method} {path}: response is not a JSON object")
    return decoded
