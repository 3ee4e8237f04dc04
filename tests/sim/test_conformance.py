"""Conformance through real clients against a `k8s-optimizer sim` process: kubectl and the sync `kubernetes` client.

Each test works in its own namespace, so it holds whatever the scenario's controllers do meanwhile.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as sync_client, config as sync_config, watch as sync_watch

from tests.simcluster import KUBECTL, SimCluster

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: NS}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""


def _untyped(value: object) -> Any:
    return value


def _apply(sim: SimCluster, tmp_path: Path, ns: str) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / f"{ns}.yaml"
    manifest.write_text(MANIFEST.replace("NS", ns))
    return sim.kubectl("apply", "-f", str(manifest))


def test_kubectl_apply_is_idempotent_and_get_shows_wide_columns(sim: SimCluster, tmp_path: Path) -> None:
    first = _apply(sim, tmp_path, "conf-apply")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "namespace/conf-apply created",
        "deployment.apps/web created",
        "service/web created",
    ]
    again = _apply(sim, tmp_path, "conf-apply")
    assert again.stdout.splitlines() == [
        "namespace/conf-apply unchanged",
        "deployment.apps/web unchanged",
        "service/web unchanged",
    ]
    changed = tmp_path / "changed.yaml"
    changed.write_text(MANIFEST.replace("NS", "conf-apply").replace("nginx:1.27", "nginx:1.28"))
    configured = sim.kubectl("apply", "-f", str(changed))
    assert "deployment.apps/web configured" in configured.stdout.splitlines()
    deploy = json.loads(sim.kubectl("get", "deploy", "web", "-n", "conf-apply", "-o", "json").stdout)
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"], c["ports"]) for c in containers] == [
        ("web", "nginx:1.28", [{"containerPort": 80, "protocol": "TCP"}])
    ]
    assert _apply(sim, tmp_path, "conf-apply").returncode == 0  # back to 1.27 for the wide listing below
    wide = sim.kubectl("get", "deploy", "-n", "conf-apply", "-o", "wide")
    header = wide.stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    row = wide.stdout.splitlines()[1].split()
    assert (row[0], row[5], row[6], row[7]) == ("web", "web", "nginx:1.27", "app=web")
    svc = sim.kubectl("get", "svc", "web", "-n", "conf-apply", "-o", "wide").stdout.splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]


def test_kubectl_scale_and_json_output(sim: SimCluster, tmp_path: Path) -> None:
    assert _apply(sim, tmp_path, "conf-scale").returncode == 0
    scaled = sim.kubectl("scale", "-n", "conf-scale", "deploy/web", "--replicas=4")
    assert scaled.stdout.strip() == "deployment.apps/web scaled"
    deploy = json.loads(sim.kubectl("get", "deploy", "web", "-n", "conf-scale", "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 4
    assert deploy["metadata"]["generation"] >= 2


def test_kubectl_delete_removes_the_deployment_and_its_dependents(sim: SimCluster, tmp_path: Path) -> None:
    assert _apply(sim, tmp_path, "conf-delete").returncode == 0
    deleted = sim.kubectl("delete", "-n", "conf-delete", "deploy", "web")
    assert deleted.stdout.strip() == 'deployment.apps "web" deleted'
    missing = sim.kubectl("get", "deploy", "web", "-n", "conf-delete")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "web" not found'
    left = json.loads(sim.kubectl("get", "rs,pods", "-n", "conf-delete", "-o", "json").stdout)
    assert left["items"] == []


def test_kubectl_get_watch_streams_new_objects(sim: SimCluster, tmp_path: Path) -> None:
    (tmp_path / "ns.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "conf-watch"}})
    )
    assert sim.kubectl("create", "-f", str(tmp_path / "ns.json")).returncode == 0
    watcher = subprocess.Popen(
        [KUBECTL, f"--kubeconfig={sim.kubeconfig}", "get", "configmaps", "-n", "conf-watch", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        created = sim.kubectl(
            "create", "configmap", "watched", "-n", "conf-watch", "--from-literal=a=b", "--dry-run=client", "-o", "json"
        )
        (tmp_path / "cm.json").write_text(created.stdout)
        assert sim.kubectl("create", "-f", str(tmp_path / "cm.json")).returncode == 0
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["NAME", "DATA", "AGE"]
    assert [line[:2] for line in lines[1:]] == [["watched", "1"]]


def test_kubectl_top_nodes_and_pods(sim: SimCluster) -> None:
    nodes = sim.kubectl("top", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    rows = [line.split() for line in nodes.stdout.splitlines()]
    assert rows[0][:2] == ["NAME", "CPU(cores)"]  # then CPU% or CPU(%), depending on the kubectl version
    assert [row[0] for row in rows[1:]] == [
        "k8s-optimizer-control-plane",
        "k8s-optimizer-worker",
        "k8s-optimizer-worker2",
    ]
    assert all(row[1].endswith("m") and row[3].endswith("Mi") for row in rows[1:])
    deadline = time.monotonic() + 20
    pods = sim.kubectl("top", "pods", "-A")
    while not pods.stdout and time.monotonic() < deadline:  # like metrics-server, the first scrape takes a moment
        time.sleep(0.5)
        pods = sim.kubectl("top", "pods", "-A")
    assert pods.returncode == 0, pods.stderr
    assert pods.stdout.split()[:4] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert "echo-demo-" in pods.stdout


@pytest.fixture
def core(sim: SimCluster) -> Iterator[Any]:
    api_client = sync_config.new_client_from_config(config_file=str(sim.kubeconfig))  # type: ignore[no-untyped-call]
    try:
        yield sync_client.CoreV1Api(api_client)
    finally:
        api_client.close()


def test_sync_client_creates_lists_with_pagination_and_watches(core: Any) -> None:
    core.create_namespace(sync_client.V1Namespace(metadata=sync_client.V1ObjectMeta(name="conf-sync")))
    for index in range(7):
        body = sync_client.V1ConfigMap(
            metadata=sync_client.V1ObjectMeta(name=f"cm-{index}", labels={"i": str(index % 2)})
        )
        core.create_namespaced_config_map("conf-sync", body)
    names: list[str] = []
    token = None
    while True:
        page = core.list_namespaced_config_map("conf-sync", limit=3, _continue=token)
        names += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm-{index}" for index in range(7)]
    odd = core.list_namespaced_config_map("conf-sync", label_selector="i=1")
    assert [item.metadata.name for item in odd.items] == ["cm-1", "cm-3", "cm-5"]
    rv = page.metadata.resource_version
    core.delete_namespaced_config_map("cm-0", "conf-sync")
    events = [
        (event["type"], event["object"].metadata.name)
        for event in _untyped(sync_watch.Watch()).stream(  # type: ignore[no-untyped-call]
            core.list_namespaced_config_map, "conf-sync", resource_version=rv, timeout_seconds=1
        )
    ]
    assert events == [("DELETED", "cm-0")]
    with pytest.raises(sync_client.ApiException) as raised:
        core.create_namespaced_config_map(
            "conf-sync", sync_client.V1ConfigMap(metadata=sync_client.V1ObjectMeta(name="cm-1"))
        )
    assert raised.value.status == 409


def _wide_rows(sim: SimCluster, *args: str) -> list[list[str]]:
    result = sim.kubectl("get", *args, "-o", "wide")
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines()[1:]]


def test_issue_done_when_kubectl_shows_the_demo_cluster(sim: SimCluster) -> None:
    nodes = {row[0]: row[5] for row in _wide_rows(sim, "nodes")}  # NAME … INTERNAL-IP
    assert nodes == {
        "k8s-optimizer-control-plane": "172.20.0.4",
        "k8s-optimizer-worker": "172.20.0.2",
        "k8s-optimizer-worker2": "172.20.0.3",
    }
    # The demo HPA may be adding echo-demo pods right now: a new pod is Running within seconds.
    deadline = time.monotonic() + 20.0
    pods = _wide_rows(sim, "pods", "-n", "k8s-optimizer")
    while not (pods and all(row[2] == "Running" for row in pods)) and time.monotonic() < deadline:
        time.sleep(0.5)
        pods = _wide_rows(sim, "pods", "-n", "k8s-optimizer")
    assert pods
    assert all(row[2] == "Running" and row[5].startswith("10.244.") for row in pods)
    assert {row[6] for row in pods} <= {"k8s-optimizer-worker", "k8s-optimizer-worker2"}
    services = {row[0]: row for row in _wide_rows(sim, "svc", "-n", "k8s-optimizer")}
    assert services["optimizer-dashboard"][4].split("/")[0].endswith(":30080")
    assert services["optimizer-backend"][4].split("/")[0].endswith(":30081")
    assert all(row[2] == "None" or row[2].startswith("10.96.") for row in services.values())
    endpoints = _wide_rows(sim, "endpoints", "echo-demo", "-n", "k8s-optimizer")[0][1]
    assert all(pair.startswith("10.244.") and ":" in pair for pair in endpoints.split(","))
    hpa = sim.kubectl("get", "hpa", "-n", "k8s-optimizer").stdout.splitlines()
    assert hpa[0].split()[:3] == ["NAME", "REFERENCE", "TARGETS"]
    assert "Deployment/echo-demo" in hpa[1]
    assert "/50%" in hpa[1]


def test_issue_done_when_scaling_echo_demo_gives_six_running_pods_and_endpoints(sim: SimCluster) -> None:
    assert sim.kubectl("scale", "deploy/echo-demo", "-n", "k8s-optimizer", "--replicas=6").returncode == 0
    deadline = time.monotonic() + 5.0
    running = addresses = 0
    while time.monotonic() < deadline:
        pods = json.loads(sim.kubectl("get", "pods", "-n", "k8s-optimizer", "-l", "app=echo-demo", "-o", "json").stdout)
        running = sum(1 for p in pods["items"] if p["status"].get("phase") == "Running")
        endpoints = json.loads(sim.kubectl("get", "endpoints", "echo-demo", "-n", "k8s-optimizer", "-o", "json").stdout)
        addresses = sum(len(s.get("addresses") or []) for s in endpoints.get("subsets") or [])
        if running == addresses == 6:
            break
        time.sleep(0.25)
    assert (running, addresses) == (6, 6)
