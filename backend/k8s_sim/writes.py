"""create, update, patch, delete and deletecollection, with the status/scale subresources and dryRun.

Every write goes through the store (and so through admission), with the real server's rules: a stale
resourceVersion is a 409, writes to /status change only status and main-resource writes never do,
`dryRun=All` validates without storing, and deleting an owner garbage-collects its dependents.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from k8s_sim import apply, decoding, validation
from k8s_sim.admission import invalid as admission_invalid, name_causes
from k8s_sim.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from k8s_sim.reads import scale_of
from k8s_sim.store import ApiError, ObjectStore, ResourceType
from k8s_sim.wire import (
    Obj,
    Target,
    bad_request,
    dry_run,
    invalid,
    json_response,
    matches,
    method_not_allowed,
    object_body,
    read_json,
    require_verb,
    selectors,
)

_PATCHERS: dict[str, Callable[[Any, Any], Any]] = {
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/merge-patch+json": json_merge_patch,
    "application/json-patch+json": json_patch,
}
_SCALE_TYPE = ResourceType("autoscaling", "v1", "scale", "Scale", True)
_NAMESPACE_MISMATCH = "the namespace of the provided object does not match the namespace sent on the request"


# -- create --------------------------------------------------------------------------------------------
def _check_namespace(store: ObjectStore, rt: ResourceType, obj: Obj, namespace: str | None) -> None:
    if not rt.namespaced:
        return
    meta = obj["metadata"]
    body_ns = meta.get("namespace")
    if body_ns and namespace and body_ns != namespace:
        raise bad_request(_NAMESPACE_MISMATCH)
    ns = namespace or body_ns or ""
    meta["namespace"] = ns
    namespaces = store.type_for("", "namespaces")
    if namespaces is not None and store.get(namespaces, "", ns) is None:
        raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', details={"name": ns, "kind": "namespaces"})


def _check_name(rt: ResourceType, name: str) -> None:
    causes = name_causes(rt, name) if name else []
    if causes:
        raise admission_invalid(rt, name, causes)


async def create(store: ObjectStore, request: web.Request, target: Target, body: Any = None) -> web.Response:
    """POST; `body` (already decoded, e.g. converted from another version) replaces the request's."""
    rt = target.rt
    require_verb("create", rt)
    if target.namespace is None and rt.namespaced:
        raise method_not_allowed("create", rt)
    obj = object_body(await read_json(request) if body is None else body, rt)
    warnings = decoding.check(rt, obj, request)
    _check_namespace(store, rt, obj, target.namespace)
    _check_name(rt, obj["metadata"].get("name") or "")
    for server_set in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
        obj["metadata"].pop(server_set, None)
    if "status" in rt.subresources and rt.kind != "Node":
        # Status is written through /status by controllers, as on a real server (Nodes register with it).
        obj.pop("status", None)
    apply.record_update(rt, None, obj, apply.manager_of(request, "unknown"), store.clock.rfc3339(), None)
    return decoding.with_warnings(json_response(store.create(rt, obj, dry_run=dry_run(request)), 201), warnings)


# -- update and patch ----------------------------------------------------------------------------------
def _precondition(rt: ResourceType, current: Obj, requested_rv: str | None) -> None:
    if requested_rv and requested_rv != current["metadata"]["resourceVersion"]:
        name = current["metadata"]["name"]
        raise ApiError(
            409,
            "Conflict",
            f"Operation cannot be fulfilled on {rt.plural}{'.' + rt.group if rt.group else ''} "
            f'"{name}": the object has been modified; please apply your changes to the latest version and try again',
            details={"name": name, "group": rt.group, "kind": rt.plural},
        )


def _merge_for_subresource(target: Target, current: Obj, proposed: Obj) -> Obj:
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


def _write(
    store: ObjectStore, target: Target, current: Obj, proposed: Obj, dry: bool, manager: str | None = None
) -> Obj:
    """Store an update; with `manager`, the fields it changed are recorded in managedFields (an Update)."""
    rt = target.rt
    meta = proposed.setdefault("metadata", {})
    _precondition(rt, current, meta.get("resourceVersion"))
    if meta.get("name", current["metadata"]["name"]) != current["metadata"]["name"]:
        raise bad_request("the name of the object does not match the name on the URL")
    meta["name"] = current["metadata"]["name"]
    if rt.namespaced:
        if meta.get("namespace", target.namespace) != target.namespace:
            raise bad_request(_NAMESPACE_MISMATCH)
        meta["namespace"] = target.namespace
    merged = _merge_for_subresource(target, current, proposed)
    if manager is not None:
        apply.record_update(rt, current, merged, manager, store.clock.rfc3339(), target.subresource)
    with validation.client_update(target.subresource is None):
        return store.update(rt, merged, expect_rv=current["metadata"]["resourceVersion"], dry_run=dry)


