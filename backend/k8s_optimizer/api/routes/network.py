"""kube-proxy's rules per Service and per node, and NetworkPolicy reachability to a Service.

Both are computed from the watch caches (Services, EndpointSlices, NetworkPolicies, pods) by the pure
core; rendering a whole node's rules is a walk of every Service, so it runs off the event loop.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from k8s_optimizer.analysis import netpol
from k8s_optimizer.analysis.kubeproxy.view import (
    RulesView,
    is_large_cluster,
    proxy_node,
    rules_view,
    settings_for,
)
from k8s_optimizer.analysis.network import entry_node, resolve_target_port
from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.params import NamePath, NamespacePath
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.objects import Node, ObjectRef, Pod, Service

router = APIRouter(prefix="/api/v1", tags=["network"])

ModeQuery = Annotated[
    Literal["iptables", "nftables", "ipvs"] | None,
    Query(description="render as this kube-proxy mode instead of the cluster's (OPTIMIZER_KUBE_PROXY_MODE)"),
]
NodeQuery = Annotated[
    str | None, Query(max_length=253, description="the node whose rules to show (default: kind's entry node)")
]
_POD_REF = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")


def _service(context: ViewContext, namespace: str, name: str) -> Service:
    service = context.snapshot.services.get((namespace, name))
    if service is None:
        raise ApiError(404, f"service {namespace}/{name} not found")
    return service


def _node(context: ViewContext, name: str | None) -> Node:
    node = context.snapshot.nodes.get(name) if name else entry_node(context.snapshot)
    if node is None:
        raise ApiError(404, f"node {name} not found" if name else "the cluster has no nodes")
    return node


def _ref(ref: ObjectRef) -> s.ObjectRefOut:
    return s.ObjectRefOut(kind=ref.kind, namespace=ref.namespace, name=ref.name)


def _rules_out(view: RulesView, mode_source: str, service: Service | None) -> s.RulesOut:
    return s.RulesOut(
        node=view.node,
        mode=view.mode,
        mode_source=mode_source,
        service=_ref(service.ref()) if service else None,
        text=view.text,
        listing=view.listing,
        endpoint_rules=[
            s.EndpointRuleOut(endpoint=r.endpoint, chain=r.chain, dnat=r.dnat) for r in view.endpoint_rules
        ],
    )


@router.get("/services/{namespace}/{name}/rules")
async def service_rules(
    context: ContextDep, namespace: NamespacePath, name: NamePath, mode: ModeQuery = None, node: NodeQuery = None
) -> s.RulesOut:
    """The lines kube-proxy programs for this Service on one node, as the node's own tools print them."""
    service = _service(context, namespace, name)
    where = _node(context, node)
    snapshot = context.snapshot
    settings = settings_for(snapshot)
    slices = [e for e in snapshot.endpoint_slices.values() if (e.namespace, e.service_name) == (namespace, name)]
    view = rules_view(
        settings,
        [service],
        slices,
        proxy_node(where),
        service=service,
        mode=mode,
        service_cidrs=(snapshot.network.service_cidr,),
        large_cluster=is_large_cluster(snapshot.endpoint_slices.values()),
    )
    return _rules_out(view, settings.source, service)


@router.get("/nodes/{node}/rules")
async def node_rules(context: ContextDep, node: NamePath, mode: ModeQuery = None) -> s.RulesOut:
    """Every Service's rules on one node (a walk of the whole cluster, done off the event loop)."""
    where = _node(context, node)
    snapshot = context.snapshot
    settings = settings_for(snapshot)
    view = await asyncio.to_thread(
        rules_view,
        settings,
        list(snapshot.services.values()),
        list(snapshot.endpoint_slices.values()),
        proxy_node(where),
        mode=mode,
        service_cidrs=(snapshot.network.service_cidr,),
    )
    return _rules_out(view, settings.source, None)


