"""Cluster-wide reads: the overview (nodes, network planes, counts, cost), namespaces, nodes, pods, HPAs, events."""

from __future__ import annotations

from fastapi import APIRouter, Response

from k8s_optimizer.analysis import network
from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep
from k8s_optimizer.api.offload import page_response
from k8s_optimizer.api.params import CursorQuery, LimitQuery, NamespaceQuery, page
from k8s_optimizer.api.views import ViewContext, event_out, hpa_out

router = APIRouter(prefix="/api/v1", tags=["cluster"])


def _network(context: ViewContext) -> s.NetworkPlanes:
    snap = context.snapshot
    planes = network.network_planes(snap)
    node_plane = next(plane for plane in planes if plane.name == "node")
    return s.NetworkPlanes(
        node_network_cidr=node_plane.cidr,
        pod_cidrs=sorted({n.pod_cidr for n in snap.nodes.values() if n.pod_cidr}),
        service_cidr=snap.network.service_cidr,
        host_port_mappings={str(k): v for k, v in sorted(snap.network.host_port_mappings.items())},
        planes=[s.NetworkPlane(name=p.name, cidr=p.cidr, members=list(p.members), note=p.note) for p in planes],
        dns_service_ip=network.dns_service_ip(snap),
    )


def _scores(context: ViewContext) -> dict[str, float]:
    scores = list(context.report.scores.values()) if context.report else []
    if not scores:
        return {}
    count = len(scores)
    return {
        "overall": round(sum(x.overall for x in scores) / count, 1),
        "efficiency": round(sum(x.efficiency for x in scores) / count, 1),
        "reliability": round(sum(x.reliability for x in scores) / count, 1),
        "right_sizing": round(sum(x.right_sizing for x in scores) / count, 1),
    }


@router.get("/cluster/overview")
async def overview(context: ContextDep) -> s.Overview:
    """Nodes, the three network planes, counts, monthly cost and potential savings."""
    snap, report = context.snapshot, context.report
    cluster_cost = report.cost.cluster if report else None
    return s.Overview(
        taken_at=snap.taken_at,
        synced=True,
        nodes=[context.node_out(n) for _, n in sorted(snap.nodes.items())],
        network=_network(context),
        counts=s.Counts(
            namespaces=len(snap.namespaces),
            nodes=len(snap.nodes),
            pods=len(snap.pods),
            services=len(snap.services),
            workloads=len(context.served_workloads()),
            hpas=len(snap.hpas),
            recommendations=len(report.recommendations) if report else 0,
            anomalies=len(report.anomalies) if report else 0,
        ),
        cost_monthly_usd=round(cluster_cost.workloads_monthly_usd, 2) if cluster_cost else 0.0,
        potential_savings_monthly_usd=round(cluster_cost.savings_monthly_usd, 2) if cluster_cost else 0.0,
        scores=_scores(context),
    )


@router.get("/namespaces")
async def namespaces(
    context: ContextDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> s.Page[s.NamespaceOut]:
    """Namespaces with their pod, service and workload counts."""
    snap = context.snapshot
    names = sorted(set(snap.namespaces) | {ns for ns, _ in snap.pods} | {ns for ns, _ in snap.services})
    items = []
    for name in names:
        namespace = snap.namespaces.get(name)
        items.append(
            s.NamespaceOut(
                name=name,
                phase=namespace.phase if namespace else "Active",
                labels=namespace.labels if namespace else {},
                pod_count=sum(1 for ns, _ in snap.pods if ns == name),
                service_count=sum(1 for ns, _ in snap.services if ns == name),
                workload_count=sum(1 for w in context.served_workloads() if w.namespace == name),
            )
        )
    chunk, next_cursor, total = page(items, limit, cursor)
    return s.Page[s.NamespaceOut](items=chunk, next_cursor=next_cursor, total=total)


@router.get("/nodes")
async def nodes(context: ContextDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> s.Page[s.NodeOut]:
    """Nodes with capacity, allocatable, requests and usage."""
    items = [context.node_out(n) for _, n in sorted(context.snapshot.nodes.items())]
    chunk, next_cursor, total = page(items, limit, cursor)
    return s.Page[s.NodeOut](items=chunk, next_cursor=next_cursor, total=total)


@router.get("/pods", response_model=s.Page[s.PodOut])
async def pods(
    context: ContextDep, namespace: NamespaceQuery = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Response:
    """Pods with placement, readiness, restarts and per-container usage vs request and limit."""
    keys = sorted(k for k in context.snapshot.pods if namespace is None or k[0] == namespace)
    chunk, next_cursor, total = page(keys, limit, cursor)
    return await page_response(chunk, lambda key: context.pod_out(context.snapshot.pods[key]), next_cursor, total)


@router.get("/hpa", response_model=s.Page[s.HPAOut])
async def hpas(
    context: ContextDep, namespace: NamespaceQuery = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Response:
    """HorizontalPodAutoscalers with metrics and conditions."""
    items = [h for k, h in sorted(context.snapshot.hpas.items()) if namespace is None or k[0] == namespace]
    chunk, next_cursor, total = page(items, limit, cursor)
    return await page_response(chunk, hpa_out, next_cursor, total)


@router.get("/events", response_model=s.Page[s.EventOut])
async def events(
    context: ContextDep, namespace: NamespaceQuery = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Response:
    """Events, newest first."""
    found = [e for k, e in context.snapshot.events.items() if namespace is None or k[0] == namespace]
    found.sort(key=lambda e: (e.last_seen.timestamp() if e.last_seen else 0.0, e.name), reverse=True)
    chunk, next_cursor, total = page(found, limit, cursor)
    return await page_response(chunk, event_out, next_cursor, total)
