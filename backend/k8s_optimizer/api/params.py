"""Validated request parameters shared by the routes: DNS-1123 names, paging, label selectors, windows.

Every check raises a 4xx naming the parameter, so a typo in a query string never reaches the cluster
or becomes a 500. Cursors are opaque (base64 of an offset) so the paging scheme can change later.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query

from k8s_optimizer.api.errors import ApiError

T = TypeVar("T")

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
MAX_LIMIT = 1000
MAX_WINDOW_SECONDS = 14 * 24 * 3600

NamespacePath = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="namespace (DNS-1123 label)")
]
NamePath = Annotated[
    str, Path(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="object name (DNS-1123 subdomain)")
]
NamespaceQuery = Annotated[
    str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL, description="only this namespace")
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
CursorQuery = Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")]


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, f"cursor: {cursor!r} is not a cursor this server issued") from None
    if offset < 0:
        raise ApiError(400, f"cursor: {cursor!r} is not a cursor this server issued")
    return offset


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def page(items: Sequence[T], limit: int, cursor: str | None) -> tuple[list[T], str | None, int]:
    """One page of `items` and the cursor of the next (None on the last page)."""
    offset = decode_cursor(cursor)
    chunk = list(items[offset : offset + limit])
    following = offset + limit
    return chunk, encode_cursor(following) if following < len(items) else None, len(items)


_REQUIREMENT = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def parse_label_selector(text: str) -> list[tuple[str, str, str | None]]:
    """'a=b,c!=d,e,!f' -> [(key, op, value)] with op in =, !=, exists, !exists; 400 on anything else."""
    requirements: list[tuple[str, str, str | None]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _REQUIREMENT.match(part)
        if match is None:
            raise ApiError(400, f"label_selector: cannot parse {part.strip()!r} (use key=value, key!=value, key, !key)")
        negated, key, op, value = match.groups()
        if negated and op:
            raise ApiError(400, f"label_selector: {part.strip()!r} mixes '!' with an operator")
        if op is None:
            requirements.append((key, "!exists" if negated else "exists", None))
        else:
            requirements.append((key, "!=" if op == "!=" else "=", value))
    return requirements


def labels_match(labels: dict[str, str], requirements: list[tuple[str, str, str | None]]) -> bool:
    for key, op, value in requirements:
        present = key in labels
        ok = {
            "exists": present,
            "!exists": not present,
            "=": present and labels.get(key) == value,
            "!=": labels.get(key) != value,
        }[op]
        if not ok:
            return False
    return True


_DURATION = re.compile(r"^(\d{1,7})(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration_seconds(text: str, field: str) -> int:
    """'90s', '30m', '6h', '7d' -> seconds; 400 when malformed, zero or over 14 days."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ApiError(400, f"{field}: {text!r} is not a duration like 30m, 6h or 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ApiError(400, f"{field}: must be positive")
    if seconds > MAX_WINDOW_SECONDS:
        raise ApiError(400, f"{field}: {text!r} exceeds the 14d maximum")
    return seconds
