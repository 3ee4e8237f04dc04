"""Pure helpers for safe apply: what a patch changes, and the patch that undoes it.

A rollback must restore exactly what the apply replaced, including removing keys the apply added
(e.g. a limit that did not exist before). So the undo patch is computed from the live object *before*
the apply: for every leaf the patch touches, the old value, or null where there was none (null deletes
a key in a strategic merge patch). Lists of named items (containers) are matched by `name`, the merge
key the API server uses.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from k8s_optimizer.api.schemas import DiffLine
from k8s_optimizer.api.secrets import redact_object

Json = dict[str, Any]
_MERGE_KEY = "name"
_VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


def _named(items: list[Any]) -> dict[str, Any]:
    return {item[_MERGE_KEY]: item for item in items if isinstance(item, dict) and _MERGE_KEY in item}


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) and _MERGE_KEY in i for i in value)


def inverse_patch(current: Any, patch: Any) -> Any:
    """The strategic merge patch that turns (current + patch) back into current."""
    if isinstance(patch, dict):
        base = current if isinstance(current, dict) else {}
        return {key: inverse_patch(base[key], value) if key in base else None for key, value in patch.items()}
    if _is_named_list(patch):
        existing = _named(current) if isinstance(current, list) else {}
        inverse = []
        for item in patch:
            name = item[_MERGE_KEY]
            if name in existing:
                undone = inverse_patch(existing[name], {k: v for k, v in item.items() if k != _MERGE_KEY})
                inverse.append({_MERGE_KEY: name, **undone})
            else:
                inverse.append({_MERGE_KEY: name, "$patch": "delete"})
        return inverse
    return current


def _lookup(document: Any, key: str) -> Any:
    return document.get(key) if isinstance(document, dict) else None


def diff_paths(before: Any, after: Any, patch: Any, prefix: str = "") -> list[DiffLine]:
    """Before/after values at every leaf the patch touches, where they differ."""
    lines: list[DiffLine] = []
    if isinstance(patch, dict):
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            path = f"{prefix}.{key}" if prefix else key
            lines += diff_paths(_lookup(before, key), _lookup(after, key), value, path)
    elif _is_named_list(patch):
        old = _named(before) if isinstance(before, list) else {}
        new = _named(after) if isinstance(after, list) else {}
        for item in patch:
            name = item[_MERGE_KEY]
            rest = {k: v for k, v in item.items() if k != _MERGE_KEY}
            lines += diff_paths(old.get(name), new.get(name), rest, f"{prefix}[{name}]")
    elif before != after:
        lines.append(DiffLine(path=prefix, before=before, after=after))
    return lines


def comparable(document: Json) -> Json:
    """The object without status, server-maintained metadata and secrets (api/redact.py), for a readable diff."""
    cleaned = {key: value for key, value in redact_object(document).items() if key != "status"}
    metadata = dict(cleaned.get("metadata") or {})
    for key in _VOLATILE_METADATA:
        metadata.pop(key, None)
    cleaned["metadata"] = metadata
    return cleaned


def unified_diff(before: Json, after: Json, name: str) -> str:
    old = yaml.safe_dump(comparable(before), sort_keys=True).splitlines(keepends=True)
    new = yaml.safe_dump(comparable(after), sort_keys=True).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=f"{name} (live)", tofile=f"{name} (patched)"))
