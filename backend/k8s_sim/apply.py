"""Server-side apply (`application/apply-patch+yaml`) and the `managedFields` every HTTP write records.

Why this exists: `kubectl apply --server-side`, the official client's apply and every GitOps tool send apply
patches; a server without them answers 415. The model is kube-apiserver's structured-merge-diff, reduced
to what users observe:

- fields are paths (`f:spec`, `f:replicas`; items of keyed lists — `x-kubernetes-list-map-keys` or the
  strategic-merge key in the OpenAPI schema — as `k:{"name":"web"}`; other lists are atomic leaves);
- each manager owns a set of fields, recorded in `metadata.managedFields` (FieldsV1) with its operation:
  `Apply` for apply patches, `Update` for creates, updates and other patches (the fields they changed);
- an apply merges the applied configuration into the object, takes ownership of its fields, and removes
  fields it applied before and no longer applies (unless another manager owns them too);
- applying a different value to a field another manager owns is a 409 Conflict listing each field,
  unless `force=true`, which takes the fields over.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from aiohttp import web

from k8s_sim import decoding, openapi
from k8s_sim.store import ApiError, ObjectStore, ResourceType
from k8s_sim.wire import Obj, Target, bad_request, dry_run, json_response, object_body

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
Path = tuple[str, ...]
_METADATA_TRACKED = ("labels", "annotations", "finalizers", "ownerReferences")


# -- schema lookups --------------------------------------------------------------------------------------
def _resolve(schema: Obj | None) -> Obj | None:
    while schema is not None and "$ref" in schema:
        schema = openapi.definitions().get(str(schema["$ref"]).rsplit("/", 1)[-1])
    if schema is not None and "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0])
    return schema


def _child(schema: Obj | None, field: str) -> Obj | None:
    resolved = _resolve(schema)
    if resolved is None:
        return None
    prop = (resolved.get("properties") or {}).get(field)
    if prop is not None:
        return _resolve(prop)
    extra = resolved.get("additionalProperties")
    return _resolve(extra) if isinstance(extra, dict) else None


def _list_keys(schema: Obj | None) -> list[str] | None:
    if schema is None:
        return None
    if schema.get("x-kubernetes-list-type") == "map" and schema.get("x-kubernetes-list-map-keys"):
        return list(schema["x-kubernetes-list-map-keys"])
    if schema.get("x-kubernetes-patch-merge-key") and schema.get("x-kubernetes-list-type") != "atomic":
        return [str(schema["x-kubernetes-patch-merge-key"])]
    return None


def root_schema(rt: ResourceType) -> Obj | None:
    name = openapi.definition_for(rt)
    return openapi.definitions().get(name) if name else None


def _item_token(item: Any, keys: list[str]) -> str:
    values = {key: item.get(key) for key in keys if isinstance(item, dict) and key in item}
    return "k:" + json.dumps(values, separators=(",", ":"), sort_keys=True)


# -- field sets ------------------------------------------------------------------------------------------
def field_paths(obj: Obj, schema: Obj | None) -> set[Path]:
    """The leaf paths of an object (what a manager owns when it sets these values)."""
    paths: set[Path] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata":
            for field in _METADATA_TRACKED:
                if field in (value or {}):
                    _walk(value[field], _child(_child(schema, "metadata"), field), ("f:metadata", f"f:{field}"), paths)
            continue
        _walk(value, _child(schema, key), (f"f:{key}",), paths)
    return paths


def _walk(value: Any, schema: Obj | None, prefix: Path, paths: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _walk(child, _child(schema, key), (*prefix, f"f:{key}"), paths)
        return
    keys = _list_keys(schema) if isinstance(value, list) else None
    if keys and isinstance(value, list) and value:
        item_schema = _resolve((schema or {}).get("items"))
        for item in value:
            token = _item_token(item, keys)
            paths.add((*prefix, token, "."))
            if isinstance(item, dict):
                for key, child in item.items():
                    _walk(child, _child(item_schema, key), (*prefix, token, f"f:{key}"), paths)
        return
    paths.add(prefix)


def to_fields_v1(paths: set[Path]) -> Obj:
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for token in path:
            node = node.setdefault(token, {})
    return tree


def from_fields_v1(tree: Obj, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for token, child in tree.items():
        if isinstance(child, dict) and child:
            paths |= from_fields_v1(child, (*prefix, token))
        else:
            paths.add((*prefix, token))
    return paths


def _value_at(obj: Any, path: Path) -> Any:
    node = obj
    for token in path:
        if token == ".":
            return node
        if token.startswith("f:") and isinstance(node, dict):
            node = node.get(token[2:], _MISSING)
        elif token.startswith("k:") and isinstance(node, list):
            wanted = json.loads(token[2:])
            node = next(
                (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())), _MISSING
            )
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


_MISSING = object()


def _remove_at(obj: Any, path: Path) -> None:
    parent = _value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last == "." and len(path) >= 2:
        container = _value_at(obj, path[:-2])
        item = _value_at(obj, path[:-1])
        if isinstance(container, list) and item is not _MISSING:
            container.remove(item)
        return
    if isinstance(parent, dict) and last.startswith("f:"):
        parent.pop(last[2:], None)


def _display(path: Path) -> str:
    return "".join(f".{t[2:]}" if t.startswith("f:") else f"[{t[2:]}]" for t in path if t != ".")


# -- managedFields bookkeeping ----------------------------------------------------------------------------
def _entries(obj: Obj) -> list[Obj]:
    return list(obj.get("metadata", {}).get("managedFields") or [])


def _owned(entry: Obj) -> set[Path]:
    return from_fields_v1(entry.get("fieldsV1") or {})


def _entry(manager: str, operation: str, api_version: str, paths: set[Path], now: str, subresource: str | None) -> Obj:
    entry: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _set_entries(obj: Obj, entries: list[Obj]) -> None:
    kept = [entry for entry in entries if entry.get("fieldsV1")]
    if kept:
        obj["metadata"]["managedFields"] = kept
    else:
        obj["metadata"].pop("managedFields", None)


def record_update(rt: ResourceType, old: Obj | None, new: Obj, manager: str, now: str, subresource: str | None) -> None:
    """An Update by `manager`: it owns the fields it changed; the others lose them."""
    schema = root_schema(rt)
    before = field_paths(old, schema) if old is not None else set()
    after = field_paths(new, schema)
    changed = {p for p in after if p not in before or _value_at(old, p) != _value_at(new, p)}
    entries = _entries(old) if old is not None else []
    if not changed and old is not None:
        _set_entries(new, entries)
        return
    updated: list[Obj] = []
    mine: set[Path] = set(changed)
    for entry in entries:
        owned = _owned(entry) & after
        if entry.get("manager") == manager and entry.get("operation") == "Update":
            mine |= owned
            continue
        updated.append({**entry, "fieldsV1": to_fields_v1(owned - changed)})
    updated.append(_entry(manager, "Update", rt.api_version, mine, now, subresource))
    _set_entries(new, updated)


# -- the apply patch ---------------------------------------------------------------------------------------
def _merge(live: Any, applied: Any, schema: Obj | None) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = _merge(live.get(key), value, _child(schema, key))
        return merged
    keys = _list_keys(schema) if isinstance(applied, list) else None
    if keys and isinstance(live, list) and isinstance(applied, list):
        item_schema = _resolve((schema or {}).get("items"))
        result = list(live)
        for item in applied:
            wanted = {key: item.get(key) for key in keys if isinstance(item, dict) and key in item}
            index = next(
                (
                    i
                    for i, old in enumerate(result)
                    if isinstance(old, dict) and all(old.get(k) == v for k, v in wanted.items())
                ),
                None,
            )
            if index is None:
                result.append(copy.deepcopy(item))
            else:
                result[index] = _merge(result[index], item, item_schema)
        return result
    return copy.deepcopy(applied)


def parse_apply_body(raw: bytes, rt: ResourceType) -> Obj:
    try:
        body = yaml.safe_load(raw.decode() or "null")
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise bad_request(f"error decoding YAML: {error}") from None
    if not isinstance(body, dict):
        raise bad_request("the body of an apply patch must be a YAML or JSON object")
    for field in ("apiVersion", "kind"):
        if not body.get(field):
            raise bad_request(f"{field} must be set in an apply patch")
    return object_body(body, rt)


def _conflicts(
    entries: list[Obj], manager: str, applied: set[Path], live: Obj, config: Obj
) -> list[tuple[str, str, Path]]:
    found = []
    for entry in entries:
        if entry.get("manager") == manager:
            continue
        for path in sorted(_owned(entry) & applied):
            if path[-1] != "." and _value_at(live, path) != _value_at(config, path):
                found.append((str(entry.get("manager")), str(entry.get("apiVersion", "")), path))
    return found


def conflict_error(rt: ResourceType, name: str, conflicts: list[tuple[str, str, Path]]) -> ApiError:
    count = len(conflicts)
    lines = [f'conflict with "{m}" using {v}: {_display(p)}' for m, v, p in conflicts]
    message = f"Apply failed with {count} conflict{'s' if count != 1 else ''}: " + (
        lines[0] if count == 1 else "\n" + "\n".join(f"- {line[len('conflict with ') :]}" for line in lines)
    )
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {v}', "field": _display(p)}
        for m, v, p in conflicts
    ]
    details = {"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}
    return ApiError(409, "Conflict", message, details=details)


def applied_object(rt: ResourceType, live: Obj | None, config: Obj, manager: str, force: bool, now: str) -> Obj:
    """The object after applying `config` as `manager` (raises the 409 on conflicts)."""
    schema = root_schema(rt)
    applied = field_paths(config, schema)
    if live is None:
        result: Obj = copy.deepcopy(config)
        _set_entries(result, [_entry(manager, "Apply", rt.api_version, applied, now, None)])
        return result
    entries = _entries(live)
    conflicts = _conflicts(entries, manager, applied, live, config)
    if conflicts and not force:
        raise conflict_error(rt, live["metadata"]["name"], conflicts)
    previous = set().union(
        *(_owned(e) for e in entries if e.get("manager") == manager and e.get("operation") == "Apply")
    )
    others = set().union(
        *(_owned(e) for e in entries if not (e.get("manager") == manager and e.get("operation") == "Apply"))
    )
    config_meta = config.get("metadata") or {}
    merged: Obj = _merge(live, {k: v for k, v in config.items() if k != "metadata"}, schema)
    merged["metadata"] = _merge(
        live["metadata"], {k: v for k, v in config_meta.items() if k in _METADATA_TRACKED}, _child(schema, "metadata")
    )
    for path in sorted(previous - applied - (others - {p for _, _, p in conflicts}), key=len, reverse=True):
        _remove_at(merged, path)
    forced = {p for _, _, p in conflicts}
    updated = [
        {**e, "fieldsV1": to_fields_v1(_owned(e) - forced)}
        for e in entries
        if not (e.get("manager") == manager and e.get("operation") == "Apply")
    ]
    updated.append(_entry(manager, "Apply", rt.api_version, applied, now, None))
    _set_entries(merged, updated)
    return merged


def manager_of(request: web.Request, default: str = "") -> str:
    manager = request.query.get("fieldManager", "")
    if manager:
        return manager
    agent = request.headers.get("User-Agent", "")
    return agent.split("/", 1)[0] or default


async def apply_patch(store: ObjectStore, request: web.Request, target: Target, write: Any) -> web.Response:
    """PATCH with `application/apply-patch+yaml`: create or merge, with ownership and conflicts.
    `write(current, proposed, dry)` stores an update through the normal write path."""
    rt = target.rt
    manager = request.query.get("fieldManager", "")
    if not manager:
        raise ApiError(
            422,
            "Invalid",
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        )
    force = request.query.get("force", "").lower() in ("true", "1")
    config = parse_apply_body(await request.read(), rt)
    warnings = decoding.check(rt, config, request)
    name = config["metadata"].get("name") or target.name
    if name != target.name:
        raise bad_request("the name of the object does not match the name on the URL")
    if rt.namespaced:
        config["metadata"]["namespace"] = target.namespace
    now = store.clock.rfc3339()
    dry = dry_run(request)
    live = store.get(rt, target.namespace or "", target.name or "")
    result = applied_object(rt, live, config, manager, force, now)
    if live is None:
        result.pop("status", None)
        for server_set in ("resourceVersion", "uid", "creationTimestamp"):
            result["metadata"].pop(server_set, None)
        return decoding.with_warnings(json_response(store.create(rt, result, dry_run=dry), 201), warnings)
    result["metadata"].pop("resourceVersion", None)
    return decoding.with_warnings(json_response(write(live, result, dry)), warnings)
