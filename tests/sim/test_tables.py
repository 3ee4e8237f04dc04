"""Table rows look like the real API server's printers (what `kubectl get [-o wide]` shows)."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_sim.tables import human_duration, table

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
CREATED = "2027-01-15T07:55:00Z"  # five minutes before NOW


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (119, "119s"), (300, "5m"), (303, "5m3s"), (2400, "40m"), (3 * 3600 + 1200, "3h20m"),
     (20 * 3600, "20h"), (3 * 86400 + 5 * 3600, "3d5h"), (30 * 86400, "30d"), (3 * 365 * 86400 + 86400 * 4, "3y4d"),
     (-5, "<invalid>")],
)  # fmt: skip
def test_human_duration_like_kubectl(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def _cells(kind: str, obj: dict[str, Any]) -> list[Any]:
    rows = table(kind, [obj], NOW)["rows"]
    cells: list[Any] = rows[0]["cells"]
    return cells


def test_pod_row_shows_ready_status_restarts_ip_and_node() -> None:
    pod = {
        "metadata": {"name": "web-1", "creationTimestamp": CREATED},
        "spec": {"nodeName": "k8s-optimizer-worker", "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2027-01-15T07:59:00Z"}}},
                {"name": "b", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        },
    }  # fmt: skip
    assert _cells("Pod", pod) == [
        "web-1", "1/2", "CrashLoopBackOff", "2 (60s ago)", "5m", "10.244.1.5", "k8s-optimizer-worker",
        "<none>", "<none>",
    ]  # fmt: skip


def test_node_row_has_roles_version_and_wide_addresses() -> None:
    node = {
        "metadata": {"name": "cp", "creationTimestamp": CREATED,
                     "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "172.20.0.4"}, {"type": "Hostname", "address": "cp"}],
            "nodeInfo": {"kubeletVersion": "v1.31.4", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.18"},
        },
    }  # fmt: skip
    assert _cells("Node", node) == [
        "cp", "Ready", "control-plane", "5m", "v1.31.4", "172.20.0.4", "<none>",
        "Debian GNU/Linux 12 (bookworm)", "6.1.0", "containerd://1.7.18",
    ]  # fmt: skip
    columns = table("Node", [node], NOW)["columnDefinitions"]
    assert [c["name"] for c in columns if c["priority"] == 0] == ["Name", "Status", "Roles", "Age", "Version"]


def test_service_row_shows_node_ports_and_selector() -> None:
    service = {
        "metadata": {"name": "optimizer-backend", "creationTimestamp": CREATED},
        "spec": {"type": "NodePort", "clusterIP": "10.96.12.34", "selector": {"app": "backend"},
                 "ports": [{"port": 8080, "nodePort": 30081, "protocol": "TCP"}]},
    }  # fmt: skip
    assert _cells("Service", service) == [
        "optimizer-backend", "NodePort", "10.96.12.34", "<none>", "8080:30081/TCP", "5m", "app=backend",
    ]  # fmt: skip


def test_endpoints_row_lists_three_pairs_then_more() -> None:
    endpoints = {
        "metadata": {"name": "echo-demo", "creationTimestamp": CREATED},
        "subsets": [{"addresses": [{"ip": f"10.244.1.{i}"} for i in range(1, 6)], "ports": [{"port": 8080}]}],
    }
    assert _cells("Endpoints", endpoints)[1] == "10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080 + 2 more..."


@pytest.mark.parametrize(
    ("current", "shown"),
    [([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 34}}}], "cpu: 34%/50%"),
     ([], "cpu: <unknown>/50%")],
)  # fmt: skip
def test_hpa_targets_like_kubectl(current: list[Any], shown: str) -> None:
    hpa = {
        "metadata": {"name": "echo-demo", "creationTimestamp": CREATED},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "echo-demo"}, "minReplicas": 2, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
        "status": {"currentReplicas": 3, "currentMetrics": current},
    }  # fmt: skip
    assert _cells("HorizontalPodAutoscaler", hpa) == ["echo-demo", "Deployment/echo-demo", shown, 2, 10, 3, "5m"]


def test_deployment_row_and_default_printer() -> None:
    deploy = {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }  # fmt: skip
    assert _cells("Deployment", deploy) == ["web", "2/3", 3, 2, "5m", "app", "nginx:1.27", "app=web"]
    assert _cells("ClusterRole", {"metadata": {"name": "admin", "creationTimestamp": CREATED}}) == ["admin", "5m"]


@pytest.mark.parametrize(
    ("include", "expected"),
    [("None", None), ("Object", "Pod"), ("Metadata", "PartialObjectMetadata")],
)
def test_rows_embed_the_object_as_requested(include: str, expected: str | None) -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p", "creationTimestamp": CREATED}}
    row = table("Pod", [pod], NOW, include_object=include)["rows"][0]
    assert (row["object"]["kind"] if "object" in row else None) == expected


def test_endpointslice_row_like_the_real_printer() -> None:
    empty = {"metadata": {"name": "web-abc", "creationTimestamp": CREATED}, "addressType": "IPv4"}
    assert _cells("EndpointSlice", empty) == ["web-abc", "IPv4", "<unset>", "<none>", "5m"]
    full = {
        **empty,
        "ports": [{"port": 8080}],
        "endpoints": [{"addresses": [f"10.244.1.{i}"]} for i in range(1, 5)],
    }
    assert _cells("EndpointSlice", full)[2:4] == ["8080", "10.244.1.1,10.244.1.2,10.244.1.3 + 1 more..."]
