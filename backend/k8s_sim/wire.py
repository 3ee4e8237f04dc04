"""The API server's wire contract: what a request names, how bodies are read and how errors are answered.

Shared by the read, write and watch handlers so they all parse parameters and render `Status` errors the
same way a kube-apiserver does (a bad parameter is a 400 naming it, never a 500).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from k8s_sim.clock import SimClock
from k8s_sim.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from k8s_sim.store import ApiError, ObjectStore, ResourceType

Obj = dict[str, Any]
JSON = "application/json"
METRICS_GROUP = "metrics.k8s.io"


class MetricsSource(Protocol):
    """metrics.k8s.io as the cluster computes it (complete PodMetrics/NodeMetrics dicts)."""

    def pod_metrics(self, namespace: str | None) -> list[Obj]: ...
    def pod_metric(self, namespace: str, name: str) -> Obj | None: ...
    def node_metrics(self) -> list[Obj]: ...
    def node_metric(self, name: str) -> Obj | None: ...


class Cluster(Protocol):
    """What the API server needs from the EmbeddedCluster (sim/cluster.py)."""

    @property
    def store(self) -> ObjectStore: ...
    @property
    def clock(self) -> SimClock: ...
    @property
    def metrics(self) -> MetricsSource: ...
    async def advance(self, seconds: float) -> None: ...
    def set_load(self, namespace: str, name: str, *, enabled: bool, rps: float | None = None) -> None: ...
    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Target:
    """What a request path names: a collection (name None) or one object, maybe a subresource."""

    rt: ResourceType
    namespace: str | None  # None: all namespaces (namespaced types) or a cluster-scoped type
    name: str | None = None
    subresource: str | None = None


# -- responses and errors ------------------------------------------------------------------------------
def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def status_response(error: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(error.status(), error.code, headers)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, name: str, field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'{kind} "{name}" is invalid: {field}: {message}',
        details={"name": name, "kind": kind, "causes": [{"field": field, "message": message}]},
    )


def method_not_allowed(verb: str, rt: ResourceType) -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({verb} {rt.plural})"
    )


def require_verb(verb: str, rt: ResourceType) -> None:
    if verb not in rt.verbs:
        raise method_not_allowed(verb, rt)


# -- request parameters --------------------------------------------------------------------------------
def wants_table(request: web.Request) -> bool:
    """kubectl asks `application/json;as=Table;v=v1;g=meta.k8s.io` to get the server's columns."""
    return "as=Table" in request.headers.get("Accept", "")


def is_watch(request: web.Request) -> bool:
    return request.query.get("watch", "").lower() in ("true", "1")  # kubernetes_asyncio sends "True"


def dry_run(request: web.Request, options: Obj | None = None) -> bool:
    values = request.query.getall("dryRun", [])
    if options and options.get("dryRun"):
        values = [*values, *options["dryRun"]]
    unknown = [value for value in values if value != "All"]
    if unknown:
        raise bad_request(f'dryRun: Unsupported value: {unknown[0]!r}: supported values: "All"')
    return bool(values)


def query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: invalid value {raw!r}: must be an integer") from None
    if value < 0:
        raise bad_request(f"{name}: invalid value {raw!r}: must be non-negative")
    return value


def selectors(request: web.Request, rt: ResourceType) -> tuple[LabelSelector, FieldSelector]:
    try:
        return (
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector"), rt.kind),
        )
    except SelectorError as error:
        raise bad_request(str(error)) from None


def matches(obj: Obj, labels: LabelSelector, fields: FieldSelector) -> bool:
    return labels.matches(obj.get("metadata", {}).get("labels")) and fields.matches(obj)


def object_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


# -- bodies --------------------------------------------------------------------------------------------
async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    content_type = request.headers.get("Content-Type", JSON).split(";")[0].strip()
    if "protobuf" in content_type:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format ({content_type}); only JSON is accepted",
        )
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad_request(f"the body of the request is not valid JSON: {error}") from None


def object_body(body: Any, rt: ResourceType) -> Obj:
    if not isinstance(body, dict):
        raise bad_request(f"the body of the request must be a JSON object ({rt.kind})")
    kind = body.get("kind")
    if kind and kind != rt.kind:
        raise bad_request(f"the body's kind {kind!r} does not match the resource {rt.plural!r} (kind {rt.kind!r})")
    metadata = body.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise bad_request("metadata: must be a JSON object")
    return body
