"""The pieces agree with each other: kind's port mappings, the Services, the backend's settings, selectors.

A renamed label or a changed NodePort in one file silently breaks the design's `localhost:3000/8080` path;
these tests tie every copy of a name or number to the others.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from k8s_optimizer.domain.objects import LabelSelector
from k8s_optimizer.k8s.translate import translate_selector
from k8s_optimizer.settings import Settings
from tests.deploy.manifests import DEPLOY, REPO, by_kind, name_of, one, pod_labels, pod_spec, render

KIND_CONFIG = yaml.safe_load((REPO / "kind-config.yaml").read_text())


def _selects(selector: LabelSelector, labels: dict[str, str]) -> bool:
    return not selector.is_empty() and selector.matches(labels)


def _pods(directories: tuple[str, ...] = ("base", "demo")) -> list[dict[str, Any]]:
    return [m for d in directories for m in render(d) if pod_spec(m) is not None]


def test_kind_cluster_has_one_control_plane_two_workers_and_a_pinned_image() -> None:
    assert KIND_CONFIG["name"] == "k8s-optimizer"
    assert [node["role"] for node in KIND_CONFIG["nodes"]] == ["control-plane", "worker", "worker"]
    images = {node["image"] for node in KIND_CONFIG["nodes"]}
    assert len(images) == 1
    [image] = images
    assert re.fullmatch(r"kindest/node:v1\.31\.\d+@sha256:[0-9a-f]{64}", image)


def test_host_ports_reach_the_nodeports_of_the_dashboard_and_backend() -> None:
    control_plane = KIND_CONFIG["nodes"][0]
    mappings = {m["containerPort"]: m["hostPort"] for m in control_plane["extraPortMappings"]}
    assert mappings == {30080: 3000, 30081: 8080}
    base = render("base")
    dashboard = one(base, "Service", "optimizer-dashboard")["spec"]
    backend = one(base, "Service", "optimizer-backend")["spec"]
    assert (dashboard["type"], dashboard["ports"][0]["nodePort"], dashboard["ports"][0]["port"]) == (
        "NodePort",
        30080,
        80,
    )
    assert (backend["type"], backend["ports"][0]["nodePort"], backend["ports"][0]["port"]) == ("NodePort", 30081, 8080)


def test_the_backend_settings_parse_and_match_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    data = one(render("base"), "ConfigMap", "optimizer-backend-config")["data"]
    assert all(key.startswith("OPTIMIZER_") for key in data)
    unknown = {key for key in data if key.removeprefix("OPTIMIZER_").lower() not in Settings.model_fields}
    assert unknown == set()
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    mappings = {m["containerPort"]: m["hostPort"] for m in KIND_CONFIG["nodes"][0]["extraPortMappings"]}
    assert settings.host_port_mappings == mappings == {30080: 3000, 30081: 8080}
    assert settings.port == 8080
    assert settings.namespaces == []
    assert settings.apply_enabled is False
    assert str(settings.data_dir) == "/var/lib/k8s-optimizer"


@pytest.mark.parametrize("directory", ["base", "demo"])
def test_every_service_selects_pods_on_a_named_port_they_expose(directory: str) -> None:
    pods = _pods()
    for service in by_kind(render(directory), "Service"):
        selector = LabelSelector(match_labels=tuple(service["spec"]["selector"].items()))
        matched = [pod for pod in pods if _selects(selector, pod_labels(pod))]
        assert matched, f"{name_of(service)} selects no pod"
        for port in service["spec"]["ports"]:
            for pod in matched:
                spec = pod_spec(pod)
                assert spec is not None
                names = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
                assert port["targetPort"] in names, f"{name_of(service)} targets {port['targetPort']} on {name_of(pod)}"


@pytest.mark.parametrize("directory", ["base", "demo"])
def test_every_pdb_and_network_policy_selects_pods(directory: str) -> None:
    pods = _pods()
    for manifest in by_kind(render(directory), "PodDisruptionBudget"):
        selector = translate_selector(manifest["spec"]["selector"])
        assert any(_selects(selector, pod_labels(pod)) for pod in pods), name_of(manifest)
    for manifest in by_kind(render(directory), "NetworkPolicy"):
        selector = translate_selector(manifest["spec"]["podSelector"])
        assert any(_selects(selector, pod_labels(pod)) for pod in pods), name_of(manifest)


def test_backend_ingress_admits_its_port_without_a_hard_coded_address_block() -> None:
    """172.16.0.0/12 (kind's Docker network) holds the pod network on many clouds: no address block at all."""
    policies = by_kind(render("base"), "NetworkPolicy")
    policy = one(render("base"), "NetworkPolicy", "optimizer-backend-ingress")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]
    assert "ipBlock" not in json.dumps(policies)


