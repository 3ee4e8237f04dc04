"""The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text, written by hand.

Why by hand: the live endpoints render a few thousand lines per scrape and the backfill writer hundreds of
millions, so a family is a plain list of pre-sorted label tuples and the writers only join strings. The
text format is what kubelets and kube-state-metrics answer to a Prometheus scrape (sample timestamps in
milliseconds where the kubelet gives them); OpenMetrics is what `promtool tsdb create-blocks-from
openmetrics` reads (timestamps in seconds, counter families named without `_total`, `# EOF` at the end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]
MetricType = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Labels
    value: float
    timestamp_ms: int | None = None


@dataclass(slots=True)
class Family:
    """One metric family: `name` is the sample name (counters end in `_total`, as scraped)."""

    name: str
    type: MetricType
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, labels: Labels, value: float, timestamp_ms: int | None = None) -> None:
        self.samples.append(Sample(labels, value, timestamp_ms))


def labels_of(**labels: str) -> Labels:
    """Labels sorted by name, as kubelets and kube-state-metrics print them."""
    return tuple(sorted(labels.items()))


def escape(value: str) -> str:
    if "\\" not in value and "\n" not in value and '"' not in value:
        return value  # almost every label value: no copy
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{escape(value)}"' for name, value in labels) + "}"


def format_value(value: float) -> str:
    """Integers without a fraction (byte counts, replica counts), other floats in Python's shortest repr."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def render_text(families: Iterable[Family]) -> str:
    """Prometheus text format 0.0.4; a family without samples still gets its HELP and TYPE lines."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            stamp = "" if sample.timestamp_ms is None else f" {sample.timestamp_ms}"
            lines.append(f"{family.name}{label_text(sample.labels)} {format_value(sample.value)}{stamp}")
    return "\n".join(lines) + "\n"


def openmetrics_family_name(name: str, metric_type: MetricType) -> str:
    """OpenMetrics names a counter family without its `_total` suffix."""
    return name.removesuffix("_total") if metric_type == "counter" else name


def openmetrics_header(name: str, metric_type: MetricType, help_text: str) -> str:
    family = openmetrics_family_name(name, metric_type)
    return f"# TYPE {family} {metric_type}\n# HELP {family} {escape(help_text)}\n"


def openmetrics_lines(prefix: str, values: Sequence[float], timestamps_seconds: Sequence[int]) -> str:
    """One series' points: `prefix` is `name{labels} ` (with the trailing space), built once per series."""
    return "".join(
        f"{prefix}{format_value(value)} {stamp}\n" for value, stamp in zip(values, timestamps_seconds, strict=True)
    )
