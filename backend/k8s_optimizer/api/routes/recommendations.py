"""Recommendations and their patches, dry-run/apply/rollback, the audit log, anomalies and cost."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from k8s_optimizer.api import apply as apply_ops, schemas as s
from k8s_optimizer.api.deps import ApplyTokenDep, ContextDep, StateDep
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.params import CursorQuery, LimitQuery, NamespaceQuery, decode_cursor, encode_cursor, page
from k8s_optimizer.api.views import ViewContext, anomaly_out, cost_line, recommendation_out
from k8s_optimizer.recommend.model import Recommendation

router = APIRouter(prefix="/api/v1", tags=["recommendations"])

RecommendationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
ChangeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
_PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def find_recommendation(context: ViewContext, rec_id: str) -> Recommendation:
    rec = context.recs_by_id.get(rec_id)
    if rec is None:
        raise ApiError(404, f"recommendation {rec_id} not found (recommendations are recomputed after each scrape)")
    return rec


def filter_recommendations(
    context: ViewContext,
    namespace: str | None = None,
    kind: str | None = None,
    priority: str | None = None,
    min_savings: float | None = None,
) -> list[Recommendation]:
    recs = context.report.recommendations if context.report else ()
    selected = [
        r
        for r in recs
        if (namespace is None or r.target.namespace == namespace)
        and (kind is None or r.kind == kind)
        and (priority is None or r.priority == priority)
        and (min_savings is None or r.savings_monthly_usd >= min_savings)
    ]
    selected.sort(key=lambda r: (_PRIORITY_ORDER.get(r.priority, 3), -r.savings_monthly_usd, r.id))
    return selected


@router.get("/recommendations")
async def list_recommendations(
    context: ContextDep,
    namespace: NamespaceQuery = None,
    kind: Annotated[
        Literal["resources", "hpa", "replicas", "probe", "pdb"] | None, Query(description="recommendation kind")
    ] = None,
    priority: Annotated[Literal["high", "medium", "low"] | None, Query()] = None,
    min_savings: Annotated[float | None, Query(ge=0, le=1e9, description="USD per month")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> s.Page[s.RecommendationOut]:
    """Open recommendations, highest priority and savings first."""
    selected = filter_recommendations(context, namespace, kind, priority, min_savings)
    chunk, next_cursor, total = page(selected, limit, cursor)
    return s.Page[s.RecommendationOut](
        items=[recommendation_out(r) for r in chunk], next_cursor=next_cursor, total=total
    )


@router.get("/recommendations/{rec_id}")
async def get_recommendation(context: ContextDep, rec_id: RecommendationId) -> s.RecommendationOut:
    """One recommendation with rationale, current/proposed values and the patch."""
    return recommendation_out(find_recommendation(context, rec_id))


@router.get("/recommendations/{rec_id}/patch")
async def get_patch(
    context: ContextDep, rec_id: RecommendationId, format: Literal["yaml", "json", "kubectl"] = "yaml"
) -> s.PatchOut:
    """The patch as YAML, as JSON, or as the equivalent `kubectl patch` command."""
    rec = find_recommendation(context, rec_id)
    content = {
        "yaml": rec.patch_yaml,
        "json": json.dumps(rec.patch, indent=2, sort_keys=True),
        "kubectl": rec.kubectl_patch,
    }[format]
    return s.PatchOut(recommendation_id=rec.id, format=format, content=content)


@router.post("/recommendations/{rec_id}/dry-run")
async def dry_run(
    state: StateDep, context: ContextDep, rec_id: RecommendationId, _token: ApplyTokenDep
) -> s.DryRunResult:
    """Server-side dry run (dryRun=All) of the patch; returns the diff of the object."""
    return await apply_ops.dry_run(state, find_recommendation(context, rec_id))


@router.post("/recommendations/{rec_id}/apply")
async def apply_recommendation(
    state: StateDep, context: ContextDep, rec_id: RecommendationId, token_id: ApplyTokenDep
) -> s.ChangeRecord:
    """Apply the patch; previous values go to an annotation and the audit log."""
    return await apply_ops.apply(state, find_recommendation(context, rec_id), token_id)


@router.post("/changes/{change_id}/rollback")
async def rollback_change(state: StateDep, change_id: ChangeId, token_id: ApplyTokenDep) -> s.ChangeRecord:
    """Restore the values an apply replaced."""
    return await apply_ops.rollback(state, change_id, token_id)


@router.get("/changes")
async def list_changes(state: StateDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> s.Page[s.ChangeRecord]:
    """The audit log of applies and rollbacks, newest first."""
    offset = decode_cursor(cursor)
    records, total = state.audit.list(limit, offset)
    following = offset + limit
    return s.Page[s.ChangeRecord](
        items=records, next_cursor=encode_cursor(following) if following < total else None, total=total
    )


@router.get("/anomalies")
async def list_anomalies(
    context: ContextDep, namespace: NamespaceQuery = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> s.Page[s.AnomalyOut]:
    """Detected anomalies (spikes, drift, OOM kills, restart bursts...), newest first."""
    anomalies = context.report.anomalies if context.report else ()
    selected = sorted(
        (a for a in anomalies if namespace is None or a.target.namespace == namespace),
        key=lambda a: a.timestamp_seconds,
        reverse=True,
    )
    chunk, next_cursor, total = page(selected, limit, cursor)
    return s.Page[s.AnomalyOut](items=[anomaly_out(a) for a in chunk], next_cursor=next_cursor, total=total)


@router.get("/cost")
async def cost(state: StateDep, context: ContextDep, namespace: NamespaceQuery = None) -> s.Cost:
    """Monthly cost per namespace and per service, the cluster total and potential savings."""
    report = context.report
    cluster = report.cost.cluster if report else None
    prices = state.settings.prices
    return s.Cost(
        cluster=s.ClusterCostOut(
            workloads_monthly_usd=round(cluster.workloads_monthly_usd, 2) if cluster else 0.0,
            allocatable_monthly_usd=round(cluster.allocatable_monthly_usd, 2) if cluster else 0.0,
            idle_monthly_usd=round(cluster.idle_monthly_usd, 2) if cluster else 0.0,
            savings_monthly_usd=round(cluster.savings_monthly_usd, 2) if cluster else 0.0,
        ),
        namespaces=[
            cost_line(k, v)
            for k, v in sorted(report.cost.namespaces.items() if report else [])
            if namespace is None or k == namespace
        ],
        services=[
            cost_line(key, v)
            for key, v in sorted(
                (f"{ref.namespace}/{ref.name}", line)
                for ref, line in (report.cost.services.items() if report else [])
                if namespace is None or ref.namespace == namespace
            )
        ],
        prices=prices.model_dump(),
    )
