"""The whole recommendation report (what a KRR user gets from a CLI run), in JSON, YAML, CSV or Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep, StateDep
from k8s_optimizer.api.params import NamespaceQuery
from k8s_optimizer.api.routes.recommendations import filter_recommendations
from k8s_optimizer.api.views import ViewContext, recommendation_out
from k8s_optimizer.report.formats import MEDIA_TYPES, RENDERERS, ReportFormat

router = APIRouter(prefix="/api/v1", tags=["report"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": s.Report,
        "content": {media: {} for media in MEDIA_TYPES.values() if media != "application/json"},
        "description": "The report in the requested format",
    }
}


def build_report(context: ViewContext, cluster: str, namespace: str | None) -> s.Report:
    recs = filter_recommendations(context, namespace)
    report = context.report
    cost = report.cost.cluster.workloads_monthly_usd if report else 0.0
    if report and namespace is not None:
        line = report.cost.namespaces.get(namespace)
        cost = line.total_monthly_usd if line else 0.0
    scores = [
        v for ref, v in (report.scores.items() if report else []) if namespace is None or ref.namespace == namespace
    ]
    return s.Report(
        generated_at=datetime.now(UTC),
        cluster=cluster,
        namespace=namespace,
        totals=s.ReportTotals(
            recommendations=len(recs),
            # Extra replicas for availability cost money; they are not savings (nor negative savings).
            potential_savings_monthly_usd=round(sum(max(0.0, r.savings_monthly_usd) for r in recs), 2),
            cost_monthly_usd=round(cost, 2),
        ),
        scores={"overall": round(sum(x.overall for x in scores) / len(scores), 1)} if scores else {},
        recommendations=[recommendation_out(r) for r in recs],
    )


@router.get("/report", responses=_RESPONSES)
async def report(
    state: StateDep, context: ContextDep, format: ReportFormat = "json", namespace: NamespaceQuery = None
) -> Response:
    """The recommendation report as JSON, YAML, CSV (one row per recommendation) or Markdown."""
    body = RENDERERS[format](build_report(context, state.cluster_name, namespace))
    return Response(content=body, media_type=MEDIA_TYPES[format])
