"""The API wired to the real live model, history store and writer, against the embedded cluster.

Only the analyzer is replaced (by one fixed recommendation aimed at a real Deployment), so apply and
rollback go through k8s/writer.py to the embedded API server and back through the watch caches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.app import create_app
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.settings import Settings
from tests.api.fakes import build_report, web_recommendation
from tests.api.ws.conftest import receive
from tests.simcluster import SimCluster

TOKEN = "sim-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TARGET = ObjectRef("Deployment", "apply", "web")


def manifest(namespace: str, replicas: int = 2) -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{{containerPort: 8080, name: http}}]
        resources: {{requests: {{cpu: 500m, memory: 256Mi}}, limits: {{memory: 512Mi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}, labels: {{app: web}}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def eventually(predicate: Callable[[], Any], timeout_seconds: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout_seconds}s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo", speed=1.0) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        kubeconfig=sim.kubeconfig,
        data_dir=Path(tmp_path_factory.mktemp("api-sim")),
        apply_enabled=True,
        apply_token=TOKEN,
        metrics_interval_seconds=1.0,
    )
    report = build_report((web_recommendation(target=TARGET),))
    app = create_app(settings, analyzer=lambda snapshot, histories, now: report)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        eventually(lambda: test_client.get("/ready").status_code == 200, 20.0, "ready")
        yield test_client


def apply_manifest(sim: SimCluster, namespace: str, replicas: int = 2) -> None:
    result = sim.kubectl("apply", "-f", "-", stdin=manifest(namespace, replicas))
    assert result.returncode == 0, result.stderr


def test_services_list_comes_from_the_cluster(sim: SimCluster, client: TestClient) -> None:
    apply_manifest(sim, "listing")

    def listed() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = client.get("/api/v1/services?namespace=listing").json()["items"]
        return items

    (service,) = eventually(listed, what="service listed")
    assert (service["name"], service["type"], service["selector"]) == ("web", "ClusterIP", {"app": "web"})
    kubectl = json.loads(sim.kubectl("-n", "listing", "get", "svc", "web", "-o", "json").stdout)
    assert service["cluster_ip"] == kubectl["spec"].get("clusterIP")
    workload = client.get("/api/v1/workloads/listing/Deployment/web").json()
    assert (workload["replicas"], workload["containers"][0]["resources"]["cpu_request_millicores"]) == (2, 500)
    assert client.get("/api/v1/services/listing/nope").status_code == 404


def test_ws_delta_within_a_second_of_kubectl_scale(sim: SimCluster, client: TestClient) -> None:
    apply_manifest(sim, "scaling")
    eventually(lambda: client.get("/api/v1/workloads?namespace=scaling").json()["items"], what="deployment cached")
    with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send_json({"op": "subscribe", "topics": ["workloads"], "namespace": "scaling"})
        assert [w["replicas"] for w in receive(ws, "snapshot")["data"]["workloads"]] == [2]
        started = time.monotonic()
        result = sim.kubectl("-n", "scaling", "scale", "deployment/web", "--replicas=5")
        assert result.returncode == 0, result.stderr
        while True:
            delta = receive(ws, "delta")
            if delta["kind"] == "Deployment" and delta["object"]["replicas"] == 5:
                break
        assert time.monotonic() - started < 1.0 + 0.5  # kubectl's own start-up is inside this budget


def test_dry_run_apply_rollback_on_the_cluster(sim: SimCluster, client: TestClient) -> None:
    apply_manifest(sim, "apply")
    eventually(lambda: client.get("/api/v1/recommendations/rec-web-app").status_code == 200, what="recommendation")

    def cpu_request() -> str:
        out = sim.kubectl("-n", "apply", "get", "deployment", "web", "-o", "json")
        return str(json.loads(out.stdout)["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"])

    assert client.post("/api/v1/recommendations/rec-web-app/apply").status_code == 401
    dry = client.post("/api/v1/recommendations/rec-web-app/dry-run", headers=AUTH)
    assert dry.status_code == 200, dry.text
    assert dry.json()["diff"] == [
        {"path": "spec.template.spec.containers[app].resources.requests.cpu", "before": "500m", "after": "150m"}
    ]
    assert cpu_request() == "500m"

    applied = client.post("/api/v1/recommendations/rec-web-app/apply", headers=AUTH)
    assert applied.status_code == 200, applied.text
    assert cpu_request() == "150m"
    annotations = json.loads(sim.kubectl("-n", "apply", "get", "deployment", "web", "-o", "json").stdout)["metadata"][
        "annotations"
    ]
    assert annotations["k8s-optimizer.io/change-id"] == applied.json()["id"]
    eventually(
        lambda: (
            client.get("/api/v1/workloads/apply/Deployment/web").json()["containers"][0]["resources"][
                "cpu_request_millicores"
            ]
            == 150
        ),
        what="the watch cache sees the new request",
    )

    eventually(lambda: pod_cpu_requests(sim, "apply") == {"150m"}, 20.0, "pods rolled with the new request")

    rolled = client.post(f"/api/v1/changes/{applied.json()['id']}/rollback", headers=AUTH)
    assert rolled.status_code == 200, rolled.text
    assert cpu_request() == "500m"
    final = json.loads(sim.kubectl("-n", "apply", "get", "deployment", "web", "-o", "json").stdout)
    assert "k8s-optimizer.io/change-id" not in (final["metadata"].get("annotations") or {})
    assert [c["action"] for c in client.get("/api/v1/changes").json()["items"]] == ["rollback", "apply"]
    eventually(lambda: pod_cpu_requests(sim, "apply") == {"500m"}, 20.0, "pods rolled back")


def pod_cpu_requests(sim: SimCluster, namespace: str) -> set[str]:
    """The CPU requests of the namespace's live (not terminating) pods, as kubectl sees them."""
    pods = json.loads(sim.kubectl("-n", namespace, "get", "pods", "-o", "json").stdout)["items"]
    return {
        c["resources"]["requests"]["cpu"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        for c in p["spec"]["containers"]
    }


def test_metrics_expose_watches(client: TestClient) -> None:
    text = client.get("/metrics").text
    assert 'optimizer_watch_restarts{kind="Pod"} ' in text
    assert 'optimizer_watch_errors{kind="Pod"} 0' in text
    scrapes = next(line for line in text.splitlines() if line.startswith("optimizer_metrics_scrapes "))
    assert int(scrapes.split()[1]) >= 1


def test_real_analysis_of_the_demo_scenario(sim: SimCluster, tmp_path: Path) -> None:
    """No fakes at all: the engine's own recommendations, served and dry-run against the cluster."""
    settings = Settings(
        kubeconfig=sim.kubeconfig,
        data_dir=tmp_path,
        apply_enabled=True,
        apply_token=TOKEN,
        metrics_interval_seconds=1.0,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as real:
        eventually(lambda: real.get("/ready").status_code == 200, 20.0, "ready")
        page = eventually(lambda: real.get("/api/v1/recommendations").json()["items"], 20.0, "recommendations")
        first = next(r for r in page if r["applicable"])
        assert real.get(f"/api/v1/recommendations/{first['id']}").json() == first
        dry = real.post(f"/api/v1/recommendations/{first['id']}/dry-run", headers=AUTH)
        assert dry.status_code == 200, dry.text
        assert dry.json()["diff"], dry.json()
        report = real.get("/api/v1/report").json()
        assert report["totals"]["recommendations"] == real.get("/api/v1/recommendations").json()["total"]
        assert report["cluster"] == "kind-k8s-optimizer"  # the kubeconfig's current-context
