"""meta.k8s.io/v1 Table rendering: what `kubectl get` (and `-o wide`) prints comes from the server.

kubectl asks for `as=Table` and prints whatever columns the server sends, so these columns and cell formats
mirror the real API server's printers; without them kubectl falls back to NAME/AGE. Columns with
priority 1 appear only with `-o wide`. Pure: objects and "now" in, table dicts out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from k8s_sim import kind_tables
from k8s_sim.selectors import format_selector

Obj = dict[str, Any]
Column = tuple[str, str, int]  # (name, type, priority)
Cells = Callable[[Obj, float], list[Any]]

NONE = "<none>"


def human_duration(seconds: float) -> str:
    """kubectl's age format: 45s, 5m3s, 3h20m, 5d, 2y3d …"""
    if seconds < -1:
        return "<invalid>"
    total = max(0, int(seconds))
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        return f"{minutes}m" if total % 60 == 0 else f"{minutes}m{total % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d" if hours % 24 == 0 else f"{days}d{hours % 24}h"
    if days < 730:
        return f"{days}d"
    years = days // 365
    return f"{years}y" if days % 365 == 0 or years >= 8 else f"{years}y{days % 365}d"


def _epoch(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def age(obj: Obj, now_seconds: float, field: str = "creationTimestamp") -> str:
    created = _epoch(obj.get("metadata", {}).get(field))
    return "<unknown>" if created is None else human_duration(now_seconds - created)


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _get(obj: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def _containers(obj: Obj) -> list[Obj]:
    spec = _get(obj, "spec", "template", "spec") or obj.get("spec") or {}
    return list(spec.get("containers") or [])


def _container_names(obj: Obj) -> str:
    return ",".join(str(c.get("name", "")) for c in _containers(obj)) or NONE


def _images(obj: Obj) -> str:
    return ",".join(str(c.get("image", "")) for c in _containers(obj)) or NONE


def _selector(obj: Obj) -> str:
    return format_selector(_get(obj, "spec", "selector")) or NONE


# -- pods ----------------------------------------------------------------------------------------------
def _pod_reason(pod: Obj) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            terminated = state["terminated"]
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode', 0)}"
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_restarts(pod: Obj, now_seconds: float) -> str:
    statuses = _get(pod, "status", "containerStatuses") or []
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    finished = [_epoch(_get(c, "lastState", "terminated", "finishedAt")) for c in statuses]
    last = max((moment for moment in finished if moment is not None), default=None)
    if restarts and last is not None:
        return f"{restarts} ({human_duration(now_seconds - last)} ago)"
    return str(restarts)


def _pod_cells(pod: Obj, now_seconds: float) -> list[Any]:
    statuses = _get(pod, "status", "containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    total = len(_get(pod, "spec", "containers") or [])
    gates = _get(pod, "spec", "readinessGates") or []
    return [
        _name(pod),
        f"{ready}/{total}",
        _pod_reason(pod),
        _pod_restarts(pod, now_seconds),
        age(pod, now_seconds),
        _get(pod, "status", "podIP") or NONE,
        _get(pod, "spec", "nodeName") or NONE,
        _get(pod, "status", "nominatedNodeName") or NONE,
        f"{len(gates)}" if gates else NONE,
    ]


# -- nodes ---------------------------------------------------------------------------------------------
def _node_status(node: Obj) -> str:
    conditions = _get(node, "status", "conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    return f"{status},SchedulingDisabled" if _get(node, "spec", "unschedulable") else status


def _node_roles(node: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    labels = node.get("metadata", {}).get("labels") or {}
    roles = sorted(key.removeprefix(prefix) for key in labels if key.startswith(prefix))
    return ",".join(roles) or NONE


def _node_address(node: Obj, kind: str) -> str:
    addresses = _get(node, "status", "addresses") or []
    return next((str(a["address"]) for a in addresses if a.get("type") == kind), NONE)


def _node_cells(node: Obj, now_seconds: float) -> list[Any]:
    info = _get(node, "status", "nodeInfo") or {}
    return [
        _name(node),
        _node_status(node),
        _node_roles(node),
        age(node, now_seconds),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


# -- services and endpoints ----------------------------------------------------------------------------
def _service_ports(service: Obj) -> str:
    parts = []
    for port in _get(service, "spec", "ports") or []:
        protocol = port.get("protocol", "TCP")
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node_port}/{protocol}")
    return ",".join(parts) or NONE


def _external_ip(service: Obj) -> str:
    spec = service.get("spec") or {}
    ingress = _get(service, "status", "loadBalancer", "ingress") or []
    addresses = [str(i.get("ip") or i.get("hostname")) for i in ingress] + list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer" and not addresses:
        return "<pending>"
    if spec.get("type") == "ExternalName":
        return str(spec.get("externalName", NONE))
    return ",".join(addresses) or NONE


def _service_cells(service: Obj, now_seconds: float) -> list[Any]:
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    return [
        _name(service),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or NONE,
        _external_ip(service),
        _service_ports(service),
        age(service, now_seconds),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE,
    ]


def _endpoint_list(endpoints: Obj) -> str:
    pairs: list[str] = []
    for subset in endpoints.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            pairs.extend(address["ip"] if port is None else f"{address['ip']}:{port}" for port in ports)
    if not pairs:
        return NONE
    more = f" + {len(pairs) - 3} more..." if len(pairs) > 3 else ""
    return ",".join(pairs[:3]) + more


def _endpoints_cells(endpoints: Obj, now_seconds: float) -> list[Any]:
    return [_name(endpoints), _endpoint_list(endpoints), age(endpoints, now_seconds)]


def _endpointslice_cells(slice_: Obj, now_seconds: float) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in slice_.get("ports") or []) or "<unset>"
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [_name(slice_), slice_.get("addressType", ""), ports, shown or NONE, age(slice_, now_seconds)]


# -- workloads -----------------------------------------------------------------------------------------
def _deployment_cells(deploy: Obj, now_seconds: float) -> list[Any]:
    status = deploy.get("status") or {}
    desired = _get(deploy, "spec", "replicas", default=1)
    return [
        _name(deploy),
        f"{status.get('readyReplicas', 0)}/{desired}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(deploy, now_seconds),
        _container_names(deploy),
        _images(deploy),
        _selector(deploy),
    ]


def _replicaset_cells(rs: Obj, now_seconds: float) -> list[Any]:
    status = rs.get("status") or {}
    return [
        _name(rs),
        _get(rs, "spec", "replicas", default=1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(rs, now_seconds),
        _container_names(rs),
        _images(rs),
        _selector(rs),
    ]


def _statefulset_cells(sts: Obj, now_seconds: float) -> list[Any]:
    ready = _get(sts, "status", "readyReplicas", default=0)
    desired = _get(sts, "spec", "replicas", default=1)
    return [_name(sts), f"{ready}/{desired}", age(sts, now_seconds), _container_names(sts), _images(sts)]


def _daemonset_cells(ds: Obj, now_seconds: float) -> list[Any]:
    status = ds.get("status") or {}
    node_selector = _get(ds, "spec", "template", "spec", "nodeSelector") or {}
    return [
        _name(ds),
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or NONE,
        age(ds, now_seconds),
        _container_names(ds),
        _images(ds),
        _selector(ds),
    ]


# -- autoscaling ---------------------------------------------------------------------------------------
def _metric_target(metric: Obj, current_metrics: Sequence[Obj]) -> str:
    if metric.get("type") != "Resource":
        return f"{metric.get('type', 'metric')}: <unknown>"
    resource = metric.get("resource") or {}
    name, target = resource.get("name", "cpu"), resource.get("target") or {}
    current = next(
        (
            c.get("resource", {}).get("current") or {}
            for c in current_metrics
            if c.get("type") == "Resource" and c.get("resource", {}).get("name") == name
        ),
        {},
    )
    if target.get("type") == "Utilization":
        have = current.get("averageUtilization")
        shown = "<unknown>" if have is None else f"{have}%"
        return f"{name}: {shown}/{target.get('averageUtilization')}%"
    have = current.get("averageValue")
    return f"{name}: {have if have is not None else '<unknown>'}/{target.get('averageValue')}"


def _hpa_targets(hpa: Obj) -> str:
    metrics = _get(hpa, "spec", "metrics") or []
    current = _get(hpa, "status", "currentMetrics") or []
    parts = [_metric_target(metric, current) for metric in metrics]
    if not parts:
        return NONE
    more = f" + {len(parts) - 2} more..." if len(parts) > 2 else ""
    return ", ".join(parts[:2]) + more


def _hpa_cells(hpa: Obj, now_seconds: float) -> list[Any]:
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [
        _name(hpa),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _hpa_targets(hpa),
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 0),
        _get(hpa, "status", "currentReplicas", default=0),
        age(hpa, now_seconds),
    ]


def _pdb_cells(pdb: Obj, now_seconds: float) -> list[Any]:
    spec = pdb.get("spec") or {}
    return [
        _name(pdb),
        spec.get("minAvailable", "N/A"),
        spec.get("maxUnavailable", "N/A"),
        _get(pdb, "status", "disruptionsAllowed", default=0),
        age(pdb, now_seconds),
    ]


# -- the rest ------------------------------------------------------------------------------------------
def _event_object(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _event_cells(event: Obj, now_seconds: float) -> list[Any]:
    last = _epoch(event.get("lastTimestamp") or event.get("eventTime")) or _epoch(
        event.get("metadata", {}).get("creationTimestamp")
    )
    source = event.get("source") or {}
    return [
        "<unknown>" if last is None else human_duration(now_seconds - last),
        event.get("type", ""),
        event.get("reason", ""),
        _event_object(event),
        _get(event, "involvedObject", "fieldPath", default=""),
        ", ".join(str(v) for v in (source.get("component"), source.get("host")) if v)
        or event.get("reportingComponent", ""),
        event.get("message", ""),
        age(event, now_seconds, "creationTimestamp"),
        event.get("count", 1),
        _name(event),
    ]


def _namespace_cells(ns: Obj, now_seconds: float) -> list[Any]:
    return [_name(ns), _get(ns, "status", "phase", default="Active"), age(ns, now_seconds)]


def _configmap_cells(cm: Obj, now_seconds: float) -> list[Any]:
    return [_name(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age(cm, now_seconds)]


def _lease_cells(lease: Obj, now_seconds: float) -> list[Any]:
    return [_name(lease), _get(lease, "spec", "holderIdentity", default=""), age(lease, now_seconds)]


def _default_cells(obj: Obj, now_seconds: float) -> list[Any]:
    return [_name(obj), age(obj, now_seconds)]


_S, _I = "string", "integer"
_NAME: Column = ("Name", _S, 0)
_AGE: Column = ("Age", _S, 0)
_WORKLOAD_WIDE: tuple[Column, ...] = (("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1))
PRINTERS: dict[str, tuple[tuple[Column, ...], Cells]] = {
    "Pod": (
        (_NAME, ("Ready", _S, 0), ("Status", _S, 0), ("Restarts", _S, 0), _AGE, ("IP", _S, 1), ("Node", _S, 1),
         ("Nominated Node", _S, 1), ("Readiness Gates", _S, 1)),
        _pod_cells,
    ),
    "Node": (
        (_NAME, ("Status", _S, 0), ("Roles", _S, 0), _AGE, ("Version", _S, 0), ("Internal-IP", _S, 1),
         ("External-IP", _S, 1), ("OS-Image", _S, 1), ("Kernel-Version", _S, 1), ("Container-Runtime", _S, 1)),
        _node_cells,
    ),
    "Service": (
        (_NAME, ("Type", _S, 0), ("Cluster-IP", _S, 0), ("External-IP", _S, 0), ("Port(s)", _S, 0), _AGE,
         ("Selector", _S, 1)),
        _service_cells,
    ),
    "Endpoints": ((_NAME, ("Endpoints", _S, 0), _AGE), _endpoints_cells),
    "EndpointSlice": (
        (_NAME, ("AddressType", _S, 0), ("Ports", _S, 0), ("Endpoints", _S, 0), _AGE),
        _endpointslice_cells,
    ),
    "Deployment": (
        (_NAME, ("Ready", _S, 0), ("Up-to-date", _I, 0), ("Available", _I, 0), _AGE, *_WORKLOAD_WIDE),
        _deployment_cells,
    ),
    "ReplicaSet": (
        (_NAME, ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0), _AGE, *_WORKLOAD_WIDE),
        _replicaset_cells,
    ),
    "StatefulSet": ((_NAME, ("Ready", _S, 0), _AGE, ("Containers", _S, 1), ("Images", _S, 1)), _statefulset_cells),
    "DaemonSet": (
        (_NAME, ("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0), ("Up-to-date", _I, 0),
         ("Available", _I, 0), ("Node Selector", _S, 0), _AGE, *_WORKLOAD_WIDE),
        _daemonset_cells,
    ),
    "HorizontalPodAutoscaler": (
        (_NAME, ("Reference", _S, 0), ("Targets", _S, 0), ("MinPods", _S, 0), ("MaxPods", _I, 0),
         ("Replicas", _I, 0), _AGE),
        _hpa_cells,
    ),
    "PodDisruptionBudget": (
        (_NAME, ("Min Available", _S, 0), ("Max Unavailable", _S, 0), ("Allowed Disruptions", _I, 0), _AGE),
        _pdb_cells,
    ),
    "Event": (
        (("Last Seen", _S, 0), ("Type", _S, 0), ("Reason", _S, 0), ("Object", _S, 0), ("Subobject", _S, 1),
         ("Source", _S, 1), ("Message", _S, 0), ("First Seen", _S, 1), ("Count", _I, 1), ("Name", _S, 1)),
        _event_cells,
    ),
    "Namespace": ((_NAME, ("Status", _S, 0), _AGE), _namespace_cells),
    "ConfigMap": ((_NAME, ("Data", _I, 0), _AGE), _configmap_cells),
    "Lease": ((_NAME, ("Holder", _S, 0), _AGE), _lease_cells),
}  # fmt: skip
PRINTERS.update(kind_tables.PRINTERS)  # the round-two kinds' printers live beside their module


def column_definitions(kind: str) -> list[Obj]:
    columns = PRINTERS.get(kind, ((_NAME, _AGE), _default_cells))[0]
    return [
        {
            "name": name,
            "type": kind_of_value,
            "format": "name" if name == "Name" else "",
            "description": f"{name} of the {kind}",
            "priority": priority,
        }
        for name, kind_of_value, priority in columns
    ]


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table_rows(kind: str, objects: Sequence[Obj], now_seconds: float, include_object: str = "Metadata") -> list[Obj]:
    cells = PRINTERS.get(kind, ((), _default_cells))[1]
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj, now_seconds)}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return rows


def table(
    kind: str,
    objects: Sequence[Obj],
    now_seconds: float,
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    with_columns: bool = True,
) -> Obj:
    """A meta.k8s.io/v1 Table of `objects` (all of one kind)."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": column_definitions(kind) if with_columns else [],
        "rows": table_rows(kind, objects, now_seconds, include_object),
    }
