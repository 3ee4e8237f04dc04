"""Workloads (Deployments, StatefulSets, DaemonSets) with usage per container, HPA and findings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.offload import model_response, page_response
from k8s_optimizer.api.params import CursorQuery, LimitQuery, NamePath, NamespacePath, NamespaceQuery, page
from k8s_optimizer.domain.objects import ObjectRef

router = APIRouter(prefix="/api/v1/workloads", tags=["workloads"])

WorkloadKindParam = Literal["Deployment", "StatefulSet", "DaemonSet"]


@router.get("", response_model=s.Page[s.WorkloadSummary])
async def list_workloads(
    context: ContextDep,
    namespace: NamespaceQuery = None,
    kind: Annotated[WorkloadKindParam | None, Query(description="only this kind")] = None,
    q: Annotated[str | None, Query(max_length=253, description="substring of namespace/name")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Response:
    """Deployments, StatefulSets and DaemonSets with replicas, usage vs request, HPA and services."""
    needle = (q or "").lower()
    selected = sorted(
        (
            w
            for w in context.served_workloads()
            if (namespace is None or w.namespace == namespace)
            and (kind is None or w.kind == kind)
            and needle in f"{w.namespace}/{w.name}".lower()
        ),
        key=lambda w: (w.namespace, w.kind, w.name),
    )
    chunk, next_cursor, total = page(selected, limit, cursor)
    return await page_response(chunk, context.workload_summary, next_cursor, total)


@router.get("/{namespace}/{kind}/{name}", response_model=s.WorkloadDetail)
async def get_workload(
    context: ContextDep,
    namespace: NamespacePath,
    kind: Annotated[WorkloadKindParam, Path(description="Deployment, StatefulSet or DaemonSet")],
    name: NamePath,
) -> Response:
    """One workload with its pods, recommendations, anomalies and events."""
    workload = context.snapshot.workloads.get(ObjectRef(kind, namespace, name))
    if workload is None:
        raise ApiError(404, f"{kind} {namespace}/{name} not found")
    pods = len(context.topology.pods_of_workload(workload.ref()))
    return await model_response(lambda: context.workload_detail(workload), pods)
