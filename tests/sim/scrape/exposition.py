"""Parse the Prometheus text format back into rows, so tests assert on series, not on string layout."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (\d+))?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Row:
    name: str
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None


def parse(text: str) -> tuple[list[Row], dict[str, str]]:
    """(rows, TYPE by family) of a text-format page; raises on a line that is not valid."""
    rows: list[Row] = []
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match is not None, line
        name, labels, value, stamp = match.groups()
        rows.append(
            Row(name, dict(_LABEL.findall(labels or "")), float(value), int(stamp) if stamp is not None else None)
        )
    return rows, types


def select(rows: list[Row], name: str, **labels: str) -> list[Row]:
    return [row for row in rows if row.name == name and all(row.labels.get(k) == v for k, v in labels.items())]