def _source(context: ViewContext, pod_ref: str | None, from_namespace: str | None) -> netpol.PodPeer:
    if (pod_ref is None) == (from_namespace is None):
        raise ApiError(422, "give exactly one of 'from' (namespace/pod) or 'from_namespace'")
    if from_namespace is not None:
        if from_namespace not in context.snapshot.namespaces:
            raise ApiError(404, f"namespace {from_namespace} not found")
        return netpol.PodPeer(from_namespace, None, {})
    assert pod_ref is not None
    if not _POD_REF.match(pod_ref):
        raise ApiError(422, f"'from' must be namespace/pod, got {pod_ref!r}")
    namespace, name = pod_ref.split("/", 1)
    pod = context.snapshot.pods.get((namespace, name))
    if pod is None:
        raise ApiError(404, f"pod {pod_ref} not found")
    return netpol.PodPeer.of(pod)


def _side(side: netpol.SideVerdict) -> s.SideVerdictOut:
    return s.SideVerdictOut(
        direction="Ingress" if side.direction == "Ingress" else "Egress",
        isolated=side.isolated,
        allowed=side.allowed,
        selecting=[_ref(r) for r in side.selecting],
        allowing=[_ref(r) for r in side.allowing],
    )


def _port_reachability(
    context: ViewContext, service: Service, source: netpol.PodPeer, backends: list[Pod]
) -> list[s.PortReachability]:
    snapshot = context.snapshot
    namespaces = {name: dict(ns.labels) for name, ns in snapshot.namespaces.items()}
    policies = list(snapshot.network_policies.values())
    result: list[s.PortReachability] = []
    for port in service.ports:
        rows: list[s.EndpointReachability] = []
        for pod in backends:
            target = resolve_target_port(port, pod)
            if target is None:
                continue
            verdict = netpol.evaluate(source, netpol.PodPeer.of(pod), target, port.protocol, policies, namespaces)
            rows.append(
                s.EndpointReachability(
                    pod=pod.name,
                    port=target,
                    allowed=verdict.allowed,
                    reason=verdict.reason,
                    egress=_side(verdict.egress),
                    ingress=_side(verdict.ingress),
                )
            )
        allowed = {row.allowed for row in rows}
        overall: Literal["allowed", "denied", "partial", "no-endpoints"] = (
            "no-endpoints"
            if not rows
            else "allowed"
            if allowed == {True}
            else "denied"
            if allowed == {False}
            else "partial"
        )
        result.append(
            s.PortReachability(service_port=port.port, protocol=port.protocol, verdict=overall, endpoints=rows)
        )
    return result


@router.get("/services/{namespace}/{name}/reachability")
async def service_reachability(
    context: ContextDep,
    namespace: NamespacePath,
    name: NamePath,
    from_pod: Annotated[str | None, Query(alias="from", max_length=317, description="namespace/pod")] = None,
    from_namespace: Annotated[
        str | None, Query(max_length=63, description="a label-less pod in this namespace")
    ] = None,
) -> s.ReachabilityOut:
    """Whether NetworkPolicies let the source reach each backend pod of the Service, port by port, and why."""
    service = _service(context, namespace, name)
    source = _source(context, from_pod, from_namespace)
    backends = context.topology.backing_pods(service)
    return s.ReachabilityOut(
        service=_ref(service.ref()),
        source=source.label,
        ports=_port_reachability(context, service, source, backends),
    )


MATRIX_GROUP_LIMIT = 200


@router.get("/network/policies/matrix")
async def policy_matrix(context: ContextDep) -> s.PolicyMatrixOut:
    """Which namespaces' pods may reach which, per pod group, and the policies that deny (off the event loop)."""
    snapshot = context.snapshot
    namespaces = {name: dict(ns.labels) for name, ns in snapshot.namespaces.items()}
    cells = await asyncio.to_thread(
        netpol.namespace_matrix,
        [pod for pod in snapshot.pods.values() if not pod.deleting and pod.pod_ip],
        list(snapshot.network_policies.values()),
        namespaces,
        group_limit=MATRIX_GROUP_LIMIT,
    )
    return s.PolicyMatrixOut(
        cells=[
            s.MatrixCellOut(
                source_namespace=c.source_namespace,
                destination_namespace=c.destination_namespace,
                verdict="allowed" if c.verdict == "allowed" else "denied" if c.verdict == "denied" else "partial",
                denied_pairs=c.denied_pairs,
                pairs=c.pairs,
                deciding=[_ref(r) for r in c.deciding],
            )
            for c in cells
        ],
        group_limit=MATRIX_GROUP_LIMIT,
    )
