"""Small fakes at the API's Protocol seams (api/ports.py), plus a hand-built cluster they serve.

The fake live model uses the real change feed (`live.feed.ChangeLog`), so seq numbers, the ring
buffer and subscriber overflow behave exactly as in production; only the watch caches are replaced
by a snapshot the test edits. The fake writer applies strategic merge patches with the embedded
cluster's own patch code, so dry-run/apply/rollback see real merge semantics.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from k8s_optimizer.domain.health import ComponentHealth
from k8s_optimizer.domain.history import RollupPoint, SeriesQueryError, SeriesTarget, UsageSeries, WorkloadHistory
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerPort,
    ContainerSpec,
    ContainerStatus,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    Event,
    HPACondition,
    HPAMetricTarget,
    LabelSelector,
    Namespace,
    Node,
    ObjectRef,
    OwnerRef,
    Pod,
    Service,
    ServicePort,
    Workload,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot, NetworkSettings
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage
from k8s_optimizer.k8s.errors import ClusterNotFoundError
from k8s_optimizer.live.feed import ChangeLog, ChangeSubscription
from k8s_optimizer.recommend.model import (
    AnalysisReport,
    Anomaly,
    CheckResult,
    ClusterCost,
    CostLine,
    CostReport,
    DataUsed,
    Diagnosis,
    Recommendation,
    ResourceBounds,
    ResourceValues,
    ServiceScore,
)
from k8s_sim.patch import strategic_merge_patch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIB = 2**20
WEB = ObjectRef("Deployment", "shop", "web")


def web_pod(index: int, *, ready: bool = True, node: str = "kind-worker") -> Pod:
    return Pod(
        namespace="shop",
        name=f"web-7d4b9-{index}",
        uid=f"uid-web-{index}",
        labels={"app": "web", "pod-template-hash": "7d4b9"},
        owner=OwnerRef("ReplicaSet", "web-7d4b9", "rs-uid", controller=True),
        node_name=node,
        pod_ip=f"10.244.1.{10 + index}",
        host_ip="172.18.0.3",
        phase="Running",
        ready=ready,
        containers=(
            ContainerSpec(
                name="app",
                image="nginx:1.27",
                cpu_request_millicores=500,
                memory_request_bytes=256 * MIB,
                memory_limit_bytes=512 * MIB,
                ports=(ContainerPort(8080, "http"),),
            ),
        ),
        container_statuses=(ContainerStatus("app", ready, 1, "running"),),
        created_at=NOW,
    )


def web_deployment(replicas: int = 2) -> Workload:
    return Workload(
        kind="Deployment",
        namespace="shop",
        name="web",
        uid="dep-uid",
        labels={"app": "web"},
        selector=LabelSelector(match_labels=(("app", "web"),)),
        containers=web_pod(0).containers,
        replicas=replicas,
        ready_replicas=replicas,
        available_replicas=replicas,
        updated_replicas=replicas,
        created_at=NOW,
    )


def build_snapshot(replicas: int = 2) -> ClusterSnapshot:
    pods = {("shop", p.name): p for p in (web_pod(i) for i in range(replicas))}
    nodes = {
        name: Node(
            name=name,
            labels={"node-role.kubernetes.io/control-plane": ""} if name == "kind-control-plane" else {},
            internal_ip=ip,
            pod_cidr=cidr,
            capacity_cpu_millicores=4000,
            capacity_memory_bytes=8192 * MIB,
            allocatable_cpu_millicores=3800,
            allocatable_memory_bytes=7680 * MIB,
            ready=True,
        )
        for name, ip, cidr in (
            ("kind-control-plane", "172.18.0.2", "10.244.0.0/24"),
            ("kind-worker", "172.18.0.3", "10.244.1.0/24"),
        )
    }
    replica_set = dataclasses.replace(
        web_deployment(replicas), kind="ReplicaSet", name="web-7d4b9", owner=OwnerRef("Deployment", "web", "dep-uid")
    )
    service = Service(
        namespace="shop",
        name="web",
        type="NodePort",
        cluster_ip="10.96.0.20",
        ports=(ServicePort(80, "http", name="http", node_port=30080),),
        selector={"app": "web"},
        labels={"app": "web", "tier": "front"},
        created_at=NOW,
    )
    lonely = Service("shop", "lonely", "ClusterIP", "10.96.0.21", (ServicePort(80, 80),), {"app": "nothing"})
    endpoints = Endpoints(
        "shop",
        "web",
        tuple(EndpointAddress(p.pod_ip or "", p.ready, p.name, p.node_name) for p in pods.values()),
        (EndpointPort(8080, "http"),),
    )
    hpa = HPA(
        namespace="shop",
        name="web",
        target=WEB,
        min_replicas=2,
        max_replicas=5,
        metrics=(HPAMetricTarget("Resource", "cpu", average_utilization=70),),
        current_replicas=replicas,
        desired_replicas=replicas,
        current_cpu_utilization_percent=20,
        conditions=(HPACondition("AbleToScale", "True", "ReadyForNewScale", "ok"),),
    )
    event = Event("shop", "web.1", WEB, "ScalingReplicaSet", "Scaled up to 2", "Normal", last_seen=NOW)
    usage = {
        ContainerKey("shop", p.name, "app"): ContainerUsage(
            ContainerKey("shop", p.name, "app"), NOW, 15.0, 100.0, 128 * MIB
        )
        for p in pods.values()
    }
    return ClusterSnapshot(
        taken_at=NOW,
        namespaces={"shop": Namespace("shop"), "default": Namespace("default")},
        nodes=nodes,
        pods=pods,
        services={("shop", "web"): service, ("shop", "lonely"): lonely},
        endpoints={("shop", "web"): endpoints},
        workloads={
            WEB: web_deployment(replicas),
            replica_set.ref(): replica_set,
        },
        hpas={("shop", "web"): hpa},
        pdbs={},
        events={("shop", "web.1"): event},
        container_usage=usage,
        node_usage={"kind-worker": NodeUsage("kind-worker", NOW, 15.0, 400.0, 1024 * MIB)},
        network=NetworkSettings(host_port_mappings={30080: 3000}),
    )


RESOURCES_PATCH: dict[str, Any] = {
    "spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "150m"}}}]}}}
}


def web_recommendation(target: ObjectRef = WEB, patch: dict[str, Any] | None = None) -> Recommendation:
    body = RESOURCES_PATCH if patch is None else patch
    return Recommendation(
        id="rec-web-app",
        target=target,
        container="app",
        kind="resources",
        priority="high",
        severity="warning",
        savings_monthly_usd=16.17,
        confidence=0.8,
        rationale="p95 CPU 120m over 7d; request 500m",
        current=ResourceValues(500, None, 256 * MIB, 512 * MIB),
        proposed=ResourceValues(150, None, 256 * MIB, 512 * MIB),
        bounds=ResourceBounds(),
        data=DataUsed(604800.0, 40000, 2),
        patch=body,
        patch_yaml="spec: ...\n",
        kubectl_patch=f"kubectl -n {target.namespace} patch deployment {target.name} --type strategic -p '...'",
        verify_commands=(f"kubectl -n {target.namespace} rollout status deployment/{target.name}",),
    )


def build_report(recommendations: tuple[Recommendation, ...] | None = None) -> AnalysisReport:
    recs = (web_recommendation(),) if recommendations is None else recommendations
    line = CostLine(23.08, 1.58, 1000, 200, 512 * MIB, 256 * MIB)
    return AnalysisReport(
        generated_at_seconds=NOW.timestamp(),
        policy="balanced",
        recommendations=recs,
        checks={WEB: (CheckResult("cpu-limit-missing", "warning", WEB, False, "no CPU limit", "set one", "app"),)},
        diagnoses={
            ObjectRef("Service", "shop", "lonely"): (
                Diagnosis(
                    "no-endpoints",
                    ObjectRef("Service", "shop", "lonely"),
                    "danger",
                    "selector app=nothing matches no pods",
                    "kubectl -n shop get endpoints lonely",
                    "fix the selector",
                ),
            )
        },
        anomalies=(
            Anomaly(
                "spike",
                "Deployment/shop/web/app/cpu_millicores",
                WEB,
                NOW.timestamp(),
                900.0,
                50.0,
                200.0,
                "high",
                "CPU spike",
            ),
        ),
        cost=CostReport(
            services={ObjectRef("Service", "shop", "web"): line},
            namespaces={"shop": line},
            cluster=ClusterCost(24.66, 200.0, 175.34, 16.17),
        ),
        scores={
            ObjectRef("Service", "shop", "web"): ServiceScore(
                ObjectRef("Service", "shop", "web"), 40.0, 80.0, 50.0, 56.7, "F", 5, 1, 0, 1
            )
        },
    )


class FakeLive:
    """LiveModel over an editable snapshot and the real ChangeLog."""

    def __init__(self, snapshot: ClusterSnapshot | None = None, *, synced: bool = True) -> None:
        self.current = snapshot or build_snapshot()
        self.log = ChangeLog()
        self.synced = synced
        self.degraded: str | None = None

    @property
    def seq(self) -> int:
        return self.log.seq

    def health(self) -> dict[str, ComponentHealth]:
        if self.degraded:
            return {"watches": ComponentHealth.degraded(self.degraded)}
        return {"watches": ComponentHealth.ok()}

    def snapshot(self) -> ClusterSnapshot:
        return self.current

    def subscribe(self, maxsize: int) -> ChangeSubscription:
        return self.log.subscribe(maxsize)

    def changes_since(self, seq: int) -> list[Any] | None:
        return self.log.since(seq)

    def put_pod(self, pod: Pod) -> None:
        existed = ("shop", pod.name) in self.current.pods
        self.current = dataclasses.replace(self.current, pods={**self.current.pods, (pod.namespace, pod.name): pod})
        self.log.publish("modified" if existed else "added", "Pod", pod.namespace, pod.name, pod)

    def delete_pod(self, namespace: str, name: str) -> None:
        pods = dict(self.current.pods)
        pods.pop((namespace, name))
        self.current = dataclasses.replace(self.current, pods=pods)
        self.log.publish("deleted", "Pod", namespace, name, None)

    def scale(self, replicas: int) -> None:
        workload = web_deployment(replicas)
        workloads = {**self.current.workloads, WEB: workload}
        self.current = dataclasses.replace(self.current, workloads=workloads)
        self.log.publish("modified", "Deployment", "shop", "web", workload)


class FakeHistory:
    """HistoryReader with one fixed cpu series."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str, float, float]] = []

    async def all_workload_histories(
        self, window_seconds: float, now_seconds: float
    ) -> Mapping[ObjectRef, WorkloadHistory]:
        return {}

    async def series(
        self,
        target: SeriesTarget,
        metric: str,
        *,
        window_seconds: float,
        step_seconds: float,
        now_seconds: float | None = None,
    ) -> UsageSeries:
        if metric not in ("cpu", "memory", "replicas"):
            raise SeriesQueryError("metric", f"must be cpu, memory or replicas, got {metric!r}")
        self.queries.append((str(target), metric, window_seconds, step_seconds))
        point = RollupPoint(1000.0, 4, 90.0, 100.0, 110.0, 109.0)
        return UsageSeries(
            str(target), metric, "millicores", window_seconds, step_seconds, "raw", (point,), {"web-7d4b9-0": (point,)}
        )


class FakeWriter:
    """ObjectWriter over in-memory objects, merging with the embedded cluster's strategic merge patch."""

    def __init__(self, objects: dict[str, dict[str, Any]] | None = None) -> None:
        self.objects = objects if objects is not None else {WEB.key(): deployment_json()}
        self.calls: list[tuple[str, bool, dict[str, Any]]] = []

    async def read(self, ref: ObjectRef) -> dict[str, Any]:
        if ref.key() not in self.objects:
            raise ClusterNotFoundError(f"{ref.key()} not found", status=404)
        return copy.deepcopy(self.objects[ref.key()])

    async def patch(self, ref: ObjectRef, patch: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        current = await self.read(ref)
        merged: dict[str, Any] = strategic_merge_patch(current, patch)
        self.calls.append((ref.key(), dry_run, patch))
        if not dry_run:
            self.objects[ref.key()] = merged
        return copy.deepcopy(merged)


def deployment_json() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7", "annotations": {"team": "shop"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                        },
                        {"name": "sidecar", "image": "busybox:1.36"},
                    ]
                },
            },
        },
        "status": {"replicas": 2},
    }
