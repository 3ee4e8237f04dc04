"""translate.py on hand-written, kubectl-shaped JSON: every field, with exact expected domain objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from k8s_optimizer.domain.autoscaling import rules_from_json
from k8s_optimizer.domain.objects import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
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
    LabelRequirement,
    LabelSelector,
    Node,
    ObjectRef,
    OwnerRef,
    Pod,
    PodDisruptionBudget,
    Probe,
    ScalingPolicy,
    ScalingRules,
    Service,
    ServicePort,
    Taint,
    Workload,
)
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage
from k8s_optimizer.k8s import translate

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_pod_every_field() -> None:
    pod = translate.translate_pod(load("pod.json"))
    assert pod == Pod(
        namespace="k8s-optimizer",
        name="echo-demo-7d9f8b6c5-abcde",
        uid="0b6f2a52-1111-4c1e-9d3a-6f1b2c3d4e5f",
        labels={"app": "echo-demo", "pod-template-hash": "7d9f8b6c5"},
        owner=OwnerRef("ReplicaSet", "echo-demo-7d9f8b6c5", "9a8b7c6d-2222-4c1e-9d3a-6f1b2c3d4e5f", controller=True),
        node_name="k8s-optimizer-worker",
        pod_ip="10.244.1.5",
        host_ip="172.20.0.2",
        phase="Running",
        ready=True,
        containers=(
            ContainerSpec(
                name="echo",
                image="hashicorp/http-echo:1.0",
                cpu_request_millicores=100,
                cpu_limit_millicores=500,
                memory_request_bytes=64 * 2**20,
                memory_limit_bytes=128 * 2**20,
                ports=(ContainerPort(5678, "http", "TCP"),),
                readiness_probe=Probe("httpGet", port="http", path="/", period_seconds=5),
                liveness_probe=Probe("tcpSocket", port=5678, initial_delay_seconds=3),
            ),
            ContainerSpec(name="sidecar", image="busybox:1.36"),
        ),
        container_statuses=(
            ContainerStatus(
                name="echo",
                ready=True,
                restart_count=2,
                state="running",
                reason=None,
                last_termination_reason="OOMKilled",
                last_termination_at=at("2026-11-26T10:04:59"),
                started_at=at("2026-11-26T10:05:00"),
            ),
            ContainerStatus(name="sidecar", ready=False, restart_count=0, state="waiting", reason="CrashLoopBackOff"),
        ),
        unschedulable_message=None,
        created_at=at("2026-11-26T10:00:00"),
        deleting=False,
    )
    assert pod.restart_count == 2


def test_pending_pod_is_honest_about_what_is_missing() -> None:
    pod = translate.translate_pod(load("pod-pending.json"))
    assert (pod.node_name, pod.pod_ip, pod.host_ip, pod.owner, pod.ready) == (None, None, None, None, False)
    assert pod.unschedulable_message == "0/3 nodes are available: 3 Insufficient cpu."
    assert pod.deleting is True
    assert pod.containers[0].cpu_request_millicores == 64_000
    assert pod.containers[0].memory_request_bytes == 2**40
    assert pod.containers[0].cpu_limit_millicores is None
    assert pod.container_statuses == ()


def test_node() -> None:
    assert translate.translate_node(load("node.json")) == Node(
        name="k8s-optimizer-control-plane",
        labels={"kubernetes.io/hostname": "k8s-optimizer-control-plane", "node-role.kubernetes.io/control-plane": ""},
        internal_ip="172.20.0.4",
        pod_cidr="10.244.0.0/24",
        capacity_cpu_millicores=4000,
        capacity_memory_bytes=8148204 * 1024,
        allocatable_cpu_millicores=3900,
        allocatable_memory_bytes=7900000 * 1024,
        ready=True,
        taints=(Taint("node-role.kubernetes.io/control-plane", "NoSchedule"),),
        created_at=at("2026-11-26T09:00:00"),
    )


def test_service_nodeport_named_target() -> None:
    assert translate.translate_service(load("service.json")) == Service(
        namespace="k8s-optimizer",
        name="optimizer-dashboard",
        type="NodePort",
        cluster_ip="10.96.45.211",
        ports=(
            ServicePort(80, "http", "TCP", "http", 30080),
            ServicePort(9113, 9113, "TCP", "metrics", 31913),
        ),
        selector={"app": "optimizer-dashboard"},
        labels={"app.kubernetes.io/name": "dashboard"},
        created_at=at("2026-11-26T09:30:00"),
    )


def test_headless_service_has_no_cluster_ip_no_selector_and_defaults() -> None:
    service = translate.translate_service(load("service-headless.json"))
    assert service == Service("data", "db", "ClusterIP", None, (ServicePort(5432, 5432),), None)


def test_endpoints_ready_first_then_not_ready() -> None:
    assert translate.translate_endpoints(load("endpoints.json")) == Endpoints(
        namespace="k8s-optimizer",
        name="echo-demo",
        addresses=(
            EndpointAddress("10.244.1.5", True, "echo-demo-7d9f8b6c5-abcde", "k8s-optimizer-worker"),
            EndpointAddress("10.244.2.3", True, "echo-demo-7d9f8b6c5-fghij", "k8s-optimizer-worker2"),
            EndpointAddress("10.244.2.9", False, "echo-demo-7d9f8b6c5-klmno", "k8s-optimizer-worker2"),
        ),
        ports=(EndpointPort(5678, "http", "TCP"),),
    )


def test_endpoints_without_subsets() -> None:
    empty = translate.translate_endpoints({"metadata": {"name": "x", "namespace": "y"}})
    assert empty == Endpoints("y", "x", (), ())
    assert empty.ready_count == 0


def test_deployment() -> None:
    assert translate.translate_deployment(load("deployment.json")) == Workload(
        kind="Deployment",
        namespace="k8s-optimizer",
        name="echo-demo",
        uid="d-1",
        labels={"app": "echo-demo"},
        selector=LabelSelector(
            match_labels=(("app", "echo-demo"),),
            match_expressions=(LabelRequirement("tier", "NotIn", ("batch",)),),
        ),
        containers=(
            ContainerSpec("echo", "hashicorp/http-echo:1.0", cpu_request_millicores=100, memory_request_bytes=2**26),
        ),
        replicas=3,
        ready_replicas=2,
        available_replicas=2,
        updated_replicas=3,
        current_replicas=3,
        annotations={"deployment.kubernetes.io/revision": "3"},
        generation=4,
        observed_generation=4,
    )


def test_replicaset_points_at_its_deployment() -> None:
    replica_set = translate.translate_replicaset(load("replicaset.json"))
    assert replica_set.kind == "ReplicaSet"
    assert replica_set.owner == OwnerRef("Deployment", "echo-demo", "d-1", controller=True)
    assert (replica_set.replicas, replica_set.ready_replicas, replica_set.current_replicas) == (3, 2, 3)


def test_statefulset_and_daemonset_status_fields() -> None:
    stateful = translate.translate_statefulset(load("statefulset.json"))
    assert (stateful.kind, stateful.replicas, stateful.ready_replicas, stateful.current_replicas) == (
        "StatefulSet",
        2,
        1,
        2,
    )
    assert stateful.containers[0].memory_limit_bytes == 2**30
    assert stateful.containers[0].memory_request_bytes is None
    daemon = translate.translate_daemonset(load("daemonset.json"))
    assert (daemon.kind, daemon.replicas, daemon.ready_replicas, daemon.current_replicas) == ("DaemonSet", None, 3, 3)
    assert (daemon.available_replicas, daemon.updated_replicas) == (3, 3)


def test_hpa_v2_with_partial_behavior() -> None:
    assert translate.translate_hpa(load("hpa.json")) == HPA(
        namespace="k8s-optimizer",
        name="echo-demo",
        target=ObjectRef("Deployment", "k8s-optimizer", "echo-demo"),
        min_replicas=2,
        max_replicas=10,
        metrics=(
            HPAMetricTarget("Resource", "cpu", "Utilization", 50, None),
            HPAMetricTarget(
                "Resource", "memory", "AverageValue", None, float(100 * 2**20), average_value_quantity="100Mi"
            ),
            HPAMetricTarget(
                "Pods", target_type="AverageValue", average_value=10.0, metric_name="rps", average_value_quantity="10"
            ),
            HPAMetricTarget(
                "Object",
                target_type="Value",
                value=10000.0,
                metric_name="requests-per-second",
                described_object=ObjectRef("Ingress", "k8s-optimizer", "main-route"),
                described_object_api_version="networking.k8s.io/v1",
                value_quantity="10k",
            ),
            HPAMetricTarget(
                "External",
                target_type="AverageValue",
                average_value=30.0,
                metric_name="queue_messages_ready",
                metric_selector=LabelSelector((("queue", "worker_tasks"),)),
                average_value_quantity="30",
            ),
        ),
        # a behavior block defaults the direction it leaves out; the scale-down tolerance is a quantity
        scale_up=DEFAULT_SCALE_UP,
        scale_down=ScalingRules(60, "Max", (ScalingPolicy("Pods", 1, 30),), tolerance="50m"),
        current_replicas=3,
        desired_replicas=4,
        current_cpu_utilization_percent=73,
        conditions=(HPACondition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),),
        last_scale_time=at("2026-11-26T10:10:00"),
    )


def test_scaling_rules_fill_api_defaults() -> None:
    # the scale-down window stays unset (the controller's downscale-stabilization flag fills it)
    assert rules_from_json({"selectPolicy": "Min"}, DEFAULT_SCALE_DOWN) == ScalingRules(
        None, "Min", DEFAULT_SCALE_DOWN.policies
    )
    assert rules_from_json(None, DEFAULT_SCALE_DOWN) == DEFAULT_SCALE_DOWN


def test_min_replicas_zero_stays_zero() -> None:
    hpa = translate.translate_hpa({"metadata": {"name": "q"}, "spec": {"minReplicas": 0, "maxReplicas": 3}})
    assert (hpa.min_replicas, hpa.max_replicas) == (0, 3)


def test_pdb_and_event() -> None:
    assert translate.translate_pdb(load("pdb.json")) == PodDisruptionBudget(
        "k8s-optimizer", "echo-demo", LabelSelector((("app", "echo-demo"),)), "50%", None, 1
    )
    assert translate.translate_event(load("event.json")) == Event(
        namespace="k8s-optimizer",
        name="echo-demo.17a1",
        involved=ObjectRef("Pod", "k8s-optimizer", "echo-demo-7d9f8b6c5-abcde"),
        reason="OOMKilling",
        message="Memory cgroup out of memory: Killed process 4242 (echo)",
        type="Warning",
        count=3,
        first_seen=at("2026-11-26T10:01:00"),
        last_seen=at("2026-11-26T10:04:59"),
        source="kubelet",
    )


def test_pod_metrics_keep_api_timestamp_and_sub_millicore_cpu() -> None:
    item = load("podmetrics.json")["items"][0]
    stamp = at("2026-11-26T10:20:00")
    key = ContainerKey("k8s-optimizer", "echo-demo-7d9f8b6c5-abcde", "echo")
    sidecar = ContainerKey("k8s-optimizer", "echo-demo-7d9f8b6c5-abcde", "sidecar")
    assert translate.translate_pod_metrics(item) == (
        ContainerUsage(key, stamp, 15.012, 1.5, 48 * 2**20),
        ContainerUsage(sidecar, stamp, 15.012, 0.0, 2**20),
    )


def test_node_metrics() -> None:
    item = load("nodemetrics.json")["items"][0]
    assert translate.translate_node_metrics(item) == NodeUsage(
        "k8s-optimizer-worker", at("2026-11-26T10:20:00"), 60.0, 250.0, 2**30
    )


def test_metrics_without_timestamp_or_with_bad_quantity_are_dropped() -> None:
    assert translate.translate_pod_metrics({"metadata": {"name": "p"}, "containers": []}) == ()
    bad = {"metadata": {"name": "n"}, "timestamp": "2026-11-26T10:20:00Z", "usage": {"cpu": "lots", "memory": "1"}}
    assert translate.translate_node_metrics(bad) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("1m0s", 60.0), ("15.5s", 15.5), ("500ms", 0.5), ("1h2m3s", 3723.0), ("", None), ("5x", None)],
)
def test_parse_duration_seconds(text: str, seconds: float | None) -> None:
    assert translate.parse_duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        ("2026-11-26T10:00:00.250000Z", datetime(2026, 11, 26, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-26T12:00:00+02:00", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time_is_utc_aware(text: str | None, expected: datetime | None) -> None:
    assert translate.parse_time(text) == expected


def test_malformed_quantity_becomes_none_not_an_exception() -> None:
    container = translate.translate_container({"name": "c", "resources": {"requests": {"cpu": "a lot"}}})
    assert container.cpu_request_millicores is None
