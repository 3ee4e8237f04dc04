"""Small builders for hand-made snapshots and histories (the pure core takes plain data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from k8s_optimizer.domain.history import ContainerHistory, WorkloadHistory
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerPort,
    ContainerSpec,
    ContainerStatus,
    Endpoints,
    HPAMetricTarget,
    LabelSelector,
    Node,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    Probe,
    Service,
    ServicePort,
    Workload,
)
from k8s_optimizer.domain.quantities import GIB, MIB
from k8s_optimizer.domain.snapshot import ClusterSnapshot, NetworkSettings
from k8s_optimizer.domain.usage import ContainerKey, UsagePoint

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NOW_SECONDS = NOW.timestamp()
NS = "shop"
HTTP = Probe("httpGet", port=8080, path="/healthz")
READY = Probe("httpGet", port=8080, path="/ready")


def container(
    name: str = "app",
    *,
    image: str = "registry/app:1.2.3",
    cpu: int | None = 500,
    cpu_limit: int | None = None,
    memory: int | None = 256 * MIB,
    memory_limit: int | None = 256 * MIB,
    ports: Sequence[ContainerPort] = (ContainerPort(8080, "http"),),
    readiness: Probe | None = READY,
    liveness: Probe | None = HTTP,
) -> ContainerSpec:
    return ContainerSpec(name, image, cpu, cpu_limit, memory, memory_limit, tuple(ports), readiness, liveness)


def deployment(
    name: str = "web",
    *,
    replicas: int | None = 2,
    containers: Sequence[ContainerSpec] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    kind: str = "Deployment",
) -> Workload:
    selector_labels = labels or {"app": name}
    return Workload(
        kind=kind,  # type: ignore[arg-type]
        namespace=NS,
        name=name,
        uid=f"uid-{name}",
        labels=dict(selector_labels),
        selector=LabelSelector(tuple(sorted(selector_labels.items()))),
        containers=tuple(containers or (container(),)),
        replicas=replicas,
        annotations=annotations or {},
    )


def pod(
    workload: Workload,
    index: int = 0,
    *,
    ready: bool = True,
    phase: str = "Running",
    node: str | None = "worker",
    statuses: Sequence[ContainerStatus] | None = None,
    unschedulable: str | None = None,
) -> Pod:
    return Pod(
        namespace=workload.namespace,
        name=f"{workload.name}-7d9f-{index}",
        uid=f"uid-{workload.name}-{index}",
        labels=dict(workload.selector.match_labels),
        owner=OwnerRef("ReplicaSet", f"{workload.name}-7d9f", f"rs-{workload.name}", True),
        node_name=node,
        pod_ip=f"10.244.1.{index + 10}" if node else None,
        host_ip="172.18.0.3" if node else None,
        phase=phase,
        ready=ready,
        containers=workload.containers,
        container_statuses=tuple(
            statuses
            if statuses is not None
            else (ContainerStatus(c.name, ready, 0, "running") for c in workload.containers)
        ),
        unschedulable_message=unschedulable,
    )


def service(
    name: str = "web",
    *,
    selector: dict[str, str] | None = None,
    target_port: int | str = 8080,
    type_: str = "ClusterIP",
    node_port: int | None = None,
) -> Service:
    return Service(
        namespace=NS,
        name=name,
        type=type_,
        cluster_ip="10.96.0.10",
        ports=(ServicePort(80, target_port, node_port=node_port),),
        selector=selector if selector is not None else {"app": name},
    )


def endpoints_for(svc: Service, pods: Sequence[Pod]) -> Endpoints:
    from k8s_optimizer.domain.objects import EndpointAddress, EndpointPort

    return Endpoints(
        svc.namespace,
        svc.name,
        tuple(EndpointAddress(p.pod_ip or "", p.ready, p.name, p.node_name) for p in pods),
        (EndpointPort(8080),),
    )


def hpa(
    target: Workload, *, minimum: int = 2, maximum: int = 10, cpu_percent: int | None = 80, **kwargs: object
) -> HPA:
    metrics = (HPAMetricTarget("Resource", "cpu", "Utilization", cpu_percent),) if cpu_percent is not None else ()
    metrics = kwargs.pop("metrics", metrics)  # type: ignore[assignment]
    return HPA(
        namespace=target.namespace,
        name=target.name,
        target=target.ref(),
        min_replicas=minimum,
        max_replicas=maximum,
        metrics=metrics,
        **kwargs,  # type: ignore[arg-type]
    )


def pdb(name: str, labels: dict[str, str], min_available: int | str | None = 1) -> PodDisruptionBudget:
    return PodDisruptionBudget(NS, name, LabelSelector(tuple(sorted(labels.items()))), min_available=min_available)


def node(name: str = "worker", cpu: int = 4000, memory: int = 8 * GIB) -> Node:
    return Node(name, {}, "172.18.0.3", "10.244.1.0/24", cpu, memory, cpu, memory, True)


def snapshot(
    *,
    workloads: Sequence[Workload] = (),
    pods: Sequence[Pod] = (),
    services: Sequence[Service] = (),
    endpoints: Sequence[Endpoints] = (),
    hpas: Sequence[HPA] = (),
    pdbs: Sequence[PodDisruptionBudget] = (),
    nodes: Sequence[Node] = (),
    host_port_mappings: dict[int, int] | None = None,
) -> ClusterSnapshot:
    return ClusterSnapshot(
        taken_at=NOW,
        namespaces={},
        nodes={n.name: n for n in nodes},
        pods={(p.namespace, p.name): p for p in pods},
        services={(s.namespace, s.name): s for s in services},
        endpoints={(e.namespace, e.name): e for e in endpoints},
        workloads={w.ref(): w for w in workloads},
        hpas={(h.namespace, h.name): h for h in hpas},
        pdbs={(p.namespace, p.name): p for p in pdbs},
        events={},
        network=NetworkSettings(host_port_mappings=host_port_mappings or {}),
    )


def series(
    values: Sequence[float], *, step_seconds: float = 60.0, end_seconds: float = NOW_SECONDS
) -> tuple[UsagePoint, ...]:
    start = end_seconds - step_seconds * (len(values) - 1)
    return tuple(UsagePoint(start + index * step_seconds, float(value)) for index, value in enumerate(values))


def container_history(
    pod_name: str,
    cpu: Sequence[float],
    memory: Sequence[float] | None = None,
    *,
    name: str = "app",
    step_seconds: float = 60.0,
    ooms: Sequence[float] = (),
    restarts: int = 0,
) -> ContainerHistory:
    return ContainerHistory(
        key=ContainerKey(NS, pod_name, name),
        cpu_millicores=series(cpu, step_seconds=step_seconds),
        memory_bytes=series(memory if memory is not None else [100 * MIB] * len(cpu), step_seconds=step_seconds),
        oom_kill_times_seconds=tuple(ooms),
        restart_count_in_window=restarts,
    )


def workload_history(workload: Workload, per_pod: Sequence[ContainerHistory], name: str = "app") -> WorkloadHistory:
    return WorkloadHistory(workload.kind, workload.namespace, workload.name, containers={name: tuple(per_pod)})