def _write_scale(store: ObjectStore, target: Target, current: Obj, scale: Obj, dry: bool) -> Obj:
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        message = f"Invalid value: {json.dumps(replicas)}: must be a non-negative integer"
        raise invalid("Scale", current["metadata"]["name"], "spec.replicas", message)
    _precondition(target.rt, current, (scale.get("metadata") or {}).get("resourceVersion"))
    updated = copy.deepcopy(current)
    updated.setdefault("spec", {})["replicas"] = replicas
    stored = store.update(target.rt, updated, expect_rv=current["metadata"]["resourceVersion"], dry_run=dry)
    return scale_of(stored)


async def update(store: ObjectStore, request: web.Request, target: Target, decoded: Any = None) -> web.Response:
    rt = target.rt
    require_verb("update", rt)
    raw = await read_json(request) if decoded is None else decoded
    body = object_body(raw, _SCALE_TYPE if target.subresource == "scale" else rt)
    current = store.require(rt, target.namespace or "", target.name or "")
    if target.subresource == "scale":
        return json_response(_write_scale(store, target, current, body, dry_run(request)))
    warnings = decoding.check(rt, body, request)
    stored = _write(store, target, current, body, dry_run(request), apply.manager_of(request, "unknown"))
    return decoding.with_warnings(json_response(stored), warnings)


def _apply_patch(patcher: Callable[[Any, Any], Any], base: Obj, body: Any) -> Obj:
    try:
        patched = patcher(base, body)
    except PatchError as error:
        raise ApiError(error.code, "BadRequest" if error.code == 400 else "Invalid", error.message) from None
    if not isinstance(patched, dict):
        raise ApiError(422, "Invalid", "the patch replaced the object with a non-object")
    return patched


View = tuple[Callable[[Obj], Obj], Callable[[Obj], Obj]]  # (stored → served version, served → stored)


async def patch(store: ObjectStore, request: web.Request, target: Target, view: View | None = None) -> web.Response:
    """PATCH; with `view`, the patch applies to the object as another version serves it."""
    rt = target.rt
    require_verb("patch", rt)
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type == apply.APPLY_CONTENT_TYPE and target.subresource is None and view is None:
        return await apply.apply_patch(
            store, request, target, lambda old, new, dry: _write(store, target, old, new, dry)
        )
    patcher = _PATCHERS.get(content_type)
    if patcher is None:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(_PATCHERS)}",
        )
    body = await read_json(request)
    current = store.require(rt, target.namespace or "", target.name or "")
    if target.subresource == "scale":
        patched = _apply_patch(patcher, scale_of(current), body)
        return json_response(_write_scale(store, target, current, patched, dry_run(request)))
    if view is not None:
        patched = view[1](_apply_patch(patcher, view[0](current), body))
        return json_response(view[0](_write(store, target, current, patched, dry_run(request))))
    patched = _apply_patch(patcher, current, body)
    warnings = decoding.check(rt, patched, request)
    manager = apply.manager_of(request, "unknown")
    return decoding.with_warnings(
        json_response(_write(store, target, current, patched, dry_run(request), manager)), warnings
    )


# -- delete --------------------------------------------------------------------------------------------
async def _delete_options(request: web.Request) -> Obj:
    if not request.can_read_body:
        return {}
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the body of a delete request must be a DeleteOptions object")
    return body


def _propagation(request: web.Request, options: Obj) -> str:
    if options.get("orphanDependents") is True:
        return "Orphan"
    policy = str(request.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background")
    if policy not in ("Background", "Foreground", "Orphan"):
        raise bad_request(
            f'propagationPolicy: Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"'
        )
    return policy


def _check_uid(current: Obj, preconditions: Obj) -> None:
    uid = current["metadata"].get("uid")
    if preconditions.get("uid") and preconditions["uid"] != uid:
        message = f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {uid}"
        raise ApiError(409, "Conflict", message)


async def delete(store: ObjectStore, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    require_verb("delete", rt)
    if target.subresource is not None:
        raise method_not_allowed("delete", rt)
    options = await _delete_options(request)
    current = store.require(rt, target.namespace or "", target.name or "")
    preconditions = options.get("preconditions") or {}
    _precondition(rt, current, preconditions.get("resourceVersion"))
    _check_uid(current, preconditions)
    gone = store.delete_cascade(
        rt,
        target.namespace or "",
        target.name or "",
        propagation=_propagation(request, options),
        dry_run=dry_run(request, options),
    )
    return json_response(gone)


async def delete_collection(store: ObjectStore, request: web.Request, target: Target) -> web.Response:
    rt = target.rt
    require_verb("deletecollection", rt)
    options = await _delete_options(request)
    labels, fields = selectors(request, rt)
    dry, propagation = dry_run(request, options), _propagation(request, options)
    doomed = [obj for obj in store.list_objects(rt, target.namespace) if matches(obj, labels, fields)]
    gone = [
        store.delete_cascade(
            rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], propagation=propagation, dry_run=dry
        )
        for obj in doomed
    ]
    meta = {"resourceVersion": str(store.revision)}
    return json_response({"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta, "items": gone})
