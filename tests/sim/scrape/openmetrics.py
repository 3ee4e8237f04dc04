"""Read an OpenMetrics backfill file back: series by labels, with their (timestamp, value) points."""

from __future__ import annotations

from pathlib import Path

from tests.sim.scrape.exposition import _LABEL, _LINE

SeriesKey = tuple[str, frozenset[tuple[str, str]]]


def read(path: Path) -> tuple[dict[str, str], dict[SeriesKey, list[tuple[int, float]]], list[str]]:
    """(TYPE by family, points by series in file order, family order); asserts the file's structure."""
    types: dict[str, str] = {}
    series: dict[SeriesKey, list[tuple[int, float]]] = {}
    order: list[str] = []
    with path.open() as lines:
        for line in lines:
            line = line.rstrip("\n")
            if line == "# EOF":
                assert lines.read() == "", "nothing may follow # EOF"
                return types, series, order
            if line.startswith("# TYPE "):
                _, _, family, kind = line.split(" ", 3)
                assert family not in types, f"family {family} is interleaved"
                types[family] = kind
                order.append(family)
                continue
            if line.startswith("#"):
                continue
            match = _LINE.match(line)
            assert match is not None, line
            name, labels, value, stamp = match.groups()
            assert stamp is not None, line
            key = (name, frozenset(_LABEL.findall(labels or "")))
            series.setdefault(key, []).append((int(stamp), float(value)))
    raise AssertionError("the file does not end with # EOF")
