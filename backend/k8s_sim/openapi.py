"""`/openapi/v2` and `/openapi/v3`: the real v1.31 schemas of every served kind, and schema checks of bodies.

Why this exists: `kubectl explain` reads these schemas, kubectl falls back to `/openapi/v2` for any kind it
cannot resolve (a 404 there hides the real error behind "failed to download openapi"), and a real server
decodes request bodies against the same types: `replicas: "3"` is a 400 decoding error, and an unknown
field is a 400 under `fieldValidation=Strict` (what kubectl sends by default) or a warning otherwise.

The schemas ship as package data (`openapi_definitions.json`, OpenAPI v2 form) so production images need
no schema library. They are generated at development time from kubernetes-validate's v1.31 definitions:
`python -m k8s_sim.openapi` rewrites the file for the kinds `resources.ALL` serves.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from k8s_sim.store import ResourceType

Obj = dict[str, Any]
DEFINITIONS_FILE = "openapi_definitions.json"
_V2_REF = "#/definitions/"
_V3_REF = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_EXTRA = (_META + "Status", _META + "DeleteOptions", _META + "APIResourceList", "io.k8s.api.autoscaling.v1.Scale")


# -- the shipped definitions -----------------------------------------------------------------------------
@functools.cache
def definitions() -> dict[str, Obj]:
    """name → schema (OpenAPI v2 form), loaded once, on first use (never at start-up)."""
    text = package_files.files("k8s_sim").joinpath(DEFINITIONS_FILE).read_text()
    loaded: dict[str, Obj] = json.loads(text)
    return loaded


@functools.cache
def kind_index() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) → definition name."""
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            index[(gvk.get("group", ""), gvk["version"], gvk["kind"])] = name
    return index


def definition_for(rt: ResourceType) -> str | None:
    return kind_index().get((rt.group, rt.version, rt.kind))


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def closure(names: Iterable[str], defs: dict[str, Obj]) -> list[str]:
    """Every definition reachable from `names`, sorted."""
    seen: set[str] = set()
    pending = [name for name in names if name in defs]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(ref for ref in _refs(defs[name]) if ref in defs and ref not in seen)
    return sorted(seen)


def _rewrite_refs(schema: Any, prefix: str) -> Any:
    if isinstance(schema, dict):
        return {
            key: (prefix + value.rsplit("/", 1)[-1] if key == "$ref" else _rewrite_refs(value, prefix))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rewrite_refs(value, prefix) for value in schema]
    return schema


# -- documents -----------------------------------------------------------------------------------------
def _served(types: Iterable[ResourceType]) -> list[ResourceType]:
    return [rt for rt in types if definition_for(rt) is not None]


def _roots(types: Iterable[ResourceType]) -> list[str]:
    names = [definition_for(rt) or "" for rt in _served(types)]
    lists = [name + "List" for name in names if name + "List" in definitions()]
    return [*names, *lists, *_EXTRA]


def _path_item(rt: ResourceType, ref_prefix: str) -> tuple[str, Obj]:
    base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    name = definition_for(rt) or ""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    query = [
        {"name": p, "in": "query", "type": "string", "schema": {"type": "string", "uniqueItems": True}}
        for p in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    response = {"description": "OK", "schema": {"$ref": ref_prefix + name}}
    operation = {
        "operationId": f"patch{rt.kind}",
        "x-kubernetes-group-version-kind": gvk,
        "x-kubernetes-action": "patch",
        "parameters": query,
        "responses": {"200": response},
    }
    get = {**operation, "operationId": f"read{rt.kind}", "x-kubernetes-action": "get", "parameters": []}
    return f"{base}{scope}/{rt.plural}/{{name}}", {"get": get, "patch": operation}


def openapi_v2(types: Iterable[ResourceType]) -> Obj:
    served = _served(types)
    defs = definitions()
    names = closure(_roots(served), defs)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.31.4"},
        "paths": dict(_path_item(rt, _V2_REF) for rt in served if "patch" in rt.verbs),
        "definitions": {name: defs[name] for name in names},
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _v3_group(types: list[ResourceType], group: str, version: str) -> Obj:
    selected = [rt for rt in types if rt.group == group and rt.version == version]
    served = _served(selected)
    defs = definitions()
    names = closure(_roots(served), defs)
    paths: Obj = {}
    for rt in selected:
        if "patch" in rt.verbs:
            path, item = _path_item(rt, _V3_REF)
            if definition_for(rt) is None:
                item = {"patch": {**item["patch"], "responses": {"200": {"description": "OK"}}}}
            paths[path] = item
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.31.4"},
        "paths": paths,
        "components": {"schemas": {name: _rewrite_refs(defs[name], _V3_REF) for name in names}},
    }


