"""Pure translation of Kubernetes API JSON (kubectl-shaped camelCase dicts) into domain dataclasses.

This is the boundary: the informers decode the API's JSON themselves (far faster than building
kubernetes_asyncio models for 10,000 pods) and hand each object here. Nothing here does I/O, so every
function is tested on hand-written JSON. Optional fields stay honest: a missing request is None,
never 0. A malformed quantity becomes None rather than failing the whole watch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from k8s_optimizer.domain.autoscaling import hpa_from_json
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerPort,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    Event,
    LabelRequirement,
    LabelSelector,
    Namespace,
    Node,
    ObjectRef,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    Probe,
    ProbeHandler,
    Service,
    ServicePort,
    Taint,
    Workload,
    WorkloadKind,
)
from k8s_optimizer.domain.quantities import (
    QuantityError,
    parse_cpu_millicores,
    parse_cpu_millicores_float,
    parse_memory_bytes,
)
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage

Json = Mapping[str, Any]
_EMPTY: Json = {}


def parse_time(value: object) -> datetime | None:
    """RFC 3339 ('2026-11-26T10:00:00Z', with or without fractions) → aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_duration_seconds(value: object) -> float | None:
    """Go durations as metrics.k8s.io writes `window`: '30s', '1m0s', '15.5s', '500ms'."""
    if not isinstance(value, str) or not value:
        return None
    total = 0.0
    number = ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    index = 0
    while index < len(value):
        char = value[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = value[index : index + 2] if value[index : index + 2] in units else char
        if unit not in units or not number:
            return None
        total += float(number) * units[unit]
        number = ""
        index += len(unit)
    return None if number else total


# A cluster repeats the same few quantity strings ('100m', '128Mi') across thousands of pods; parsing
# each once keeps a cold list of 10,000 pods fast.
@lru_cache(maxsize=4096)
def _cpu_text(value: str) -> int | None:
    try:
        return parse_cpu_millicores(value)
    except QuantityError:
        return None


@lru_cache(maxsize=4096)
def _memory_text(value: str) -> int | None:
    try:
        return parse_memory_bytes(value)
    except QuantityError:
        return None


def _cpu(value: object) -> int | None:
    if isinstance(value, str):
        return _cpu_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_cpu_millicores(value)
    return None


def _memory(value: object) -> int | None:
    if isinstance(value, str):
        return _memory_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_memory_bytes(value)
    return None


def _meta(obj: Json) -> Json:
    return obj.get("metadata") or _EMPTY


def _shared(value: object) -> str:
    """A string many objects repeat (namespace, node, label, image): one copy for all of them.

    At 10,000 pods the decoded JSON gives every pod its own copy of each; interned, the caches hold
    one. Interned strings are freed like any other once nothing refers to them.
    """
    return sys.intern(str(value))


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {_shared(key): _shared(text) for key, text in value.items()}


def _int_or_str(value: object) -> int | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return value
    return None


def owner_of(meta: Json) -> OwnerRef | None:
    """The controller owner reference (the first owner when none is marked controller)."""
    owners = meta.get("ownerReferences") or []
    if not owners:
        return None
    chosen = next((owner for owner in owners if owner.get("controller")), owners[0])
    return OwnerRef(
        kind=_shared(chosen.get("kind", "")),
        name=_shared(chosen.get("name", "")),
        uid=_shared(chosen.get("uid", "")),
        controller=bool(chosen.get("controller", False)),
    )


def translate_selector(value: object) -> LabelSelector:
    if not isinstance(value, Mapping):
        return LabelSelector()
    match_labels = tuple(sorted(_labels(value.get("matchLabels")).items()))
    expressions = tuple(
        LabelRequirement(
            key=str(expression.get("key", "")),
            operator=str(expression.get("operator", "")),
            values=tuple(str(v) for v in expression.get("values") or ()),
        )
        for expression in value.get("matchExpressions") or []
    )
    return LabelSelector(match_labels=match_labels, match_expressions=expressions)


def translate_namespace(obj: Json) -> Namespace:
    meta = _meta(obj)
    status = obj.get("status") or _EMPTY
    return Namespace(
        name=str(meta.get("name", "")), labels=_labels(meta.get("labels")), phase=str(status.get("phase", "Active"))
    )


def _condition_status(conditions: list[Json] | None, condition_type: str) -> Json | None:
    for condition in conditions or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def translate_node(obj: Json) -> Node:
    meta = _meta(obj)
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    capacity = status.get("capacity") or _EMPTY
    allocatable = status.get("allocatable") or capacity
    addresses = status.get("addresses") or []
    internal_ip = next((str(a.get("address")) for a in addresses if a.get("type") == "InternalIP"), None)
    ready_condition = _condition_status(status.get("conditions"), "Ready")
    taints = tuple(
        Taint(key=str(t.get("key", "")), effect=str(t.get("effect", "")), value=str(t.get("value") or ""))
        for t in spec.get("taints") or []
    )
    return Node(
        name=str(meta.get("name", "")),
        labels=_labels(meta.get("labels")),
        internal_ip=internal_ip,
        pod_cidr=spec.get("podCIDR"),
        capacity_cpu_millicores=_cpu(capacity.get("cpu")) or 0,
        capacity_memory_bytes=_memory(capacity.get("memory")) or 0,
        allocatable_cpu_millicores=_cpu(allocatable.get("cpu")) or 0,
        allocatable_memory_bytes=_memory(allocatable.get("memory")) or 0,
        ready=ready_condition is not None and ready_condition.get("status") == "True",
        taints=taints,
        created_at=parse_time(meta.get("creationTimestamp")),
    )


_PROBE_HANDLERS: tuple[ProbeHandler, ...] = ("httpGet", "tcpSocket", "exec", "grpc")


def translate_probe(value: object) -> Probe | None:
    if not isinstance(value, Mapping):
        return None
    handler = next((name for name in _PROBE_HANDLERS if isinstance(value.get(name), Mapping)), None)
    if handler is None:
        return None
    body = value[handler]
    return Probe(
        handler=handler,
        port=_int_or_str(body.get("port")),
        path=body.get("path"),
        command=tuple(str(part) for part in body.get("command") or ()),
        initial_delay_seconds=int(value.get("initialDelaySeconds", 0)),
        period_seconds=int(value.get("periodSeconds", 10)),
        timeout_seconds=int(value.get("timeoutSeconds", 1)),
        failure_threshold=int(value.get("failureThreshold", 3)),
        success_threshold=int(value.get("successThreshold", 1)),
    )


def translate_container(obj: Json) -> ContainerSpec:
    resources = obj.get("resources") or _EMPTY
    requests = resources.get("requests") or _EMPTY
    limits = resources.get("limits") or _EMPTY
    ports = tuple(
        ContainerPort(
            container_port=int(port.get("containerPort", 0)),
            name=port.get("name"),
            protocol=_shared(port.get("protocol") or "TCP"),
        )
        for port in obj.get("ports") or []
    )
    return ContainerSpec(
        name=_shared(obj.get("name", "")),
        image=_shared(obj.get("image", "")),
        cpu_request_millicores=_cpu(requests.get("cpu")),
        cpu_limit_millicores=_cpu(limits.get("cpu")),
        memory_request_bytes=_memory(requests.get("memory")),
        memory_limit_bytes=_memory(limits.get("memory")),
        ports=ports,
        readiness_probe=translate_probe(obj.get("readinessProbe")),
        liveness_probe=translate_probe(obj.get("livenessProbe")),
    )


def _state_of(state: Json) -> tuple[ContainerState, Json]:
    for name in ("running", "waiting", "terminated"):
        body = state.get(name)
        if isinstance(body, Mapping):
            return name, body
    return "unknown", _EMPTY


def translate_container_status(obj: Json) -> ContainerStatus:
    state, body = _state_of(obj.get("state") or _EMPTY)
    last_state = obj.get("lastState") or _EMPTY
    last_terminated = last_state.get("terminated") or _EMPTY
    return ContainerStatus(
        name=_shared(obj.get("name", "")),
        ready=bool(obj.get("ready", False)),
        restart_count=int(obj.get("restartCount", 0)),
        state=state,
        reason=body.get("reason"),
        last_termination_reason=last_terminated.get("reason"),
        last_termination_at=parse_time(last_terminated.get("finishedAt")),
        started_at=parse_time(body.get("startedAt")) if state == "running" else None,
    )


def translate_pod(obj: Json) -> Pod:
    meta = _meta(obj)
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    ready_condition = _condition_status(status.get("conditions"), "Ready")
    scheduled = _condition_status(status.get("conditions"), "PodScheduled")
    unschedulable = None
    if scheduled is not None and scheduled.get("status") == "False":
        unschedulable = str(scheduled.get("message") or scheduled.get("reason") or "Unschedulable")
    node_name, host_ip = spec.get("nodeName"), status.get("hostIP")
    return Pod(
        namespace=_shared(meta.get("namespace", "")),
        name=_shared(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        labels=_labels(meta.get("labels")),
        owner=owner_of(meta),
        node_name=_shared(node_name) if node_name else None,
        pod_ip=status.get("podIP") or None,
        host_ip=_shared(host_ip) if host_ip else None,
        phase=_shared(status.get("phase") or "Unknown"),
        ready=ready_condition is not None and ready_condition.get("status") == "True",
        containers=tuple(translate_container(c) for c in spec.get("containers") or []),
        container_statuses=tuple(translate_container_status(s) for s in status.get("containerStatuses") or []),
        unschedulable_message=unschedulable,
        created_at=parse_time(meta.get("creationTimestamp")),
        deleting=meta.get("deletionTimestamp") is not None,
    )


def translate_service(obj: Json) -> Service:
    meta = _meta(obj)
    spec = obj.get("spec") or _EMPTY
    service_type = str(spec.get("type") or "ClusterIP")
    cluster_ip = spec.get("clusterIP")
    if cluster_ip in ("None", "") or service_type == "ExternalName":
        cluster_ip = None
    ports = tuple(
        ServicePort(
            port=int(port.get("port", 0)),
            target_port=_int_or_str(port.get("targetPort")) or int(port.get("port", 0)),
            protocol=str(port.get("protocol") or "TCP"),
            name=port.get("name") or None,
            node_port=port.get("nodePort"),
        )
        for port in spec.get("ports") or []
    )
    selector = _labels(spec.get("selector")) or None
    return Service(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        type=service_type,
        cluster_ip=cluster_ip,
        ports=ports,
        selector=selector,
        labels=_labels(meta.get("labels")),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def _endpoint_address(address: Json, *, ready: bool) -> EndpointAddress:
    target = address.get("targetRef") or _EMPTY
    pod_name = target.get("name") if target.get("kind", "Pod") == "Pod" else None
    return EndpointAddress(
        ip=str(address.get("ip", "")),
        ready=ready,
        pod_name=pod_name,
        node_name=address.get("nodeName"),
    )


def translate_endpoints(obj: Json) -> Endpoints:
    """Flatten subsets: ready addresses first, then not-ready ones, each in API order."""
    meta = _meta(obj)
    addresses: list[EndpointAddress] = []
    not_ready: list[EndpointAddress] = []
    ports: dict[tuple[int, str | None, str], EndpointPort] = {}
    for subset in obj.get("subsets") or []:
        addresses.extend(_endpoint_address(a, ready=True) for a in subset.get("addresses") or [])
        not_ready.extend(_endpoint_address(a, ready=False) for a in subset.get("notReadyAddresses") or [])
        for port in subset.get("ports") or []:
            parsed = EndpointPort(
                port=int(port.get("port", 0)),
                name=port.get("name") or None,
                protocol=str(port.get("protocol") or "TCP"),
            )
            ports.setdefault((parsed.port, parsed.name, parsed.protocol), parsed)
    return Endpoints(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        addresses=tuple(addresses + not_ready),
        ports=tuple(ports.values()),
    )


def _pod_template_containers(spec: Json) -> tuple[ContainerSpec, ...]:
    template = spec.get("template") or _EMPTY
    pod_spec = template.get("spec") or _EMPTY
    return tuple(translate_container(c) for c in pod_spec.get("containers") or [])


def _replica_counts(kind: WorkloadKind, status: Json) -> tuple[int, int, int, int]:
    """(ready, available, updated, current) from the kind's own status field names."""
    if kind == "DaemonSet":
        names = ("numberReady", "numberAvailable", "updatedNumberScheduled", "currentNumberScheduled")
    elif kind == "StatefulSet":
        names = ("readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas")
    else:
        names = ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas")
    ready, available, updated, current = (int(status.get(name) or 0) for name in names)
    return ready, available, updated, current


def translate_workload(kind: WorkloadKind, obj: Json) -> Workload:
    meta = _meta(obj)
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    ready, available, updated, current = _replica_counts(kind, status)
    replicas = None if kind == "DaemonSet" else int(spec.get("replicas", 1))
    return Workload(
        kind=kind,
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        labels=_labels(meta.get("labels")),
        selector=translate_selector(spec.get("selector")),
        containers=_pod_template_containers(spec),
        replicas=replicas,
        ready_replicas=ready,
        available_replicas=available,
        updated_replicas=updated,
        current_replicas=current,
        owner=owner_of(meta),
        annotations=_labels(meta.get("annotations")),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        created_at=parse_time(meta.get("creationTimestamp")),
    )


def translate_deployment(obj: Json) -> Workload:
    return translate_workload("Deployment", obj)


def translate_replicaset(obj: Json) -> Workload:
    return translate_workload("ReplicaSet", obj)


def translate_statefulset(obj: Json) -> Workload:
    return translate_workload("StatefulSet", obj)


def translate_daemonset(obj: Json) -> Workload:
    return translate_workload("DaemonSet", obj)


def translate_hpa(obj: Json) -> HPA:
    """The one HPA translation (shared with the embedded cluster, in the pure core) plus the status time."""
    status = obj.get("status") or _EMPTY
    return replace(hpa_from_json(obj), last_scale_time=parse_time(status.get("lastScaleTime")))


def translate_pdb(obj: Json) -> PodDisruptionBudget:
    meta = _meta(obj)
    spec = obj.get("spec") or _EMPTY
    status = obj.get("status") or _EMPTY
    return PodDisruptionBudget(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        selector=translate_selector(spec.get("selector")),
        min_available=_int_or_str(spec.get("minAvailable")),
        max_unavailable=_int_or_str(spec.get("maxUnavailable")),
        disruptions_allowed=status.get("disruptionsAllowed"),
    )


def translate_event(obj: Json) -> Event:
    meta = _meta(obj)
    involved = obj.get("involvedObject") or obj.get("regarding") or _EMPTY
    source = obj.get("source") or _EMPTY
    first_seen = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
    return Event(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        involved=ObjectRef(
            str(involved.get("kind", "")), str(involved.get("namespace") or ""), str(involved.get("name", ""))
        ),
        reason=str(obj.get("reason") or ""),
        message=str(obj.get("message") or obj.get("note") or ""),
        type=str(obj.get("type") or "Normal"),
        count=int(obj.get("count") or 1),
        first_seen=first_seen,
        last_seen=parse_time(obj.get("lastTimestamp")) or first_seen,
        source=source.get("component") or obj.get("reportingComponent") or None,
    )


def translate_pod_metrics(obj: Json) -> tuple[ContainerUsage, ...]:
    """One PodMetrics item → its containers' readings, stamped with the API's sample timestamp."""
    meta = _meta(obj)
    timestamp = parse_time(obj.get("timestamp"))
    if timestamp is None:
        return ()
    window_seconds = parse_duration_seconds(obj.get("window")) or 0.0
    namespace, pod = _shared(meta.get("namespace", "")), _shared(meta.get("name", ""))
    readings: list[ContainerUsage] = []
    for container in obj.get("containers") or []:
        usage = container.get("usage") or _EMPTY
        cpu, memory = _usage_values(usage)
        if cpu is None or memory is None:
            continue
        key = ContainerKey(namespace=namespace, pod=pod, container=_shared(container.get("name", "")))
        readings.append(ContainerUsage(key, timestamp, window_seconds, cpu, memory))
    return tuple(readings)


def _usage_values(usage: Json) -> tuple[float | None, int | None]:
    cpu, memory = usage.get("cpu"), usage.get("memory")
    if not isinstance(cpu, str | int | float) or not isinstance(memory, str | int | float):
        return None, None
    try:
        return parse_cpu_millicores_float(cpu), parse_memory_bytes(memory)
    except QuantityError:
        return None, None


def translate_node_metrics(obj: Json) -> NodeUsage | None:
    timestamp = parse_time(obj.get("timestamp"))
    cpu, memory = _usage_values(obj.get("usage") or _EMPTY)
    if timestamp is None or cpu is None or memory is None:
        return None
    return NodeUsage(
        node=str(_meta(obj).get("name", "")),
        timestamp=timestamp,
        window_seconds=parse_duration_seconds(obj.get("window")) or 0.0,
        cpu_millicores=cpu,
        memory_bytes=memory,
    )


Translator = Callable[[Json], object]
