"""Label and field selectors as the API server parses them from `labelSelector=` / `fieldSelector=`.

Clients filter server-side (the backend watches `app=web` pods, kubectl lists `status.phase=Running`),
so the embedded cluster must accept the same grammar and reject what the real server rejects with a
400 that names the bad term. Pure: strings in, predicates out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Operator = Literal["=", "!=", "in", "notin", "exists", "!"]
_SET_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_KEY = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)$")


class SelectorError(ValueError):
    """A selector string the API server would reject (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        # '!=' and 'notin' match objects without the key, as the real server does
        return not present or labels[self.key] not in self.values


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        actual = labels or {}
        return all(requirement.matches(actual) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside a `(...)` value set."""
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def _check_key(key: str, term: str) -> str:
    if not _KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise SelectorError(f'invalid label key "{key}" in selector term "{term}"')
    return key


def _check_value(value: str, term: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise SelectorError(f'invalid label value "{value}" in selector term "{term}"')
    return value


def _parse_term(term: str) -> Requirement:
    set_match = _SET_TERM.match(term)
    if set_match:
        key, operator, raw_values = set_match.groups()
        values = tuple(_check_value(value.strip(), term) for value in raw_values.split(","))
        return Requirement(_check_key(key, term), "in" if operator == "in" else "notin", values)
    for symbol, operator in (("!=", "!="), ("==", "="), ("=", "=")):
        if symbol in term:
            key, _, value = term.partition(symbol)
            return Requirement(_check_key(key.strip(), term), operator, (_check_value(value.strip(), term),))  # type: ignore[arg-type]
    if term.startswith("!"):
        return Requirement(_check_key(term[1:].strip(), term), "!")
    if " " in term or "(" in term or ")" in term:
        raise SelectorError(f'unable to parse requirement: "{term}"')
    return Requirement(_check_key(term, term), "exists")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse `a=b,c!=d,e in (f,g),h notin (i),j,!k`; raises SelectorError on malformed input."""
    if not text:
        return LabelSelector(())
    return LabelSelector(tuple(_parse_term(term) for term in _split_terms(text)))


def selector_from_match_labels(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A LabelSelector from an object's `spec.selector` (matchLabels + matchExpressions)."""
    if not selector:
        return LabelSelector(())
    requirements = [Requirement(key, "=", (str(value),)) for key, value in (selector.get("matchLabels") or {}).items()]
    names: dict[str, Operator] = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        operator = names[expression["operator"]]
        requirements.append(Requirement(expression["key"], operator, tuple(expression.get("values") or ())))
    return LabelSelector(tuple(requirements))


def format_selector(selector: Mapping[str, Any] | None) -> str:
    """`spec.selector` as the string form the Scale subresource and `kubectl get -o wide` show."""
    parts: list[str] = []
    for requirement in selector_from_match_labels(selector).requirements:
        if requirement.operator == "=":
            parts.append(f"{requirement.key}={requirement.values[0]}")
        elif requirement.operator in ("in", "notin"):
            parts.append(f"{requirement.key} {requirement.operator} ({','.join(requirement.values)})")
        elif requirement.operator == "exists":
            parts.append(requirement.key)
        else:
            parts.append(f"!{requirement.key}")
    return ",".join(parts)


# -- field selectors ---------------------------------------------------------------------------------
FieldGetter = Callable[[Mapping[str, Any]], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        return "" if value is None else str(value)

    return get


_COMMON_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
# The fields each kind supports beyond metadata.name/namespace (the real server's field label conversions).
_KIND_FIELDS: dict[str, dict[str, FieldGetter]] = {
    "Pod": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "Event": {
        **{
            f"involvedObject.{field}": _path("involvedObject", field)
            for field in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        "reason": _path("reason"),
        "type": _path("type"),
        "source": _path("source", "component"),
        "reportingComponent": _path("reportingComponent"),
    },
    "Node": {"spec.unschedulable": _path("spec", "unschedulable")},
    "Namespace": {"status.phase": _path("status", "phase")},
    "ReplicaSet": {"status.replicas": _path("status", "replicas")},
}


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    getter: FieldGetter
    equal: bool
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (self.getter(obj) == self.value) == self.equal


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(requirement.matches(obj) for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_field_term(term: str) -> tuple[str, bool, str]:
    for symbol, equal in (("!=", False), ("==", True), ("=", True)):
        if symbol in term:
            field, _, value = term.partition(symbol)
            return field.strip(), equal, value
    raise SelectorError(f'invalid field selector term "{term}": expected field=value or field!=value')


def parse_field_selector(text: str | None, kind: str) -> FieldSelector:
    """Parse `metadata.name=x,status.phase!=Running` for `kind`; unknown fields are a 400 as on a real server."""
    if not text:
        return FieldSelector(())
    supported = {**_COMMON_FIELDS, **_KIND_FIELDS.get(kind, {})}
    requirements: list[FieldRequirement] = []
    for term in _split_terms(text):
        field, equal, value = _split_field_term(term)
        if field not in supported:
            raise SelectorError(f'"{field}" is not a known field selector: only "{", ".join(sorted(supported))}"')
        requirements.append(FieldRequirement(field, supported[field], equal, value.strip()))
    return FieldSelector(tuple(requirements))
