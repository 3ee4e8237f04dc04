"""`k8s-optimizer report`: every output format from a backend's /api/v1/report, and clear failures."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
import yaml

from k8s_optimizer.api.report_formats import COLUMNS, to_csv, to_markdown
from k8s_optimizer.api.schemas import ObjectRefOut, RecommendationOut, Report, ReportTotals
from k8s_optimizer.cli import build_parser
from k8s_optimizer.report.command import run_report


def recommendation(name: str, savings: float) -> RecommendationOut:
    return RecommendationOut(
        id=f"rec-{name}",
        target=ObjectRefOut(kind="Deployment", namespace="shop", name=name),
        container="app",
        kind="resources",
        priority="high",
        severity="warning",
        savings_monthly_usd=savings,
        confidence=0.75,
        rationale="p95 120m",
        current={"cpu_request_millicores": 500, "memory_request_bytes": None},
        proposed={"cpu_request_millicores": 150, "memory_request_bytes": None},
        bounds=None,
        patch={"spec": {}},
        patch_yaml="spec: {}\n",
        kubectl_command="kubectl -n shop patch deployment web -p '{}'",
        verify_commands=[],
        simulation_current=None,
        simulation_proposed=None,
        applicable=True,
    )


REPORT = Report(
    generated_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    cluster="kind-k8s-optimizer",
    namespace=None,
    totals=ReportTotals(recommendations=2, potential_savings_monthly_usd=21.5, cost_monthly_usd=80.0),
    scores={"overall": 71.0},
    recommendations=[recommendation("web", 16.17), recommendation("api|x", 5.33)],
)


def serve(report_json: str, status: int = 200, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, text=report_json, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


def run(argv: list[str], transport: httpx.BaseTransport | None) -> tuple[int, str, str]:
    args: argparse.Namespace = build_parser().parse_args(["report", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_report(args, out=out, err=err, transport=transport)
    return code, out.getvalue(), err.getvalue()


def test_json_and_yaml_round_trip() -> None:
    seen: list[httpx.Request] = []
    code, out, _ = run(
        ["--server", "http://backend:8080/", "-o", "json", "--namespace", "shop"],
        serve(REPORT.model_dump_json(), seen=seen),
    )
    assert code == 0
    assert Report.model_validate(json.loads(out)) == REPORT
    assert str(seen[0].url) == "http://backend:8080/api/v1/report?format=json&namespace=shop"
    code, out, _ = run(["-o", "yaml"], serve(REPORT.model_dump_json()))
    assert Report.model_validate(yaml.safe_load(out)) == REPORT


def test_csv_has_one_row_per_recommendation() -> None:
    code, out, _ = run(["-o", "csv"], serve(REPORT.model_dump_json()))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert tuple(rows[0]) == COLUMNS
    assert [(r["name"], r["savings_monthly_usd"], r["current"], r["proposed"]) for r in rows] == [
        ("web", "16.17", "cpu_request_millicores=500", "cpu_request_millicores=150"),
        ("api|x", "5.33", "cpu_request_millicores=500", "cpu_request_millicores=150"),
    ]
    assert out == to_csv(REPORT)


def test_markdown_escapes_pipes() -> None:
    text = to_markdown(REPORT)
    assert "potential savings $21.50/month of $80.00/month" in text
    assert "| high | shop | Deployment | api\\|x | app | resources |" in text


def test_table() -> None:
    code, out, _ = run(["-o", "table"], serve(REPORT.model_dump_json()))
    assert code == 0
    assert "rec-web" in out
    assert "2 recommendations, potential savings $21.50/month of $80.00/month" in out


@pytest.mark.parametrize(
    ("transport_factory", "code", "message"),
    [
        (
            lambda: serve('{"detail": "cluster caches not synced yet; retry shortly"}', 503),
            3,
            "answered 503: cluster caches not synced yet",
        ),
        (lambda: serve("{}"), 3, "did not answer with a report"),
        (lambda: None, 2, "cannot reach http://127.0.0.1:9"),
    ],
)
def test_failures_are_one_clear_line(
    transport_factory: Callable[[], httpx.BaseTransport | None], code: int, message: str
) -> None:
    result, out, err = run(["--server", "http://127.0.0.1:9"], transport_factory())
    assert (result, out) == (code, "")
    assert message in err
    assert err.count("\n") == 1
