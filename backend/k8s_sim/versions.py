"""Served versions beside the stored one: `autoscaling/v1` HorizontalPodAutoscalers over the stored v2 objects.

Why this exists: `kubectl autoscale` (the HPA walkthrough's own command), older charts and many clients
speak autoscaling/v1. A real server stores one object and converts on the way in and out, so an HPA
created as v1 is the same object `kubectl get hpa` (v2) shows. The conversion follows kube-apiserver's:
v1 carries only the CPU utilisation target; everything v1 cannot express (other metrics, behavior,
conditions, current metrics) travels in the `autoscaling.alpha.kubernetes.io/*` annotations, so a v1
round trip loses nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web

from k8s_sim import reads, resources as r, writes
from k8s_sim.faults import Faults
from k8s_sim.store import ObjectStore, ResourceType
from k8s_sim.watch import watch as watch_stream
from k8s_sim.wire import Cluster, Obj, Target, is_watch, json_response, method_not_allowed, read_json

HPAS_V1 = ResourceType(
    "autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), subresources=("status",)
)
_ANNOTATION = "autoscaling.alpha.kubernetes.io/"
_METRICS, _BEHAVIOR, _CONDITIONS, _CURRENT = (
    _ANNOTATION + "metrics",
    _ANNOTATION + "behavior",
    _ANNOTATION + "conditions",
    _ANNOTATION + "current-metrics",
)


def served_types(store: ObjectStore) -> list[ResourceType]:
    """The store's types plus the extra served versions (discovery, OpenAPI)."""
    types = store.types()
    if r.HPAS in types:
        types.append(HPAS_V1)
    return types


def alternate(group: str, version: str, plural: str) -> ResourceType | None:
    return HPAS_V1 if (group, version, plural) == (HPAS_V1.group, HPAS_V1.version, HPAS_V1.plural) else None


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    return metric.get("type") == "Resource" and resource.get("name") == "cpu" and target.get("type") == "Utilization"


def to_v1(obj: Obj) -> Obj:
    """A stored autoscaling/v2 HPA as autoscaling/v1 serves it."""
    if obj.get("kind") != "HorizontalPodAutoscaler":
        return obj
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = copy.deepcopy(obj["metadata"])
    annotations = dict(meta.get("annotations") or {})
    metrics = spec.get("metrics") or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    others = [m for m in metrics if m is not cpu]
    for key, value in ((_METRICS, others), (_BEHAVIOR, spec.get("behavior")), (_CONDITIONS, status.get("conditions"))):
        if value:
            annotations[key] = json.dumps(value, separators=(",", ":"))
    current = status.get("currentMetrics") or []
    current_cpu = next(
        (m for m in current if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"), None
    )
    if [m for m in current if m is not current_cpu]:
        annotations[_CURRENT] = json.dumps([m for m in current if m is not current_cpu], separators=(",", ":"))
    if annotations:
        meta["annotations"] = annotations
    v1_spec: Obj = {key: spec[key] for key in ("scaleTargetRef", "minReplicas", "maxReplicas") if key in spec}
    if cpu is not None:
        v1_spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"].get("averageUtilization")
    v1_status: Obj = {
        key: status[key]
        for key in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
        if key in status
    }
    utilization = ((current_cpu or {}).get("resource") or {}).get("current", {}).get("averageUtilization")
    if utilization is not None:
        v1_status["currentCPUUtilizationPercentage"] = utilization
    return {
        "kind": obj["kind"],
        "apiVersion": HPAS_V1.api_version,
        "metadata": meta,
        "spec": v1_spec,
        "status": v1_status,
    }


def _loads(annotations: dict[str, str], key: str) -> Any:
    raw = annotations.pop(key, None)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def to_v2(obj: Any) -> Any:
    """An autoscaling/v1 HPA body as the stored autoscaling/v2 object."""
    if not isinstance(obj, dict):
        return obj
    converted = copy.deepcopy(obj)
    meta = converted.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    spec = converted.get("spec") or {}
    target = spec.pop("targetCPUUtilizationPercentage", None)
    metrics = _loads(annotations, _METRICS) or []
    if target is not None:
        cpu = {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
        }
        metrics = [cpu, *metrics]
    if metrics:
        spec["metrics"] = metrics
    behavior = _loads(annotations, _BEHAVIOR)
    if behavior:
        spec["behavior"] = behavior
    for key in (_CONDITIONS, _CURRENT):
        annotations.pop(key, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    converted["spec"] = spec
    converted.pop("status", None)
    converted["apiVersion"] = r.HPAS.api_version
    converted["kind"] = "HorizontalPodAutoscaler"
    return converted


def _convert_response(response: web.StreamResponse) -> web.StreamResponse:
    if not isinstance(response, web.Response) or response.body is None or response.content_type != "application/json":
        return response
    body = json.loads(bytes(response.body))  # type: ignore[arg-type]
    if body.get("kind") == "HorizontalPodAutoscalerList":
        body["apiVersion"] = HPAS_V1.api_version
        body["items"] = [to_v1(item) for item in body.get("items") or ()]
    elif body.get("kind") == "Table":
        for row in body.get("rows") or ():
            if isinstance(row.get("object"), dict):
                row["object"] = to_v1(row["object"])
    else:
        body = to_v1(body)
    return json_response(body, response.status)


async def handle(cluster: Cluster, request: web.Request, target: Target) -> web.StreamResponse:
    """Every verb on autoscaling/v1 HPAs, served from (and written to) the stored v2 objects."""
    store = cluster.store
    stored = Target(r.HPAS, target.namespace, target.name, target.subresource)
    method = request.method
    if method == "GET" and target.name is None and is_watch(request):
        return await watch_stream(cluster, Faults(seed=0), 10.0, request, stored)  # objects stay v2
    if method == "GET":
        response = (
            reads.get(cluster, request, stored) if target.name else reads.list_collection(cluster, request, stored)
        )
    elif method == "POST" and target.name is None:
        response = await writes.create(store, request, stored, to_v2(await read_json(request)))
    elif method == "PUT" and target.name is not None:
        current = store.require(r.HPAS, target.namespace or "", target.name)
        body = to_v2(await read_json(request))
        if target.subresource == "status":
            body["status"] = current.get("status")
        response = await writes.update(store, request, stored, body)
    elif method == "PATCH" and target.name is not None:
        response = await writes.patch(store, request, stored, view=(to_v1, to_v2))
    elif method == "DELETE":
        response = await (writes.delete if target.name else writes.delete_collection)(store, request, stored)
    else:
        raise method_not_allowed(method.lower(), HPAS_V1)
    return _convert_response(response)
