"""Every REST route's happy path and its errors, against the app wired to fakes at the seams."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Backend, BackendFactory
from tests.api.fakes import FakeLive

PROBLEM = "application/problem+json"


def test_health_is_healthy_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "healthy"}
    assert client.get("/ready").json() == {"ready": True, "reason": None}


def test_health_degraded_still_200(backend: Backend) -> None:
    backend.live.degraded = "watch pods: connection refused"
    response = backend.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"watches": {"healthy": False, "detail": "watch pods: connection refused"}},
    }


def test_not_synced_is_503_everywhere(make_backend: BackendFactory) -> None:
    backend = make_backend(live=FakeLive(synced=False))
    ready = backend.client.get("/ready")
    assert (ready.status_code, ready.json()) == (503, {"ready": False, "reason": "watch caches not synced yet"})
    services = backend.client.get("/api/v1/services")
    assert services.status_code == 503
    assert services.headers["content-type"] == PROBLEM
    assert services.json()["detail"] == "cluster caches not synced yet; retry shortly"


def test_overview(client: TestClient) -> None:
    body = client.get("/api/v1/cluster/overview").json()
    assert [n["name"] for n in body["nodes"]] == ["kind-control-plane", "kind-worker"]
    worker = body["nodes"][1]
    assert (worker["roles"], worker["internal_ip"], worker["pod_cidr"]) == (["worker"], "172.18.0.3", "10.244.1.0/24")
    assert (worker["usage_cpu_millicores"], worker["requested_cpu_millicores"], worker["pod_count"]) == (400.0, 1000, 2)
    assert body["network"]["service_cidr"] == "10.96.0.0/12"
    assert body["network"]["pod_cidrs"] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert body["network"]["host_port_mappings"] == {"30080": 3000}
    assert [p["name"] for p in body["network"]["planes"]] == ["node", "pod", "service"]
    assert body["counts"] == {
        "namespaces": 2,
        "nodes": 2,
        "pods": 2,
        "services": 2,
        "workloads": 1,
        "hpas": 1,
        "recommendations": 1,
        "anomalies": 1,
    }
    assert (body["cost_monthly_usd"], body["potential_savings_monthly_usd"]) == (24.66, 16.17)


def test_namespaces_and_nodes(client: TestClient) -> None:
    namespaces = client.get("/api/v1/namespaces").json()
    assert [(n["name"], n["pod_count"], n["service_count"], n["workload_count"]) for n in namespaces["items"]] == [
        ("default", 0, 0, 0),
        ("shop", 2, 2, 1),
    ]
    nodes = client.get("/api/v1/nodes?limit=1").json()
    assert [n["name"] for n in nodes["items"]] == ["kind-control-plane"]
    assert nodes["total"] == 2
    second = client.get(f"/api/v1/nodes?limit=1&cursor={nodes['next_cursor']}").json()
    assert ([n["name"] for n in second["items"]], second["next_cursor"]) == (["kind-worker"], None)


def test_services_list_shape(client: TestClient) -> None:
    body = client.get("/api/v1/services?namespace=shop&sort=name").json()
    assert [s["name"] for s in body["items"]] == ["lonely", "web"]
    web = body["items"][1]
    assert web["ports"] == [
        {"name": "http", "port": 80, "target_port": "http", "protocol": "TCP", "node_port": 30080, "host_port": 3000}
    ]
    assert web["endpoints"] == {"ready": 2, "not_ready": 0}
    assert web["workloads"] == [
        {"kind": "Deployment", "namespace": "shop", "name": "web", "replicas": 2, "ready_replicas": 2}
    ]
    assert web["hpa"]["target_cpu_utilization_percent"] == 70
    assert web["resources"] == {
        "cpu_usage_millicores": 200.0,
        "cpu_request_millicores": 1000,
        "cpu_limit_millicores": None,
        "memory_usage_bytes": 256 * 2**20,
        "memory_request_bytes": 512 * 2**20,
        "memory_limit_bytes": 1024 * 2**20,
        "cpu_utilization_percent": 20.0,
        "memory_utilization_percent": 50.0,
    }
    assert web["score"]["letter"] == "F"
    assert (web["open_recommendations"], web["diagnoses"], web["dns_name"]) == (1, 0, "web.shop.svc.cluster.local")
    assert body["items"][0]["diagnoses"] == 1


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("label_selector=tier=front", ["web"]),
        ("label_selector=tier!=front", ["lonely"]),
        ("label_selector=!tier", ["lonely"]),
        ("q=lone", ["lonely"]),
        ("sort=-cpu", ["web", "lonely"]),
        ("namespace=default", []),
    ],
)
def test_services_filters(client: TestClient, query: str, names: list[str]) -> None:
    body = client.get(f"/api/v1/services?{query}").json()
    assert [s["name"] for s in body["items"]] == names


def test_service_detail(client: TestClient) -> None:
    body = client.get("/api/v1/services/shop/web").json()
    assert [p["name"] for p in body["pods"]] == ["web-7d4b9-0", "web-7d4b9-1"]
    pod = body["pods"][0]
    assert pod["owner"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
    assert pod["containers"][0]["resources"]["cpu_usage_millicores"] == 100.0
    assert [a["ip"] for a in body["endpoint_addresses"]] == ["10.244.1.10", "10.244.1.11"]
    assert body["hpa_detail"]["conditions"][0]["type"] == "AbleToScale"
    assert [c["id"] for c in body["checks"]] == ["cpu-limit-missing"]
    assert [r["id"] for r in body["recommendations"]] == ["rec-web-app"]
    assert [a["kind"] for a in body["anomalies"]] == ["spike"]
    assert [e["reason"] for e in body["events"]] == ["ScalingReplicaSet"]


def test_service_path(client: TestClient) -> None:
    body = client.get("/api/v1/services/shop/web/path").json()
    assert [p["kind"] for p in body["paths"]] == ["cluster-ip", "node-port"]
    rules = body["kube_proxy"][0]["rules"]
    assert [(r["target"], r["rule_probability"], r["probability"]) for r in rules] == [
        ("10.244.1.10:8080", 0.5, 0.5),
        ("10.244.1.11:8080", 1.0, 0.5),
    ]
    node_port = body["paths"][1]
    assert [h["kind"] for h in node_port["hops"]] == ["host", "port-mapping", "node-port", "kube-proxy"]
    assert "kubectl -n shop get svc web -o wide" in body["verification_commands"]


def test_service_diagnosis(client: TestClient) -> None:
    lonely = client.get("/api/v1/services/shop/lonely/diagnosis").json()
    assert lonely["healthy"] is False
    assert [d["id"] for d in lonely["diagnosis"]] == ["no-endpoints"]
    assert client.get("/api/v1/services/shop/web/diagnosis").json()["healthy"] is True


@pytest.mark.parametrize(
    ("path", "status", "detail_start"),
    [
        ("/api/v1/services/shop/nope", 404, "service shop/nope not found"),
        ("/api/v1/services/Shop_1/web", 422, "namespace: String should match pattern"),
        ("/api/v1/services/shop/web/path?x=1", 200, None),
        ("/api/v1/services?limit=1001", 422, "limit: Input should be less than or equal to 1000"),
        ("/api/v1/services?limit=0", 422, "limit: Input should be greater than or equal to 1"),
        ("/api/v1/services?sort=size", 422, "sort: Input should be"),
        ("/api/v1/services?cursor=%%%", 400, "cursor: '%%%' is not a cursor"),
        ("/api/v1/services?label_selector=a%20in%20(b)", 400, "label_selector: cannot parse"),
        ("/api/v1/workloads/shop/Job/web", 422, "kind: Input should be"),
        ("/api/v1/workloads/shop/Deployment/nope", 404, "Deployment shop/nope not found"),
        ("/api/v1/recommendations/nope", 404, "recommendation nope not found"),
        ("/api/v1/recommendations?priority=urgent", 422, "priority: Input should be"),
        ("/api/v1/recommendations?min_savings=-1", 422, "min_savings: Input should be greater than or equal to 0"),
        ("/api/v1/nothing", 404, "no route GET /api/v1/nothing"),
        ("/api/v1/report?format=pdf", 422, "format: Input should be"),
    ],
)
def test_errors_are_problems(client: TestClient, path: str, status: int, detail_start: str | None) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    if detail_start is not None:
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"].startswith(detail_start), response.json()
        assert response.json()["status"] == status


def test_workloads(client: TestClient) -> None:
    body = client.get("/api/v1/workloads?kind=Deployment").json()
    assert [(w["kind"], w["name"], w["services"]) for w in body["items"]] == [("Deployment", "web", ["web"])]
    container = body["items"][0]["containers"][0]
    assert container["resources"]["cpu_usage_millicores"] == 100.0  # per-pod average, comparable with the request
    detail = client.get("/api/v1/workloads/shop/Deployment/web").json()
    assert [p["name"] for p in detail["pods"]] == ["web-7d4b9-0", "web-7d4b9-1"]
    assert detail["hpa"]["max_replicas"] == 5
    assert client.get("/api/v1/workloads?kind=StatefulSet").json() == {"items": [], "next_cursor": None, "total": 0}


def test_pods_hpa_events(client: TestClient) -> None:
    assert client.get("/api/v1/pods?namespace=shop").json()["total"] == 2
    assert client.get("/api/v1/pods?namespace=default").json() == {"items": [], "next_cursor": None, "total": 0}
    assert [h["name"] for h in client.get("/api/v1/hpa").json()["items"]] == ["web"]
    assert [e["name"] for e in client.get("/api/v1/events?namespace=shop").json()["items"]] == ["web.1"]


def test_timeseries(backend: Backend) -> None:
    response = backend.client.get("/api/v1/metrics/timeseries?target=Deployment/shop/web/app&metric=cpu&window=2h")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["source"], body["unit"], body["request_per_pod"], body["limit_per_pod"], body["replicas"]) == (
        "raw",
        "millicores",
        500.0,
        None,
        2,
    )
    assert body["total"] == [{"t": 1000.0, "samples": 4, "min": 90.0, "avg": 100.0, "max": 110.0, "p95": 109.0}]
    assert backend.history.queries == [("Deployment/shop/web/app", "cpu", 7200, 60)]


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("target=Deployment/shop/web&window=15d", 400, "window: '15d' exceeds the 14d maximum"),
        ("target=Deployment/shop/web&window=abc", 400, "window: 'abc' is not a duration like 30m, 6h or 7d"),
        ("target=Deployment/shop/web&window=1h&step=5s", 400, "step: must be between 10s and the window"),
        ("target=Job/shop/web", 400, "target: kind must be one of"),
        ("target=Deployment/shop/web&metric=disk", 422, "metric: Input should be"),
    ],
)
def test_timeseries_errors(client: TestClient, query: str, status: int, detail: str) -> None:
    response = client.get(f"/api/v1/metrics/timeseries?{query}")
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail), response.json()


def test_recommendations_and_patch(client: TestClient) -> None:
    body = client.get("/api/v1/recommendations?namespace=shop&kind=resources&priority=high&min_savings=10").json()
    assert [r["id"] for r in body["items"]] == ["rec-web-app"]
    rec = body["items"][0]
    assert (rec["applicable"], rec["current"]["cpu_request_millicores"], rec["proposed"]["cpu_request_millicores"]) == (
        True,
        500,
        150,
    )
    assert client.get("/api/v1/recommendations?min_savings=100").json()["items"] == []
    assert client.get("/api/v1/recommendations/rec-web-app").json()["savings_monthly_usd"] == 16.17
    as_json = client.get("/api/v1/recommendations/rec-web-app/patch?format=json").json()
    assert as_json["format"] == "json"
    assert '"cpu": "150m"' in as_json["content"]
    kubectl = client.get("/api/v1/recommendations/rec-web-app/patch?format=kubectl").json()["content"]
    assert kubectl.startswith("kubectl -n shop patch deployment web")


def test_anomalies_and_cost(client: TestClient) -> None:
    anomalies = client.get("/api/v1/anomalies").json()["items"]
    assert [(a["kind"], a["severity"], a["value"]) for a in anomalies] == [("spike", "high", 900.0)]
    cost = client.get("/api/v1/cost?namespace=shop").json()
    assert cost["cluster"]["savings_monthly_usd"] == 16.17
    assert [(line["key"], line["total_monthly_usd"]) for line in cost["services"]] == [("shop/web", 24.66)]
    assert client.get("/api/v1/cost?namespace=default").json()["services"] == []


def test_report_formats(client: TestClient) -> None:
    as_json = client.get("/api/v1/report").json()
    assert (as_json["totals"]["recommendations"], as_json["totals"]["potential_savings_monthly_usd"]) == (1, 16.17)
    csv_text = client.get("/api/v1/report?format=csv")
    assert csv_text.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_text.text.splitlines()[1].startswith("high,shop,Deployment,web,app,resources,")
    assert client.get("/api/v1/report?format=yaml").text.startswith("generated_at:")
    assert "| high | shop | Deployment | web | app |" in client.get("/api/v1/report?format=markdown").text


def test_metrics_exposition(client: TestClient) -> None:
    client.get("/api/v1/services")
    text = client.get("/metrics").text
    assert 'optimizer_http_request_duration_seconds_count{route="/api/v1/services",method="GET",status="200"} 1' in text
    assert "optimizer_ws_clients 0" in text
    assert 'optimizer_cache_objects{kind="pods"} 2' in text
    assert "optimizer_analysis_runs_total" in text


def test_body_too_large(client: TestClient) -> None:
    response = client.post("/api/v1/recommendations/rec-web-app/dry-run", content=b"x" * 70_000)
    assert response.status_code == 413
    assert response.json()["detail"] == "request body: at most 65536 bytes"


def test_no_wildcard_cors(make_backend: BackendFactory) -> None:
    closed = make_backend().client.get("/api/v1/services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in closed.headers
    allowed = make_backend(cors_origins=["https://ui.example"]).client
    ok = allowed.get("/api/v1/services", headers={"Origin": "https://ui.example"})
    assert ok.headers["access-control-allow-origin"] == "https://ui.example"
    evil = allowed.get("/api/v1/services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
