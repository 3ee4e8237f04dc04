"""Decoding a request body against the kind's schema, as kube-apiserver's JSON decoder does.

Why this exists: a real server rejects `replicas: "3"` before any validation runs (a 400 "cannot be handled
as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
int32"), and reports unknown fields according to `fieldValidation`: `Strict` (kubectl's default) is a 400
"strict decoding error: unknown field …", `Warn` (the server's default) a `Warning` header, `Ignore`
nothing. The schemas are the shipped v1.31 OpenAPI definitions (openapi.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from k8s_sim import openapi
from k8s_sim.store import ApiError, ResourceType
from k8s_sim.wire import Obj, bad_request

_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
_SKIP = {"apiVersion", "kind"}


@dataclass
class Findings:
    unknown: list[str] = field(default_factory=list)
    type_error: str | None = None


def _short(name: str) -> str:
    parts = name.split(".")
    return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else name


def _resolve(schema: Obj | None) -> tuple[Obj | None, str]:
    """(schema, definition name or '')."""
    name = ""
    while schema is not None and "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = openapi.definitions().get(name)
    return schema, name


def _go_type(schema: Obj | None) -> str:
    resolved, name = _resolve(schema)
    if resolved is None:
        return "interface {}"
    kind = resolved.get("type")
    if kind == "array":
        return "[]" + _go_type(resolved.get("items"))
    if kind == "object" and name:
        return _short(name)
    if kind == "object":
        extra = resolved.get("additionalProperties")
        return f"map[string]{_go_type(extra) if isinstance(extra, dict) else 'interface {}'}"
    if kind == "integer":
        return "int32" if resolved.get("format") == "int32" else "int64"
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    return "string"


_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_CHECKS: dict[str, Any] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _accepts(schema: Obj, name: str, value: Any) -> bool:
    """Whether Go's decoder takes `value` for this schema (Quantity and IntOrString take numbers too)."""
    if schema.get("format") == "int-or-string":
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    if name == _QUANTITY:
        return isinstance(value, (int, float, str)) and not isinstance(value, bool)
    check = _CHECKS.get(str(schema.get("type")))
    return True if check is None else bool(check(value))


class _Walker:
    def __init__(self) -> None:
        self.findings = Findings()

    def walk(self, value: Any, schema: Obj | None, path: str, struct: str, go_path: str) -> None:
        if value is None or self.findings.type_error is not None:
            return
        resolved, name = _resolve(schema)
        if resolved is None:
            return
        if not _accepts(resolved, name, value):
            self.findings.type_error = (
                f"json: cannot unmarshal {_JSON_KIND.get(type(value), 'value')} into Go struct field "
                f"{struct}.{go_path} of type {_go_type(schema)}"
            )
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.walk(item, resolved.get("items"), f"{path}[{index}]", struct, go_path)
        elif isinstance(value, dict):
            self._object(value, resolved, name, path, struct, go_path)

    def _object(self, value: Obj, schema: Obj, name: str, path: str, struct: str, go_path: str) -> None:
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        owner = name.rsplit(".", 1)[-1] if name else struct
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            child_go = f"{go_path}.{key}" if go_path else key
            if properties is not None and key in properties:
                self.walk(child, properties[key], child_path, owner, child_go)
            elif isinstance(extra, dict):
                self.walk(child, extra, child_path, struct, child_go)
            elif properties is not None and key not in _SKIP and not key.startswith("$"):
                self.findings.unknown.append(child_path)


def check(rt: ResourceType, body: Obj, request: web.Request) -> list[str]:
    """Raise the decoding errors; return the warnings (unknown fields under Warn)."""
    mode = request.query.get("fieldValidation", "Warn") or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", "Warn"')
    name = openapi.definition_for(rt)
    if name is None:
        return []
    walker = _Walker()
    walker.walk(body, {"$ref": f"#/definitions/{name}"}, "", rt.kind, "")
    found = walker.findings
    if found.type_error is not None:
        raise ApiError(
            400,
            "BadRequest",
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {found.type_error}',
        )
    if not found.unknown or mode == "Ignore":
        return []
    messages = [f'unknown field "{path}"' for path in found.unknown]
    if mode == "Strict":
        raise bad_request("strict decoding error: " + ", ".join(messages))
    return messages


def with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    for message in warnings:
        escaped = message.replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    return response
