"""The three PATCH formats of the Kubernetes API: strategic merge, JSON merge (RFC 7386), JSON patch (RFC 6902).

kubectl apply/scale/edit and the official clients patch far more than they PUT, and a naive dict merge gets
the important case wrong: a strategic merge patch of one container must merge into the container *with that
name*, not replace the whole list. Pure functions over JSON values; they never mutate their inputs.
"""

from __future__ import annotations

import copy
from typing import Any

# Patch merge keys of the lists that matter (from the Kubernetes API types' `patchMergeKey` tags).
# `ports` is resolved per item: container ports merge by containerPort, Service ports by port.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "conditions": "type",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "readinessGates": "conditionType",
}
# Lists of scalars the server merges as sets (patchStrategy=merge on a primitive list).
_MERGED_SCALAR_LISTS = frozenset({"finalizers"})
_DIRECTIVE = "$patch"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"
_RETAIN_KEYS = "$retainKeys"


class PatchError(ValueError):
    """A patch the API server rejects: `code` is 400 (malformed) or 422 (valid but inapplicable)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- JSON merge patch (RFC 7386) -----------------------------------------------------------------------
def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# -- strategic merge patch -----------------------------------------------------------------------------
def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch for the built-in types' list semantics (merge keys, directives)."""
    if not isinstance(patch, dict):
        raise PatchError(400, "strategic merge patch body must be a JSON object")
    return _merge_map(target if isinstance(target, dict) else {}, patch)


def _merge_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return {}
    if directive is not None:
        raise PatchError(400, f"unknown patch directive {_DIRECTIVE}: {directive!r}")
    result = copy.deepcopy(target)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(_ORDER_PREFIX):
            orders[key.removeprefix(_ORDER_PREFIX)] = value
        else:
            _merge_field(result, key, value)
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    return result


def _merge_field(result: dict[str, Any], key: str, value: Any) -> None:
    if key.startswith(_DELETE_PRIMITIVE_PREFIX):
        field = key.removeprefix(_DELETE_PRIMITIVE_PREFIX)
        result[field] = [item for item in result.get(field) or [] if item not in value]
    elif key == _RETAIN_KEYS:
        return
    elif value is None:
        result.pop(key, None)
    else:
        result[key] = _merge_value(key, result.get(key), value)


def _merge_value(field: str, current: Any, value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_DIRECTIVE) == "delete":
            return None if current is None else {}
        return _merge_map(current if isinstance(current, dict) else {}, value)
    if isinstance(value, list):
        return _merge_list(field, current if isinstance(current, list) else [], value)
    return copy.deepcopy(value)


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        sample = next((item for item in items if isinstance(item, dict) and _DIRECTIVE not in item), None)
        if sample is None:
            sample = next((item for item in items if isinstance(item, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return _MERGE_KEYS.get(field)


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        return [copy.deepcopy(item) for item in patch if not (isinstance(item, dict) and _DIRECTIVE in item)]
    if field in _MERGED_SCALAR_LISTS:
        merged = list(current)
        merged.extend(item for item in patch if item not in merged)
        return merged
    key = _merge_key(field, current + patch)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)  # atomic list (e.g. tolerations, args): the patch replaces it
    result = copy.deepcopy(current)
    for item in patch:
        if key not in item:
            raise PatchError(422, f"{field}: every patch element needs the merge key {key!r}")
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_merge_map({}, item))
        else:
            result[index] = _merge_map(result[index], item)
    return result


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Honour `$setElementOrder/<field>` (kubectl apply sends it): listed items first in that order."""
    key = _merge_key(field, items)

    def identity(item: Any) -> Any:
        return item.get(key) if key is not None and isinstance(item, dict) else item

    wanted = [identity(entry) for entry in order]
    ranked = {value: rank for rank, value in enumerate(wanted) if not isinstance(value, (dict, list))}
    return sorted(items, key=lambda item: ranked.get(identity(item), len(ranked)))


# -- JSON patch (RFC 6902) -----------------------------------------------------------------------------
def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 add/remove/replace/move/copy/test; a JSON object instead of an array is a 400."""
    if not isinstance(operations, list):
        raise PatchError(400, "json patch body must be a JSON array of operations, got a JSON object")
    document = copy.deepcopy(target)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(400, f"json patch operation {index} needs 'op' and 'path'")
        document = _apply_operation(document, operation)
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(400, f"json patch path {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, tokens: list[str], path: str) -> Any:
    node = document
    for token in tokens[:-1]:
        node = _child(node, token, path)
    return node


def _child(node: Any, token: str, path: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise PatchError(422, f"json patch path {path!r} does not exist")


def _get(document: Any, path: str) -> Any:
    node = document
    for token in _pointer(path):
        node = _child(node, token, path)
    return node


def _add(document: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent, last = _parent(document, tokens, path), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and (last == "-" or (last.isdigit() and int(last) <= len(parent))):
        parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(value))
    else:
        raise PatchError(422, f"json patch add: cannot add at {path!r}")
    return document


def _remove(document: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError(422, "json patch remove: cannot remove the whole document")
    parent, last = _parent(document, tokens, path), tokens[-1]
    removed = _child(parent, last, path)
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return document, removed


def _apply_operation(document: Any, operation: dict[str, Any]) -> Any:
    op, path = operation["op"], operation["path"]
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError(400, f"json patch {op} at {path!r} needs a 'value'")
    if op == "add":
        return _add(document, path, operation["value"])
    if op == "remove":
        return _remove(document, path)[0]
    if op == "replace":
        _get(document, path)
        return _add(_remove(document, path)[0] if _pointer(path) else document, path, operation["value"])
    if op == "test":
        if _get(document, path) != operation["value"]:
            raise PatchError(422, f"json patch test failed: value at {path!r} differs")
        return document
    if op in ("move", "copy"):
        if "from" not in operation:
            raise PatchError(400, f"json patch {op} at {path!r} needs 'from'")
        if op == "move":
            document, value = _remove(document, operation["from"])
        else:
            value = copy.deepcopy(_get(document, operation["from"]))
        return _add(document, path, value)
    raise PatchError(400, f"json patch: unknown op {op!r}")
