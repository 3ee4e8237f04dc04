"""get and list (with pagination and selectors), the scale view, and metrics.k8s.io.

Lists page through the store's cached sorted keys, so a 10,000-pod list in pages of 500 never re-sorts;
the opaque continue token carries the list's revision (410 once the log has moved past it) and last key.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json

from aiohttp import web

from k8s_sim import tables
from k8s_sim.selectors import FieldSelector, LabelSelector, format_selector
from k8s_sim.store import ApiError, ObjectStore, not_found
from k8s_sim.wire import (
    Cluster,
    Obj,
    Target,
    bad_request,
    is_watch,
    json_response,
    matches,
    method_not_allowed,
    query_int,
    require_verb,
    selectors,
    wants_table,
)


def _encode_continue(revision: int, last_key: tuple[str, str]) -> str:
    payload = json.dumps({"rv": revision, "start": list(last_key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(payload["rv"]), (str(payload["start"][0]), str(payload["start"][1]))
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue: invalid value: the continue token is malformed") from None


def _table_response(cluster: Cluster, request: web.Request, kind: str, items: list[Obj], meta: Obj) -> web.Response:
    include = request.query.get("includeObject", "Metadata")
    now = cluster.clock.now_seconds()
    return json_response(tables.table(kind, items, now, include_object=include, list_meta=meta))


def list_collection(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    require_verb("list", rt)
    labels, fields = selectors(request, rt)
    limit = query_int(request, "limit", 0)
    items, meta = page(cluster.store, target, labels, fields, limit, request.query.get("continue", ""))
    if wants_table(request):
        return _table_response(cluster, request, rt.kind, items, meta)
    return json_response({"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": items})


def _bounds(keys: list[tuple[str, str]], namespace: str | None) -> tuple[int, int]:
    if namespace is None:
        return 0, len(keys)
    return bisect.bisect_left(keys, (namespace, "")), bisect.bisect_left(keys, (namespace + "\0", ""))


def page(
    store: ObjectStore, target: Target, labels: LabelSelector, fields: FieldSelector, limit: int, token: str
) -> tuple[list[Obj], Obj]:
    """One page in (namespace, name) order, and its list metadata."""
    rt = target.rt
    keys = store.sorted_keys(rt)
    low, high = _bounds(keys, target.namespace)
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
        if obj is None or (filtered and not matches(obj, labels, fields)):
            continue
        items.append(obj)
        if limit and len(items) == limit and index + 1 < high:
            meta["continue"] = _encode_continue(revision, keys[index])
            if not filtered:  # as the real server: a count only when it is exact
                meta["remainingItemCount"] = high - index - 1
            break
    return items, meta


def get(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    require_verb("get", rt)
    obj = cluster.store.require(rt, target.namespace or "", target.name or "")
    if target.subresource == "scale":
        return json_response(scale_of(obj))
    if wants_table(request):
        return _table_response(
            cluster, request, rt.kind, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}
        )
    return json_response(obj)


def scale_of(obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or StatefulSet."""
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


def metrics(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    """metrics.k8s.io/v1beta1: computed by the cluster on demand, read-only, no watch (as metrics-server)."""
    rt = target.rt
    if request.method != "GET" or is_watch(request):
        raise method_not_allowed("watch" if request.method == "GET" else request.method.lower(), rt)
    source = cluster.metrics
    if target.name is not None:
        if rt.namespaced:
            found = source.pod_metric(target.namespace or "", target.name)
        else:
            found = source.node_metric(target.name)
        if found is None:
            raise not_found(rt, target.name)
        return json_response(found)
    labels, fields = selectors(request, rt)
    items = source.pod_metrics(target.namespace) if rt.namespaced else source.node_metrics()
    selected = [item for item in items if matches(item, labels, fields)]
    meta = {"resourceVersion": ""}
    if wants_table(request):
        return _table_response(cluster, request, rt.kind, selected, meta)
    return json_response({"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": selected})
