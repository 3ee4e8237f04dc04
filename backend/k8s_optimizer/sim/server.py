"""The embedded cluster's API server: the Kubernetes REST protocol over aiohttp, served from the ObjectStore.

Real clients (kubectl, `kubernetes`, kubernetes_asyncio) must not be able to tell this from a kube-apiserver
for everything the optimizer and its users do: discovery, list with pagination and selectors, watch with
resume/bookmarks/410, the three patch formats, status/scale subresources, dry-run, garbage collection and
Status errors with the right codes. It knows nothing about controllers: it reads and writes the store and
asks the cluster only for metrics (metrics.k8s.io is computed, not stored) and the /sim/v1 control verbs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import copy
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from k8s_optimizer.sim import discovery, tables
from k8s_optimizer.sim.clock import SimClock
from k8s_optimizer.sim.faults import Faults, FaultSpecError, parse_faults
from k8s_optimizer.sim.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from k8s_optimizer.sim.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    format_selector,
    parse_field_selector,
    parse_label_selector,
)
from k8s_optimizer.sim.store import ApiError, ObjectStore, ResourceType, WatchEvent, not_found

Obj = dict[str, Any]
log = logging.getLogger(__name__)

METRICS_GROUP = "metrics.k8s.io"
DEFAULT_WATCH_TIMEOUT_SECONDS = 1800.0
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_JSON = "application/json"
_PATCHERS: dict[str, Callable[[Any, Any], Any]] = {
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/merge-patch+json": json_merge_patch,
    "application/json-patch+json": json_patch,
}


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


# -- helpers -------------------------------------------------------------------------------------------
def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type=_JSON, headers=headers)


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


def _wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "as=Table" in accept


def _dry_run(request: web.Request, options: Obj | None = None) -> bool:
    values = request.query.getall("dryRun", [])
    if options and options.get("dryRun"):
        values = [*values, *options["dryRun"]]
    unknown = [value for value in values if value != "All"]
    if unknown:
        raise bad_request(f'dryRun: Unsupported value: {unknown[0]!r}: supported values: "All"')
    return bool(values)


def _query_int(request: web.Request, name: str, default: int) -> int:
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


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    content_type = request.headers.get("Content-Type", _JSON).split(";")[0].strip()
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


def _object_body(body: Any, rt: ResourceType) -> Obj:
    if not isinstance(body, dict):
        raise bad_request(f"the body of the request must be a JSON object ({rt.kind})")
    kind = body.get("kind")
    if kind and kind != rt.kind:
        raise bad_request(f"the body's kind {kind!r} does not match the resource {rt.plural!r} (kind {rt.kind!r})")
    metadata = body.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise bad_request("metadata: must be a JSON object")
    return body


# -- continue tokens -----------------------------------------------------------------------------------
def _encode_continue(revision: int, last_key: tuple[str, str]) -> str:
    payload = json.dumps({"rv": revision, "start": list(last_key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(payload["rv"]), (str(payload["start"][0]), str(payload["start"][1]))
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue: invalid value: the continue token is malformed") from None


# -- the API -------------------------------------------------------------------------------------------
class KubeApi:
    """Request handlers of the Kubernetes REST API over one cluster."""

    def __init__(self, cluster: Cluster, faults: Faults, *, bookmark_interval_seconds: float = 10.0) -> None:
        self.cluster = cluster
        self.faults = faults
        self.bookmark_interval_seconds = bookmark_interval_seconds

    @property
    def store(self) -> ObjectStore:
        return self.cluster.store

    # -- discovery ---------------------------------------------------------------------------------
    async def discovery_root(self, request: web.Request) -> web.Response:
        if request.path.rstrip("/") == "/api":
            return json_response(discovery.api_versions(f"{request.host}"))
        return json_response(discovery.api_group_list(self.store.types()))

    # -- routing -----------------------------------------------------------------------------------
    async def core(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.match_info["tail"].split("/") if s]
        version, rest = (segments[0], segments[1:]) if segments else ("", [])
        return await self._dispatch(request, "", version, rest)

    async def grouped(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.match_info["tail"].split("/") if s]
        if len(segments) == 1:
            group = discovery.api_group(self.store.types(), segments[0])
            if group is None:
                raise ApiError(
                    404, "NotFound", f"the server could not find the requested resource (group {segments[0]})"
                )
            return json_response(group)
        return await self._dispatch(request, segments[0], segments[1], segments[2:])

    async def _dispatch(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        if not rest:
            resources = discovery.api_resource_list(self.store.types(), group, version)
            if resources is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(resources)
        target = self._target(group, version, rest)
        if target.rt.group == METRICS_GROUP:
            return self._metrics(request, target)
        return await self._verb(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and self._type(group, version, rest[2]) is not None:
            namespace, rest = rest[1], rest[2:]
        rt = self._type(group, version, rest[0])
        if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and subresource not in rt.subresources:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({rt.plural}/{subresource})"
            )
        if name is not None and rt.namespaced and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(rt, namespace, name, subresource)

    def _type(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.store.type_for(group, plural)
        return rt if rt is not None and rt.version == version else None

    async def _verb(self, request: web.Request, target: Target) -> web.StreamResponse:
        method = request.method
        if target.name is None:
            if method == "GET":
                watching = request.query.get("watch", "").lower() in ("true", "1")
                return await self.watch(request, target) if watching else self.list_collection(request, target)
            if method == "POST":
                return await self.create(request, target)
            if method == "DELETE":
                return await self.delete_collection(request, target)
        else:
            handler = {"GET": self.get, "PUT": self.update, "PATCH": self.patch, "DELETE": self.delete}.get(method)
            if handler is not None:
                return await handler(request, target)
        raise method_not_allowed(method.lower(), target.rt)

    def _allow(self, verb: str, rt: ResourceType) -> None:
        if verb not in rt.verbs:
            raise method_not_allowed(verb, rt)

    # -- reads -------------------------------------------------------------------------------------
    def _selectors(self, request: web.Request, rt: ResourceType) -> tuple[LabelSelector, FieldSelector]:
        try:
            return (
                parse_label_selector(request.query.get("labelSelector")),
                parse_field_selector(request.query.get("fieldSelector"), rt.kind),
            )
        except SelectorError as error:
            raise bad_request(str(error)) from None

    def list_collection(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("list", rt)
        labels, fields = self._selectors(request, rt)
        limit = _query_int(request, "limit", 0)
        items, list_meta = self._page(target, labels, fields, limit, request.query.get("continue", ""))
        if _wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return json_response(
                tables.table(
                    rt.kind, items, self.cluster.clock.now_seconds(), include_object=include, list_meta=list_meta
                )
            )
        return json_response(
            {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": list_meta, "items": items}
        )

    def _page(
        self, target: Target, labels: LabelSelector, fields: FieldSelector, limit: int, token: str
    ) -> tuple[list[Obj], Obj]:
        """One page in (namespace, name) order; the continue token carries the list's revision and last key."""
        rt, store = target.rt, self.store
        keys = store.sorted_keys(rt)
        low, high = 0, len(keys)
        if target.namespace is not None:
            low = bisect.bisect_left(keys, (target.namespace, ""))
            high = bisect.bisect_left(keys, (target.namespace + "\0", ""))
        revision = store.revision
        if token:
            revision, last_key = _decode_continue(token)
            if revision + 1 < store.oldest_resumable:
                raise ApiError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.",
                )
            low = max(low, bisect.bisect_right(keys, last_key))
        filtered = not labels.empty or not fields.empty
        items: list[Obj] = []
        meta: Obj = {"resourceVersion": str(revision)}
        for index in range(low, high):
            obj = store.get(rt, *keys[index])
            if obj is None or (filtered and not self._matches(obj, labels, fields)):
                continue
            items.append(obj)
            if limit and len(items) == limit and index + 1 < high:
                meta["continue"] = _encode_continue(revision, keys[index])
                if not filtered:
                    meta["remainingItemCount"] = high - index - 1
                break
        return items, meta

    @staticmethod
    def _matches(obj: Obj, labels: LabelSelector, fields: FieldSelector) -> bool:
        return labels.matches(obj.get("metadata", {}).get("labels")) and fields.matches(obj)

    async def get(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("get", rt)
        obj = self.store.require(rt, target.namespace or "", target.name or "")
        if target.subresource == "scale":
            return json_response(self._scale_of(obj))
        if _wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return json_response(
                tables.table(rt.kind, [obj], self.cluster.clock.now_seconds(), include_object=include, list_meta=meta)
            )
        return json_response(obj)

    # -- watch -------------------------------------------------------------------------------------
    async def watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        self._allow("watch", target.rt)
        labels, fields = self._selectors(request, target.rt)
        timeout_seconds = float(_query_int(request, "timeoutSeconds", 0)) or DEFAULT_WATCH_TIMEOUT_SECONDS
        if self.faults.spec.watch_drop_seconds is not None:
            timeout_seconds = min(timeout_seconds, self.faults.spec.watch_drop_seconds)
        bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        as_table = _wants_table(request)
        stream = WatchStream(self, target, labels, fields, as_table, request.query.get("includeObject", "Metadata"))
        queue = self.store.open_watch()
        try:
            backlog = self._watch_backlog(request, target)
            response = web.StreamResponse(headers={"Content-Type": _JSON, "Cache-Control": "no-cache"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            if backlog is None:
                await response.write(stream.expired(request.query.get("resourceVersion", "")))
                return response
            if request.query.get("resourceVersion", "") not in ("", "0"):
                stream.assume_held(backlog)
            await stream.send(response, backlog)
            await stream.follow(response, queue, timeout_seconds, self.bookmark_interval_seconds if bookmarks else None)
            return response
        finally:
            self.store.close_watch(queue)

    def _watch_backlog(self, request: web.Request, target: Target) -> list[WatchEvent] | None:
        """Events the watch starts with: current state when resourceVersion is unset/0, else the log since it."""
        raw = request.query.get("resourceVersion", "")
        if raw in ("", "0"):
            revision = self.store.revision
            namespace = target.namespace
            return [
                WatchEvent("ADDED", target.rt, obj, revision) for obj in self.store.list_objects(target.rt, namespace)
            ]
        try:
            since = int(raw)
        except ValueError:
            raise bad_request(f"resourceVersion: invalid value {raw!r}") from None
        return self.store.events_since(since)

    # -- writes ------------------------------------------------------------------------------------
    def _check_namespace(self, rt: ResourceType, obj: Obj, namespace: str | None) -> str:
        meta = obj["metadata"]
        if not rt.namespaced:
            return ""
        body_ns = meta.get("namespace")
        if body_ns and namespace and body_ns != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        ns = namespace or body_ns or ""
        meta["namespace"] = ns
        namespaces = self.store.type_for("", "namespaces")
        if namespaces is not None and self.store.get(namespaces, "", ns) is None:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})
        return ns

    async def create(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("create", rt)
        if target.namespace is None and rt.namespaced:
            raise method_not_allowed("create", rt)
        obj = _object_body(await _read_json(request), rt)
        self._check_namespace(rt, obj, target.namespace)
        name = obj["metadata"].get("name") or ""
        if name and (len(name) > 253 or not _NAME.match(name)):
            raise invalid(
                rt.kind,
                name,
                "metadata.name",
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
                "alphanumeric characters, '-' or '.'",
            )
        for server_set in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
            obj["metadata"].pop(server_set, None)
        if "status" in rt.subresources and rt.kind != "Node":
            # Status is written through /status by controllers, as on a real server (Nodes register with it).
            obj.pop("status", None)
        created = self.store.create(rt, obj, dry_run=_dry_run(request))
        return json_response(created, 201)

    def _precondition(self, rt: ResourceType, current: Obj, requested_rv: str | None) -> None:
        if requested_rv and requested_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f"Operation cannot be fulfilled on {rt.plural}{'.' + rt.group if rt.group else ''} "
                f'"{current["metadata"]["name"]}": the object has been modified; please apply your changes '
                "to the latest version and try again",
                details={"name": current["metadata"]["name"], "group": rt.group, "kind": rt.plural},
            )

    def _merge_for_subresource(self, target: Target, current: Obj, proposed: Obj) -> Obj:
        """Status writes change only status; main-resource writes never change status (if it has /status)."""
        if target.subresource == "status":
            merged = copy.deepcopy(current)
            merged["status"] = proposed.get("status") or {}
            return merged
        if "status" in target.rt.subresources:
            proposed.pop("status", None)
            if "status" in current:
                proposed["status"] = current["status"]
        return proposed

    def _write(self, request: web.Request, target: Target, current: Obj, proposed: Obj, dry_run: bool) -> Obj:
        rt = target.rt
        meta = proposed.setdefault("metadata", {})
        requested_rv = meta.get("resourceVersion")
        self._precondition(rt, current, requested_rv)
        if meta.get("name", current["metadata"]["name"]) != current["metadata"]["name"]:
            raise bad_request("the name of the object does not match the name on the URL")
        meta["name"] = current["metadata"]["name"]
        if rt.namespaced:
            if meta.get("namespace", target.namespace) != target.namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = target.namespace
        merged = self._merge_for_subresource(target, current, proposed)
        return self.store.update(rt, merged, expect_rv=current["metadata"]["resourceVersion"], dry_run=dry_run)

    async def update(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("update", rt)
        body = _object_body(await _read_json(request), rt if target.subresource != "scale" else _SCALE_TYPE)
        current = self.store.require(rt, target.namespace or "", target.name or "")
        dry_run = _dry_run(request)
        if target.subresource == "scale":
            return json_response(self._write_scale(request, target, current, body, dry_run))
        return json_response(self._write(request, target, current, body, dry_run))

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("patch", rt)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        patcher = _PATCHERS.get(content_type)
        if patcher is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(_PATCHERS)}",
            )
        body = await _read_json(request)
        current = self.store.require(rt, target.namespace or "", target.name or "")
        dry_run = _dry_run(request)
        base = self._scale_of(current) if target.subresource == "scale" else current
        patched = _apply_patch(patcher, base, body)
        if target.subresource == "scale":
            return json_response(self._write_scale(request, target, current, patched, dry_run))
        return json_response(self._write(request, target, current, patched, dry_run))

    async def delete(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("delete", rt)
        if target.subresource is not None:
            raise method_not_allowed("delete", rt)
        options = await self._delete_options(request)
        current = self.store.require(rt, target.namespace or "", target.name or "")
        preconditions = options.get("preconditions") or {}
        self._precondition(rt, current, preconditions.get("resourceVersion"))
        if preconditions.get("uid") and preconditions["uid"] != current["metadata"].get("uid"):
            raise ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {current['metadata'].get('uid')}",
            )
        gone = self.store.delete_cascade(
            rt,
            target.namespace or "",
            target.name or "",
            propagation=self._propagation(request, options),
            dry_run=_dry_run(request, options),
        )
        return json_response(gone)

    async def delete_collection(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        self._allow("deletecollection", rt)
        options = await self._delete_options(request)
        labels, fields = self._selectors(request, rt)
        dry_run = _dry_run(request, options)
        propagation = self._propagation(request, options)
        doomed = [obj for obj in self.store.list_objects(rt, target.namespace) if self._matches(obj, labels, fields)]
        gone = [
            self.store.delete_cascade(
                rt,
                obj["metadata"].get("namespace", ""),
                obj["metadata"]["name"],
                propagation=propagation,
                dry_run=dry_run,
            )
            for obj in doomed
        ]
        return json_response(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.revision)},
                "items": gone,
            }
        )

    async def _delete_options(self, request: web.Request) -> Obj:
        if not request.can_read_body:
            return {}
        body = await _read_json(request)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise bad_request("the body of a delete request must be a DeleteOptions object")
        return body

    @staticmethod
    def _propagation(request: web.Request, options: Obj) -> str:
        policy = str(request.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background")
        if policy not in ("Background", "Foreground", "Orphan"):
            raise bad_request(
                f'propagationPolicy: Unsupported value: "{policy}": '
                'supported values: "Foreground", "Background", "Orphan"'
            )
        if options.get("orphanDependents") is True:
            return "Orphan"
        return policy

    # -- scale subresource -------------------------------------------------------------------------
    def _scale_of(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                key: meta[key]
                for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if key in meta
            },
            "spec": {"replicas": int(obj.get("spec", {}).get("replicas", 1))},
            "status": {
                "replicas": int(obj.get("status", {}).get("replicas", 0)),
                "selector": format_selector(obj.get("spec", {}).get("selector")),
            },
        }

    def _write_scale(self, request: web.Request, target: Target, current: Obj, scale: Obj, dry_run: bool) -> Obj:
        name = current["metadata"]["name"]
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise invalid(
                "Scale", name, "spec.replicas", f"Invalid value: {json.dumps(replicas)}: must be a non-negative integer"
            )
        self._precondition(target.rt, current, (scale.get("metadata") or {}).get("resourceVersion"))
        updated = copy.deepcopy(current)
        updated.setdefault("spec", {})["replicas"] = replicas
        stored = self.store.update(
            target.rt, updated, expect_rv=current["metadata"]["resourceVersion"], dry_run=dry_run
        )
        return self._scale_of(stored)

    # -- metrics.k8s.io ----------------------------------------------------------------------------
    def _metrics(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        if request.method != "GET" or request.query.get("watch", "").lower() in ("true", "1"):
            verb = "watch" if request.method == "GET" else request.method.lower()
            raise method_not_allowed(verb, rt)
        source = self.cluster.metrics
        if target.name is not None:
            found = (
                source.pod_metric(target.namespace or "", target.name)
                if rt.namespaced
                else source.node_metric(target.name)
            )
            if found is None:
                raise not_found(rt, target.name)
            return json_response(found)
        labels, fields = self._selectors(request, rt)
        items = source.pod_metrics(target.namespace) if rt.namespaced else source.node_metrics()
        selected = [item for item in items if self._matches(item, labels, fields)]
        meta = {"resourceVersion": ""}
        if _wants_table(request):
            return json_response(tables.table(rt.kind, selected, self.cluster.clock.now_seconds(), list_meta=meta))
        return json_response(
            {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": selected}
        )


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


_SCALE_TYPE = ResourceType("autoscaling", "v1", "scale", "Scale", True)


def _apply_patch(patcher: Callable[[Any, Any], Any], base: Obj, body: Any) -> Obj:
    try:
        patched = patcher(base, body)
    except PatchError as error:
        reason = "BadRequest" if error.code == 400 else "Invalid"
        raise ApiError(error.code, reason, error.message) from None
    if not isinstance(patched, dict):
        raise ApiError(422, "Invalid", "the patch replaced the object with a non-object")
    return patched


class WatchStream:
    """One watch response: filtering, Table conversion, bookmarks and the end of the stream."""

    def __init__(
        self, api: KubeApi, target: Target, labels: LabelSelector, fields: FieldSelector, as_table: bool, include: str
    ) -> None:
        self.api = api
        self.target = target
        self.labels = labels
        self.fields = fields
        self.as_table = as_table
        self.include = include
        self.sent_columns = False
        self.filtered = not (labels.empty and fields.empty)
        # With selectors, an object that starts or stops matching is ADDED/DELETED for this watch, as
        # on a real server: remember which objects the client currently holds.
        self.matching: set[tuple[str, str]] = set()
        if self.filtered:
            current = api.store.list_objects(target.rt, target.namespace)
            self.matching = {_key(obj) for obj in current if KubeApi._matches(obj, labels, fields)}

    def assume_held(self, backlog: Iterable[WatchEvent]) -> None:
        """On resume the client's selection at that version is unknown: objects that already existed then
        (their first replayed event is not ADDED) may be held, so leaving the selection reports DELETED."""
        if not self.filtered:
            return
        seen: set[tuple[str, str]] = set()
        for event in backlog:
            key = _key(event.object)
            if key not in seen and event.type != "ADDED" and self._relevant(event):
                self.matching.add(key)
            seen.add(key)

    def _relevant(self, event: WatchEvent) -> bool:
        target = self.target
        if event.resource.key != target.rt.key:
            return False
        return target.namespace is None or event.object.get("metadata", {}).get("namespace") == target.namespace

    def _event_type(self, event: WatchEvent) -> str | None:
        """The type this watch reports for `event`, or None to skip it."""
        if not self._relevant(event):
            return None
        if not self.filtered:
            return event.type
        key = _key(event.object)
        held = key in self.matching
        if event.type == "DELETED":
            self.matching.discard(key)
            return "DELETED" if held or KubeApi._matches(event.object, self.labels, self.fields) else None
        if KubeApi._matches(event.object, self.labels, self.fields):
            self.matching.add(key)
            return "MODIFIED" if held and event.type == "MODIFIED" else "ADDED"
        self.matching.discard(key)
        return "DELETED" if held else None

    def _encode(self, event_type: str, obj: Obj) -> bytes:
        if self.as_table and event_type != "ERROR" and event_type != "BOOKMARK":
            now = self.api.cluster.clock.now_seconds()
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            obj = tables.table(
                self.target.rt.kind,
                [obj],
                now,
                include_object=self.include,
                list_meta=meta,
                with_columns=not self.sent_columns,
            )
            self.sent_columns = True
        return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"

    def expired(self, resource_version: str) -> bytes:
        error = ApiError(
            410, "Expired", f"too old resource version: {resource_version} ({self.api.store.oldest_resumable})"
        )
        return self._encode("ERROR", error.status())

    async def send(self, response: web.StreamResponse, events: Iterable[WatchEvent]) -> None:
        chunk: list[bytes] = []
        for event in events:
            event_type = self._event_type(event)
            if event_type is not None:
                chunk.append(self._encode(event_type, event.object))
            if len(chunk) >= 256:
                await response.write(b"".join(chunk))
                chunk = []
        if chunk:
            await response.write(b"".join(chunk))

    async def follow(
        self,
        response: web.StreamResponse,
        queue: asyncio.Queue[WatchEvent | None],
        timeout_seconds: float,
        bookmark_seconds: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        while (remaining := deadline - loop.time()) > 0:
            wait = min(remaining, bookmark_seconds) if bookmark_seconds else remaining
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if bookmark_seconds and deadline - loop.time() > 0:
                    await response.write(self._bookmark())
                continue
            if event is None:
                return  # dropped (fault injection or shutdown): the client resumes from its last rv
            batch = [event]
            while not queue.empty():
                queued = queue.get_nowait()
                if queued is None:
                    await self.send(response, batch)
                    return
                batch.append(queued)
            await self.send(response, batch)

    def _bookmark(self) -> bytes:
        rt = self.target.rt
        obj = {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(self.api.store.revision)},
        }
        return json.dumps({"type": "BOOKMARK", "object": obj}, separators=(",", ":")).encode() + b"\n"


# -- control endpoints (/sim/v1) -----------------------------------------------------------------------
class Control:
    """Test and demo controls: time, load, faults and status. Never subject to fault injection."""

    def __init__(self, cluster: Cluster, faults: Faults) -> None:
        self.cluster = cluster
        self.faults = faults

    async def status(self, request: web.Request) -> web.Response:
        return json_response(
            {**self.cluster.status(), "revision": self.cluster.store.revision, "faults": self.faults.describe()}
        )

    async def get_faults(self, request: web.Request) -> web.Response:
        return json_response(self.faults.describe())

    async def set_faults(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        spec = body.get("spec", "")
        if not isinstance(spec, str):
            raise bad_request("spec: must be a string like 'watch-drop=5,error-rate=0.2'")
        try:
            self.faults.set(parse_faults(spec))
        except FaultSpecError as error:
            raise bad_request(f"spec: {error}") from None
        return json_response(self.faults.describe())

    async def advance(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise bad_request("seconds: required, a non-negative number of simulated seconds")
        await self.cluster.advance(float(seconds))
        return json_response(self.cluster.status())

    async def load(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        for field in ("namespace", "name"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise bad_request(f"{field}: required, a non-empty string")
        if not isinstance(body.get("enabled"), bool):
            raise bad_request("enabled: required, true or false")
        rps = body.get("rps")
        if rps is not None and (not isinstance(rps, (int, float)) or isinstance(rps, bool) or rps < 0):
            raise bad_request("rps: must be a non-negative number or null")
        try:
            self.cluster.set_load(
                body["namespace"], body["name"], enabled=body["enabled"], rps=None if rps is None else float(rps)
            )
        except KeyError as error:
            raise ApiError(404, "NotFound", f"no load source for {body['namespace']}/{body['name']}: {error}") from None
        return json_response(self.cluster.status())


async def _control_body(request: web.Request) -> Obj:
    body = await _read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


# -- middleware and the application --------------------------------------------------------------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return status_response(error)


def _fault_middleware(faults: Faults) -> Middleware:
    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/sim/"):
            return await handler(request)
        spec = faults.spec
        if spec.latency_ms > 0:
            await asyncio.sleep(spec.latency_ms / 1000)
        code = faults.injected_error()
        if code is not None:
            return _injected(code, spec.retry_after_seconds)
        if request.path.startswith(f"/apis/{METRICS_GROUP}") and faults.metrics_unavailable():
            return status_response(
                ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
            )
        return await handler(request)

    return inject


def _injected(code: int, retry_after_seconds: int | None) -> web.Response:
    reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
    message = (
        "injected fault: "
        + {
            429: "too many requests, please try again later",
            500: "an error on the server",
            503: "the server is currently unable to handle the request",
        }[code]
    )
    details: Obj = {"retryAfterSeconds": retry_after_seconds} if retry_after_seconds is not None else {}
    headers = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds is not None else None
    return status_response(ApiError(code, reasons[code], message, details=details), headers)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _version(request: web.Request) -> web.Response:
    return json_response(discovery.version())


def _openapi(cluster: Cluster) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        tail = request.match_info.get("tail", "").strip("/")
        types = cluster.store.types()
        if not tail:
            return json_response(discovery.openapi_v3_root(types))
        parts = tail.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else (parts[-2], parts[-1])
        document = discovery.openapi_v3_group(types, group, version) if len(parts) in (2, 3) else None
        if document is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(document)

    return serve


def build_app(cluster: Cluster, faults: Faults, *, bookmark_interval_seconds: float = 10.0) -> web.Application:
    """The aiohttp application serving the Kubernetes API and /sim/v1 for `cluster`."""
    api = KubeApi(cluster, faults, bookmark_interval_seconds=bookmark_interval_seconds)
    control = Control(cluster, faults)
    app = web.Application(middlewares=[_errors, _fault_middleware(faults)], client_max_size=64 * 1024 * 1024)
    router = app.router
    router.add_get("/version", _version)
    router.add_get("/version/", _version)  # kubernetes_asyncio's VersionApi asks with a trailing slash
    for probe in ("/healthz", "/livez", "/readyz"):
        router.add_get(probe, _ok)
    router.add_get("/openapi/v3", _openapi(cluster))
    router.add_get("/openapi/v3/{tail:.+}", _openapi(cluster))
    router.add_get("/api", api.discovery_root)
    router.add_get("/apis", api.discovery_root)
    router.add_route("*", "/api/{tail:.+}", api.core)
    router.add_route("*", "/apis/{tail:.+}", api.grouped)
    router.add_get("/sim/v1/status", control.status)
    router.add_get("/sim/v1/faults", control.get_faults)
    router.add_post("/sim/v1/faults", control.set_faults)
    router.add_post("/sim/v1/advance", control.advance)
    router.add_post("/sim/v1/load", control.load)
    app.cleanup_ctx.append(_background(cluster, faults))
    app.on_shutdown.append(_end_watches(cluster))
    return app


def _end_watches(cluster: Cluster) -> Callable[[web.Application], Awaitable[None]]:
    async def end(app: web.Application) -> None:
        cluster.store.drop_all_watches()

    return end


def _background(cluster: Cluster, faults: Faults) -> Callable[[web.Application], AsyncIterator[None]]:
    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_expire_resource_versions(cluster, faults))
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return run


async def _expire_resource_versions(cluster: Cluster, faults: Faults) -> None:
    """Fault `expire-rv=S`: compact the event log every S seconds so resumes get 410 Gone."""
    while True:
        interval = faults.spec.expire_rv_seconds
        await asyncio.sleep(interval or 0.5)
        if interval and faults.spec.expire_rv_seconds == interval:
            cluster.store.compact()
