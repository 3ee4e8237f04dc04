"""Turn a proposal into something a user can apply: a strategic-merge patch, its YAML, the kubectl command.

The patch dict is what the API's dry-run/apply sends; the command is the exact equivalent for a
terminal; the verify commands show the result afterwards. Only values that change are in the patch,
and a limit being removed is an explicit null (strategic merge deletes the key).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.quantities import format_cpu, format_memory
from k8s_optimizer.recommend.model import HPASettings, Recommendation, ResourceValues

_RESOURCE_PLURAL = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicaSet": "replicaset",
    "HorizontalPodAutoscaler": "hpa",
}


def _set(section: dict[str, Any], key: str, current: int | None, proposed: int | None, text: str | None) -> None:
    if current != proposed:
        section[key] = text  # None removes the key under strategic merge


def _text(value: int | None, formatter: Callable[[float], str]) -> str | None:
    return None if value is None else formatter(value)


def resources_patch(container: str, current: ResourceValues, proposed: ResourceValues) -> dict[str, Any]:
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    _set(
        requests,
        "cpu",
        current.cpu_request_millicores,
        proposed.cpu_request_millicores,
        _text(proposed.cpu_request_millicores, format_cpu),
    )
    _set(
        requests,
        "memory",
        current.memory_request_bytes,
        proposed.memory_request_bytes,
        _text(proposed.memory_request_bytes, format_memory),
    )
    _set(
        limits,
        "cpu",
        current.cpu_limit_millicores,
        proposed.cpu_limit_millicores,
        _text(proposed.cpu_limit_millicores, format_cpu),
    )
    _set(
        limits,
        "memory",
        current.memory_limit_bytes,
        proposed.memory_limit_bytes,
        _text(proposed.memory_limit_bytes, format_memory),
    )
    resources = {key: value for key, value in (("requests", requests), ("limits", limits)) if value}
    return {"spec": {"template": {"spec": {"containers": [{"name": container, "resources": resources}]}}}}


def hpa_patch(proposed: HPASettings) -> dict[str, Any]:
    metric = {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": proposed.target_cpu_utilization_percent},
        },
    }
    return {"spec": {"minReplicas": proposed.min_replicas, "maxReplicas": proposed.max_replicas, "metrics": [metric]}}


def replicas_patch(replicas: int) -> dict[str, Any]:
    return {"spec": {"replicas": replicas}}


def _scalar(value: object) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value)) if _needs_quotes(str(value)) else str(value)


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_RESERVED = frozenset(("null", "true", "false", "yes", "no", "on", "off"))


def _needs_quotes(text: str) -> bool:
    """Plain only for the boring shape quantities and names have ('245m', 'app'); everything else quoted."""
    # fullmatch, not match: `$` also matches before a trailing newline, and "A\n" printed plain loads as "A".
    return _PLAIN.fullmatch(text) is None or text.lower() in _RESERVED


def _emit(value: object, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for raw_key, item in value.items():
            key = _scalar(str(raw_key))  # a key is a scalar too: plain `on:` would load back as True
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{key}:")
                _emit(item, indent + 1, lines)
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{key}:")
                _emit(item, indent, lines)  # kubectl/PyYAML style: "- " at the key's indent
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if not (isinstance(item, dict | list) and item):
                lines.append(f"{pad}- {_scalar(item)}")
                continue
            nested: list[str] = []
            _emit(item, 0, nested)
            lines.append(f"{pad}- {nested[0]}")
            lines.extend(f"{pad}  {line}" for line in nested[1:])
    else:
        lines.append(f"{pad}{_scalar(value)}")


def patch_yaml(patch: dict[str, Any]) -> str:
    """Block-style YAML of a patch (dicts, lists, scalars): what `yaml.safe_dump` prints, ~50× faster.

    PyYAML's pure-Python representer dominated analyze() on 10,000 containers; the test suite checks
    that `yaml.safe_load(patch_yaml(p)) == p`.
    """
    lines: list[str] = []
    _emit(patch, 0, lines)
    return "\n".join(lines) + "\n"


def kubectl_patch(target: ObjectRef, patch: dict[str, Any]) -> str:
    body = json.dumps(patch, separators=(",", ":"))
    resource = _RESOURCE_PLURAL.get(target.kind, target.kind.lower())
    return f"kubectl -n {target.namespace} patch {resource} {target.name} --type strategic -p '{body}'"


def verify_commands(target: ObjectRef, container: str | None) -> tuple[str, ...]:
    resource = _RESOURCE_PLURAL.get(target.kind, target.kind.lower())
    namespace = f"kubectl -n {target.namespace}"
    if target.kind == "HorizontalPodAutoscaler":
        return (f"{namespace} get hpa {target.name}", f"{namespace} describe hpa {target.name}")
    commands = [f"{namespace} rollout status {resource}/{target.name}"]
    if container is not None:
        path = f'{{.spec.template.spec.containers[?(@.name=="{container}")].resources}}'
        commands.append(f"{namespace} get {resource} {target.name} -o jsonpath='{path}'")
    else:
        commands.append(f"{namespace} get {resource} {target.name}")
    return tuple(commands)


def recommendation_id(target: ObjectRef, container: str | None, kind: str, basis: object) -> str:
    """Stable across analysis passes while the proposal does not change (sha256 of target + kind + basis)."""
    text = json.dumps([target.key(), container, kind, basis], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def patch_for(recommendation: Recommendation) -> dict[str, Any]:
    """The strategic-merge patch the API dry-runs and applies to `recommendation.target` (a fresh copy)."""
    copied: dict[str, Any] = json.loads(json.dumps(recommendation.patch))
    return copied