def test_egress_is_denied_by_default_with_named_allows() -> None:
    base = render("base")
    deny = one(base, "NetworkPolicy", "optimizer-default-deny-egress")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "k8s-service-optimizer"}}
    assert (deny["policyTypes"], len(deny["egress"])) == (["Egress"], 1)
    assert {(p["protocol"], p["port"]) for p in deny["egress"][0]["ports"]} == {("UDP", 53), ("TCP", 53)}
    backend = one(base, "NetworkPolicy", "optimizer-backend-egress")["spec"]
    assert [p["port"] for rule in backend["egress"] for p in rule["ports"]] == [443, 6443]
    dashboard = one(base, "NetworkPolicy", "optimizer-dashboard-egress")["spec"]
    assert dashboard["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "optimizer-backend"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    # every pod of the optimizer is under the default deny; the demo workloads are not
    for kind, name in (("StatefulSet", "optimizer-backend"), ("Deployment", "optimizer-dashboard")):
        assert pod_labels(one(base, kind, name))["app.kubernetes.io/part-of"] == "k8s-service-optimizer"
    demo_parts = {pod_labels(w).get("app.kubernetes.io/part-of") for w in by_kind(render("demo"), "Deployment")}
    assert demo_parts == {"k8s-optimizer-demo"}


def test_the_dashboard_proxies_to_the_backend_service() -> None:
    dashboard = one(render("base"), "Deployment", "optimizer-dashboard")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in dashboard["env"]}
    read_token = next(item for item in dashboard["env"] if item["name"] == "DASHBOARD_READ_TOKEN")
    assert read_token["valueFrom"] == {"secretKeyRef": {"name": "optimizer-read-token", "key": "token"}}
    backend = one(render("base"), "Service", "optimizer-backend")
    assert env["BACKEND_URL"] == f"http://{backend['metadata']['name']}:{backend['spec']['ports'][0]['port']}"
    assert dashboard["ports"][0]["containerPort"] == 8080


def test_the_hpa_scales_echo_demo_from_two_to_ten_at_half_cpu() -> None:
    demo = render("demo")
    hpa = one(demo, "HorizontalPodAutoscaler", "echo-demo-hpa")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo-demo"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
    ]
    echo = one(demo, "Deployment", "echo-demo")
    # The HPA owns the replica count: a re-apply must not reset it (kube-score).
    assert "replicas" not in echo["spec"]
    service = one(demo, "Service", "echo-demo")["spec"]
    assert (service["type"], service["ports"][0]["port"]) == ("ClusterIP", 80)


def test_the_load_generator_targets_echo_demo_through_its_service_name() -> None:
    load_gen = one(render("demo"), "Pod", "load-gen")
    command = " ".join(load_gen["spec"]["containers"][0]["command"])
    assert "http://echo-demo.k8s-optimizer.svc.cluster.local" in command


def test_the_images_the_manifests_run_are_the_ones_make_images_builds() -> None:
    kind_mk = (DEPLOY / "kind.mk").read_text()
    tag = re.search(r"^IMAGE_TAG \?= (\S+)$", kind_mk, re.MULTILINE)
    assert tag is not None
    built = {f"k8s-optimizer-backend:{tag.group(1)}", f"k8s-optimizer-dashboard:{tag.group(1)}"}
    backend = one(render("base"), "StatefulSet", "optimizer-backend")["spec"]["template"]["spec"]["containers"][0]
    dashboard = one(render("base"), "Deployment", "optimizer-dashboard")["spec"]["template"]["spec"]["containers"][0]
    assert {backend["image"], dashboard["image"]} == built
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert {service["image"] for service in compose["services"].values()} == built


def test_kind_config_uses_only_fields_kind_knows() -> None:
    # kind decodes its config strictly (an unknown field aborts `kind create cluster`); these are the
    # v1alpha4 fields this file may use.
    assert (KIND_CONFIG["kind"], KIND_CONFIG["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    assert set(KIND_CONFIG) <= {"kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig"}
    for node in KIND_CONFIG["nodes"]:
        assert set(node) <= {"role", "image", "extraPortMappings", "extraMounts", "labels", "kubeadmConfigPatches"}
        for mapping in node.get("extraPortMappings", []):
            assert set(mapping) <= {"containerPort", "hostPort", "listenAddress", "protocol"}
            assert mapping["listenAddress"] == "127.0.0.1"
            assert mapping["protocol"] == "TCP"


def test_the_in_cluster_backend_needs_the_read_token_from_a_secret_file() -> None:
    """Issue 14 finding 4: reads of the backend's own port (NodePort) need a token in the in-cluster set-up."""
    base = render("base")
    config = one(base, "ConfigMap", "optimizer-backend-config")["data"]
    assert config["OPTIMIZER_READ_TOKEN_FILE"] == "/var/run/secrets/k8s-optimizer/read/token"
    assert "OPTIMIZER_READ_TOKEN" not in config  # a file from a Secret, never a value in a ConfigMap
    assert config["OPTIMIZER_HOST"] == "0.0.0.0"  # loopback is the default only when run locally
    pod = one(base, "StatefulSet", "optimizer-backend")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "read-token")
    assert volume["secret"] == {
        "secretName": "optimizer-read-token",
        "defaultMode": 0o440,
        "items": [{"key": "token", "path": "token"}],
    }
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "read-token")
    assert mount == {"name": "read-token", "mountPath": "/var/run/secrets/k8s-optimizer/read", "readOnly": True}
    assert by_kind(base, "Secret") == []  # created per cluster by `make deploy`, never committed
    names = config["OPTIMIZER_ALLOWED_HOSTS"].split(",")
    assert "optimizer-backend.k8s-optimizer.svc.cluster.local" in names
