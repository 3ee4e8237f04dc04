"""kube-proxy rules and NetworkPolicy reachability through the API, against the embedded cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.analysis.kubeproxy.model import port_proto_hash
from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.api.test_sim import eventually
from tests.simcluster import SimCluster

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: net}
---
apiVersion: v1
kind: Namespace
metadata: {name: net-client}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: net}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{containerPort: 8080, name: http}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: net}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30099}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: net-client, labels: {app: client}}
spec:
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: net, labels: {role: frontend}}
spec:
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: net, labels: {role: batch}}
spec:
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
---
apiVersion: v1
kind: Service
metadata: {name: bare, namespace: net}
spec:
  selector: {role: batch}
  ports: [{port: 9090, targetPort: 9090}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend, namespace: net}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
    ports: [{port: http}]
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo", speed=1.0) as cluster:
        result = cluster.kubectl("apply", "-f", "-", stdin=MANIFEST)
        assert result.returncode == 0, result.stderr
        yield cluster


@pytest.fixture(scope="module")
def client(sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        kubeconfig=sim.kubeconfig, data_dir=Path(tmp_path_factory.mktemp("net")), metrics_interval_seconds=1.0
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        eventually(lambda: test_client.get("/ready").status_code == 200, 20.0, "ready")
        yield test_client


def _web_pods(sim: SimCluster) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = json.loads(
        sim.kubectl("-n", "net", "get", "pods", "-l", "app=web", "-o", "json").stdout
    )["items"]
    return pods


def _rules(client: TestClient) -> dict[str, Any] | None:
    response = client.get("/api/v1/services/net/web/rules")
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body if len(body["endpoint_rules"]) == 2 else None


def test_rules_of_a_service_are_kube_proxys_for_its_endpoints(sim: SimCluster, client: TestClient) -> None:
    body = eventually(lambda: _rules(client), 20.0, "two endpoints in the rules")
    assert (body["mode"], body["service"]["name"]) == ("iptables", "web")
    assert body["mode_source"] == "kube-system/kube-proxy ConfigMap"  # the embedded cluster publishes kind's
    pod_ips = sorted(f"{p['status']['podIP']}:8080" for p in _web_pods(sim))
    assert sorted(r["endpoint"] for r in body["endpoint_rules"]) == pod_ips
    chain = "KUBE-EXT-" + port_proto_hash("net/web:http", "tcp")
    assert (
        f'-A KUBE-NODEPORTS -p tcp -m comment --comment "net/web:http" -m tcp --dport 30099 -j {chain}' in body["text"]
    )
    nodes = {p["spec"].get("nodeName") for p in _web_pods(sim)}
    drop = '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "net/web:http has no local endpoints"'
    # externalTrafficPolicy: Local — the entry node drops NodePort traffic unless a web pod runs on it.
    assert (drop in body["text"]) is (body["node"] not in nodes)
    assert body["listing"].startswith(f"Chain {chain} (")


def test_rules_in_other_modes_and_for_a_node(client: TestClient) -> None:
    eventually(lambda: _rules(client), 20.0, "rules")
    nft = client.get("/api/v1/services/net/web/rules?mode=nftables").json()
    assert nft["mode"] == "nftables"
    assert "add element ip kube-proxy service-nodeports { tcp . 30099 : goto external-" in nft["text"]
    ipvs = client.get("/api/v1/services/net/web/rules?mode=ipvs").json()
    assert ":30099 rr" in ipvs["text"]
    node = client.get(f"/api/v1/nodes/{nft['node']}/rules").json()
    assert node["service"] is None
    assert '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports;' in node["text"]


def test_reachability_names_the_deciding_policy(client: TestClient) -> None:
    eventually(lambda: _rules(client), 20.0, "endpoints")
    denied = client.get("/api/v1/services/net/web/reachability", params={"from": "net-client/client"}).json()
    (port,) = denied["ports"]
    assert (port["service_port"], port["verdict"]) == (80, "denied")
    assert port["endpoints"][0]["port"] == 8080
    assert port["endpoints"][0]["reason"].startswith(
        "connections time out: NetworkPolicy web-from-frontend in net selects net/"
    )
    assert port["endpoints"][0]["reason"].endswith("for ingress and no rule admits net-client/client on TCP/8080")
    allowed = client.get("/api/v1/services/net/web/reachability", params={"from": "net/frontend"}).json()
    assert allowed["ports"][0]["verdict"] == "allowed"
    assert allowed["ports"][0]["endpoints"][0]["ingress"]["allowing"][0]["name"] == "web-from-frontend"
    anyone = client.get("/api/v1/services/net/web/reachability", params={"from_namespace": "net-client"}).json()
    assert (anyone["source"], anyone["ports"][0]["verdict"]) == ("any pod in net-client", "denied")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 422),
        ({"from": "net/frontend", "from_namespace": "net"}, 422),
        ({"from": "no-slash"}, 422),
        ({"from": "net/ghost"}, 404),
        ({"from_namespace": "nowhere"}, 404),
    ],
)
def test_reachability_rejects_bad_sources(client: TestClient, params: dict[str, str], status: int) -> None:
    response = client.get("/api/v1/services/net/web/reachability", params=params)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_service_and_node_are_404(client: TestClient) -> None:
    assert client.get("/api/v1/services/net/nope/rules").status_code == 404
    assert client.get("/api/v1/nodes/nope/rules").status_code == 404


def _diagnosis(client: TestClient, service: str, finding: str) -> list[dict[str, Any]] | None:
    response = client.get(f"/api/v1/services/net/{service}/diagnosis")
    if response.status_code != 200:
        return None
    found = [d for d in response.json()["diagnosis"] if d["id"] == finding]
    return found or None


def test_diagnosis_names_a_denying_network_policy(client: TestClient) -> None:
    (finding,) = eventually(lambda: _diagnosis(client, "web", "networkPolicyDenies"), 30.0, "policy finding")
    # A denied pod of the Service's own namespace is the likely caller: a warning naming it.
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(
        "connections time out: NetworkPolicy web-from-frontend in net selects net/web-"
    )
    assert "and no rule admits net/batch on TCP/8080 (and " in finding["message"]
    assert finding["pods"][0] == "batch"


def test_diagnosis_names_each_node_that_drops_under_a_local_policy(sim: SimCluster, client: TestClient) -> None:
    findings = eventually(lambda: _diagnosis(client, "web", "localPolicyDrops"), 30.0, "local-policy finding")
    nodes = json.loads(sim.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    with_endpoint = {p["spec"].get("nodeName") for p in _web_pods(sim)}
    without = sorted(n["metadata"]["name"] for n in nodes if n["metadata"]["name"] not in with_endpoint)
    assert [f["message"] for f in findings] == [
        f"NodePort 30099 on {node} drops traffic: no local endpoint under externalTrafficPolicy: Local "
        "(clients reaching this node time out)"
        for node in without
    ]
    assert {f["severity"] for f in findings} == {"warning"}


def test_diagnosis_names_an_undeclared_target_port(client: TestClient) -> None:
    (finding,) = eventually(lambda: _diagnosis(client, "bare", "targetPortUndeclared"), 30.0, "undeclared port")
    assert finding["severity"] == "info"
    assert finding["message"] == (
        "port 9090 targets 9090, which no selected container declares (they declare no ports): "
        "it answers only if the process listens there"
    )


def test_policy_matrix_shows_the_isolated_namespace(client: TestClient) -> None:
    eventually(lambda: _rules(client), 20.0, "endpoints")
    cells = {
        (c["source_namespace"], c["destination_namespace"]): c
        for c in client.get("/api/v1/network/policies/matrix").json()["cells"]
    }
    into_net = cells[("net-client", "net")]
    # net-client/client reaches net/frontend and net/batch (not isolated) but not the web pods.
    assert into_net["verdict"] == "partial"
    assert [d["name"] for d in into_net["deciding"]] == ["web-from-frontend"]
    assert cells[("net", "net-client")]["verdict"] == "allowed"


def test_the_path_links_each_dnat_branch_to_its_rule(client: TestClient) -> None:
    body = eventually(lambda: _rules(client), 20.0, "endpoints")
    chains = {r["endpoint"]: r["chain"] for r in body["endpoint_rules"]}
    path = client.get("/api/v1/services/net/web/path").json()
    (cluster_ip,) = [p for p in path["paths"] if p["kind"] == "cluster-ip"]
    assert {b["target"]: b["rule_chain"] for b in cluster_ip["branches"]} == chains