@functools.cache
def _v3_cached(types: tuple[ResourceType, ...], group: str, version: str) -> tuple[bytes, str]:
    body = json.dumps(_v3_group(list(types), group, version), separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest()[:32].upper()


def openapi_v3_document(types: Iterable[ResourceType], group: str, version: str) -> bytes | None:
    ordered = tuple(sorted(types, key=lambda rt: rt.key))
    if not any(rt.group == group and rt.version == version for rt in ordered):
        return None
    return _v3_cached(ordered, group, version)[0]


def openapi_v3_root(types: Iterable[ResourceType]) -> Obj:
    ordered = tuple(sorted(types, key=lambda rt: rt.key))
    gvs = sorted({(rt.group, rt.version) for rt in ordered})
    return {
        "paths": {
            _gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash={_v3_cached(ordered, g, v)[1]}"}
            for g, v in gvs
        }
    }


# -- generation (development only: needs kubernetes-validate) ------------------------------------------
def _normalise(schema: Any) -> Any:
    """kubernetes-validate's JSON-Schema form → the OpenAPI form the API server publishes."""
    if isinstance(schema, list):
        return [_normalise(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and {json.dumps(o.get("type")) for o in one_of} >= {'["string", "null"]'}:
        kinds = {t for o in one_of for t in (o.get("type") or []) if t != "null"}
        rest = {k: v for k, v in schema.items() if k != "oneOf"}
        if kinds == {"string", "integer"}:
            return {**rest, "type": "string", "format": "int-or-string"}
        return {**rest, "type": "string"}
    out: Obj = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            non_null = [t for t in value if t != "null"]
            out[key] = non_null[0] if len(non_null) == 1 else non_null
        elif key == "$ref" and isinstance(value, str):
            out[key] = _V2_REF + value.rsplit("/", 1)[-1]
        elif key == "enum" and isinstance(value, list) and None in value:
            out[key] = [v for v in value if v is not None]
        else:
            out[key] = _normalise(value)
    return out


def generate(target: Path) -> int:
    """Write the definitions the served kinds need; returns how many."""
    import kubernetes_validate

    from k8s_sim import resources

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.31.0-local"
    raw = json.loads((root / "_definitions.json").read_text())["$defs"]
    defs = {name: _normalise(schema) for name, schema in raw.items()}
    wanted = {(rt.group, rt.version, rt.kind) for rt in resources.ALL}
    wanted |= {("autoscaling", "v1", "HorizontalPodAutoscaler")}
    roots = [
        name
        for name, schema in defs.items()
        if any(
            (g.get("group", ""), g["version"], g["kind"]) in wanted
            for g in schema.get("x-kubernetes-group-version-kind") or ()
        )
    ]
    roots += [name + "List" for name in roots] + list(_EXTRA)
    names = closure(roots, defs)
    target.write_text(json.dumps({name: defs[name] for name in names}, separators=(",", ":"), sort_keys=True) + "\n")
    return len(names)


if __name__ == "__main__":
    count = generate(Path(__file__).with_name(DEFINITIONS_FILE))
    sys.stdout.write(f"wrote {count} definitions\n")
