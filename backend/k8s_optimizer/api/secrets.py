"""What never leaves the backend: container env values, the last-applied manifest, Secret data.

The backend reads workloads whole (a dry-run returns the full object, and `kubectl apply` keeps the
whole manifest, env values included, in an annotation). Answers — REST, WebSocket, report, dry-run
diffs — go through these functions, so a `DB_PASSWORD` in a Deployment's env is never echoed to
whoever can read the API. Values are replaced, not dropped, so a diff still shows that an env var
exists; `valueFrom` references (a Secret's name and key) are not secret and are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "(redacted)"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HIDDEN_ANNOTATIONS = frozenset({LAST_APPLIED})
_SECRET_FIELDS = ("data", "stringData")


def public_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Annotations without the ones that may carry a whole manifest."""
    return {key: value for key, value in annotations.items() if key not in HIDDEN_ANNOTATIONS}


def redact_object(document: Any) -> Any:
    """A copy of a Kubernetes object (or any part of one) with secrets replaced; the input is untouched."""
    if isinstance(document, list):
        return [redact_object(item) for item in document]
    if not isinstance(document, dict):
        return document
    is_secret = document.get("kind") == "Secret"
    redacted: dict[str, Any] = {}
    for key, value in document.items():
        if key == "annotations" and isinstance(value, Mapping):
            redacted[key] = public_annotations(value)
        elif key == "env" and isinstance(value, list):
            redacted[key] = [_redact_env(item) for item in value]
        elif is_secret and key in _SECRET_FIELDS and isinstance(value, Mapping):
            redacted[key] = dict.fromkeys(value, REDACTED)
        else:
            redacted[key] = redact_object(value)
    return redacted


def _redact_env(item: Any) -> Any:
    if isinstance(item, dict) and "value" in item:
        return {**item, "value": REDACTED}
    return redact_object(item)
