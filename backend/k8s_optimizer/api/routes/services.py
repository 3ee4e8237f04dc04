"""Services: the list with live usage and scores, the detail, the request path and the diagnosis."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from k8s_optimizer.analysis import network
from k8s_optimizer.analysis.kubeproxy.view import proxy_node, rules_view, settings_for
from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep, ListingDep
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.listing import ServiceQuery
from k8s_optimizer.api.offload import model_response
from k8s_optimizer.api.params import CursorQuery, LimitQuery, NamePath, NamespacePath, NamespaceQuery
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.objects import Service

router = APIRouter(prefix="/api/v1/services", tags=["services"])

ServiceSort = Literal[
    "name",
    "-name",
    "namespace",
    "-namespace",
    "cpu",
    "-cpu",
    "memory",
    "-memory",
    "recommendations",
    "-recommendations",
]


def _service(context: ViewContext, namespace: str, name: str) -> Service:
    service = context.snapshot.services.get((namespace, name))
    if service is None:
        raise ApiError(404, f"service {namespace}/{name} not found")
    return service


@router.get("", response_model=s.Page[s.ServiceSummary])
async def list_services(
    request: Request,
    listing: ListingDep,
    namespace: NamespaceQuery = None,
    label_selector: Annotated[str | None, Query(max_length=1024, description="a=b,c!=d,e,!f")] = None,
    q: Annotated[str | None, Query(max_length=253, description="substring of namespace/name")] = None,
    sort: ServiceSort = "namespace",
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Response:
    """Every Service with endpoints, backing workloads, HPA, usage vs request, score and open findings.

    Served from the view's pre-serialised listing: the body is the cached JSON of this exact page.
    """
    query = ServiceQuery(namespace, label_selector, q, sort, limit, cursor)
    body = listing.page(query)
    listing.remember_raw(request.scope["query_string"], query)  # validated: api/fastpath.py may reuse it
    return Response(body, media_type="application/json")


@router.get("/{namespace}/{name}", response_model=s.ServiceDetail)
async def get_service(context: ContextDep, namespace: NamespacePath, name: NamePath) -> Response:
    """One Service with its pods, endpoints, HPA, checks, diagnosis, recommendations, anomalies and events."""
    service = _service(context, namespace, name)
    pods = len(context.topology.backing_pods(service))
    return await model_response(lambda: context.service_detail(service), pods)


def _hop(hop: network.Hop) -> s.PathHop:
    return s.PathHop(kind=hop.kind, label=hop.label, address=hop.address, note=hop.note, command=hop.command)


def _path(path: network.RequestPath, chains: dict[str, str]) -> s.RequestPath:
    return s.RequestPath(
        kind=path.kind,
        service_port=path.service_port,
        hops=[_hop(h) for h in path.hops],
        branches=[
            s.PathBranch(
                target=b.target,
                probability=float(b.probability),
                cross_node=b.cross_node,
                hops=[_hop(h) for h in b.hops],
                rule_chain=chains.get(b.target) if path.kind not in ("headless", "external-name") else None,
            )
            for b in path.branches
        ],
    )


def _endpoint_chains(context: ViewContext, service: Service) -> dict[str, str]:
    """endpoint ip:port → the chain kube-proxy DNATs it from, in the cluster's mode (for the path's links)."""
    snapshot = context.snapshot
    slices = network.slices_of(snapshot, service)
    node = network.entry_node(snapshot)
    if node is None:
        return {}
    rules = rules_view(settings_for(snapshot), [service], slices, proxy_node(node), service=service)
    return {rule.endpoint: rule.chain for rule in rules.endpoint_rules}


def _commands(paths: list[s.RequestPath]) -> list[str]:
    seen: dict[str, None] = {}
    for path in paths:
        for hop in [*path.hops, *(h for b in path.branches for h in b.hops)]:
            if hop.command:
                seen.setdefault(hop.command, None)
    return list(seen)


@router.get("/{namespace}/{name}/path")
async def service_path(context: ContextDep, namespace: NamespacePath, name: NamePath) -> s.ServicePath:
    """Request paths with kube-proxy DNAT targets and probabilities, and the kubectl command for each hop."""
    service = _service(context, namespace, name)
    view = network.service_map(context.topology, service)
    paths = [_path(p, _endpoint_chains(context, service)) for p in view.paths]
    summary = context.service_summary(service)
    return s.ServicePath(
        service=s.ObjectRefOut(kind="Service", namespace=namespace, name=name),
        dns_name=view.dns_name,
        type=view.type,
        cluster_ip=view.cluster_ip,
        ports=summary.ports,
        endpoints=[
            s.PathEndpoint(ip=e.ip, ports=list(e.ports), ready=e.ready, pod=e.pod, node=e.node, node_ip=e.node_ip)
            for e in view.endpoints
        ],
        kube_proxy=[
            s.KubeProxyOut(
                service_port=p.service_port,
                protocol=p.protocol,
                rules=[
                    s.ProxyRuleOut(
                        index=r.index,
                        target=r.target,
                        pod=r.pod,
                        node=r.node,
                        rule_probability=float(r.rule_probability),
                        probability=float(r.probability),
                    )
                    for r in p.rules
                ],
            )
            for p in view.kube_proxy
        ],
        paths=paths,
        verification_commands=_commands(paths),
    )


@router.get("/{namespace}/{name}/diagnosis")
async def service_diagnosis(context: ContextDep, namespace: NamespacePath, name: NamePath) -> s.ServiceDiagnosis:
    """Connectivity findings and the best-practice checks of the workloads behind the Service."""
    detail = context.service_detail(_service(context, namespace, name))
    return s.ServiceDiagnosis(
        service=s.ObjectRefOut(kind="Service", namespace=namespace, name=name),
        healthy=not any(d.severity == "danger" for d in detail.diagnosis),
        diagnosis=detail.diagnosis,
        checks=detail.checks,
    )
