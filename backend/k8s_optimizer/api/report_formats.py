"""The recommendation report in every output format: JSON, YAML, CSV and Markdown (the table is Rich's).

One function per format over the API's `Report` model, so `GET /api/v1/report?format=…` and
`k8s-optimizer report -o …` print exactly the same thing. CSV has one row per recommendation with
the same columns as the Markdown and Rich tables.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Literal

import yaml

from k8s_optimizer.api.schemas import RecommendationOut, Report

ReportFormat = Literal["json", "yaml", "csv", "markdown"]
COLUMNS = (
    "priority",
    "namespace",
    "kind",
    "name",
    "container",
    "recommendation",
    "current",
    "proposed",
    "savings_monthly_usd",
    "confidence",
    "id",
)
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "yaml": "application/yaml",
    "csv": "text/csv; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
}


def _values(values: dict[str, object] | None) -> str:
    if not values:
        return ""
    return " ".join(f"{key}={value}" for key, value in values.items() if value is not None)


def row(rec: RecommendationOut) -> dict[str, str]:
    """One recommendation as the flat row every tabular format shares."""
    return {
        "priority": rec.priority,
        "namespace": rec.target.namespace,
        "kind": rec.target.kind,
        "name": rec.target.name,
        "container": rec.container or "",
        "recommendation": rec.kind,
        "current": _values(rec.current),
        "proposed": _values(rec.proposed) or json.dumps(rec.patch, separators=(",", ":")),
        "savings_monthly_usd": f"{rec.savings_monthly_usd:.2f}",
        "confidence": f"{rec.confidence:.2f}",
        "id": rec.id,
    }


def to_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2) + "\n"


def to_yaml(report: Report) -> str:
    return yaml.safe_dump(report.model_dump(mode="json"), sort_keys=False)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in report.recommendations:
        writer.writerow(row(rec))
    return buffer.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    scope = f"namespace `{report.namespace}`" if report.namespace else "all namespaces"
    lines = [
        f"# k8s-optimizer report — {report.cluster}",
        "",
        f"Generated {report.generated_at.isoformat()} for {scope}: {report.totals.recommendations} recommendations, "
        f"potential savings ${report.totals.potential_savings_monthly_usd:.2f}/month "
        f"of ${report.totals.cost_monthly_usd:.2f}/month.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(row(rec)[c]) for c in COLUMNS) + " |" for rec in report.recommendations]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": to_json,
    "yaml": to_yaml,
    "csv": to_csv,
    "markdown": to_markdown,
}


def render_json(report_json: bytes, format: str) -> str:
    """Render a report given as its JSON: what a worker process receives (api/offload.py)."""
    return RENDERERS[format](Report.model_validate_json(report_json))
