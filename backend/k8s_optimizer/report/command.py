"""`k8s-optimizer report --server URL -o table|json|yaml|csv|markdown`: the report of a running backend.

The command is a thin client: it fetches `GET /api/v1/report?format=json` and renders locally with
the same functions the API uses, so every format matches the endpoint byte for byte (the table is a
Rich table of the same columns). Failures print one clear line to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import httpx
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from k8s_optimizer.api.report_formats import COLUMNS, RENDERERS, row
from k8s_optimizer.api.schemas import Report

EXIT_UNREACHABLE = 2
EXIT_BAD_RESPONSE = 3
TIMEOUT_SECONDS = 30.0


def fetch_report(server: str, namespace: str | None, *, transport: httpx.BaseTransport | None = None) -> Report:
    params = {"format": "json"} | ({"namespace": namespace} if namespace else {})
    with httpx.Client(base_url=server.rstrip("/"), timeout=TIMEOUT_SECONDS, transport=transport) as client:
        response = client.get("/api/v1/report", params=params)
    if response.status_code != 200:
        try:
            detail = str(response.json().get("detail", response.text))
        except ValueError:
            detail = response.text
        raise ReportError(f"{server} answered {response.status_code}: {detail}", EXIT_BAD_RESPONSE)
    return Report.model_validate_json(response.content)


class ReportError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def render_table(report: Report, out: TextIO) -> None:
    table = Table(title=f"k8s-optimizer report — {report.cluster}", show_lines=False)
    for column in COLUMNS:
        table.add_column(
            column, overflow="fold", justify="right" if column in ("savings_monthly_usd", "confidence") else "left"
        )
    for rec in report.recommendations:
        values = row(rec)
        table.add_row(*(values[column] for column in COLUMNS))
    console = Console(file=out, width=200)
    console.print(table)
    console.print(
        f"{report.totals.recommendations} recommendations, potential savings "
        f"${report.totals.potential_savings_monthly_usd:.2f}/month of ${report.totals.cost_monthly_usd:.2f}/month"
    )


def run_report(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Entry point of the `report` subcommand (args: server, output, namespace)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        report = fetch_report(args.server, args.namespace, transport=transport)
    except ReportError as exc:
        err.write(f"error: {exc}\n")
        return exc.exit_code
    except httpx.HTTPError as exc:
        err.write(f"error: cannot reach {args.server}: {exc}\n")
        return EXIT_UNREACHABLE
    except ValidationError as exc:
        err.write(f"error: {args.server} did not answer with a report: {exc.error_count()} invalid fields\n")
        return EXIT_BAD_RESPONSE
    if args.output == "table":
        render_table(report, out)
    else:
        out.write(RENDERERS[args.output](report))
    return 0
