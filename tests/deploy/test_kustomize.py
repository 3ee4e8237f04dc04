"""Every kustomization renders and every object is valid against the pinned Kubernetes version's schemas.

kubernetes-validate checks each object against the OpenAPI-derived JSON schemas of v1.31 in strict mode, so
a misspelt or misplaced field (the kind of error kubectl only reports at apply time on a real cluster) fails here.
"""

from __future__ import annotations

import copy
from collections import Counter

import kubernetes_validate
import pytest
import yaml

from k8s_optimizer.settings import Settings
from k8s_sim.scenarios.manifests import load_kustomization
from tests.deploy.manifests import DEPLOY, KUBERNETES_VERSION, KUSTOMIZATIONS, NAMESPACE, name_of, render


def _validate(manifest: dict[str, object]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_every_rendered_object_is_valid_for_the_pinned_kubernetes(directory: str) -> None:
    manifests = render(directory)
    assert manifests, f"deploy/{directory} rendered nothing"
    errors = []
    for manifest in manifests:
        try:
            _validate(manifest)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name_of(manifest)}: {exc.message} at {list(exc.path)}")
    assert errors == []


def test_strict_validation_rejects_an_unknown_field() -> None:
    # Proves the validation above is strict: a field the schema doesn't know is an error, not ignored.
    deployment = copy.deepcopy(next(m for m in render("base") if m["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {"limits": {"cpu": "1"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)


def test_base_renders_the_optimizer_and_nothing_else() -> None:
    inventory = sorted(name_of(m) for m in render("base"))
    assert inventory == [
        "ClusterRole/optimizer-kube-proxy-config-reader",
        "ClusterRole/optimizer-reader",
        "ClusterRoleBinding/optimizer-kube-proxy-config-reader",
        "ClusterRoleBinding/optimizer-reader",
        "ConfigMap/optimizer-backend-config",
        "Deployment/optimizer-dashboard",
        "Namespace/k8s-optimizer",
        "NetworkPolicy/optimizer-backend-egress",
        "NetworkPolicy/optimizer-backend-ingress",
        "NetworkPolicy/optimizer-dashboard-egress",
        "NetworkPolicy/optimizer-dashboard-ingress",
        "NetworkPolicy/optimizer-default-deny-egress",
        "PodDisruptionBudget/optimizer-backend",
        "PodDisruptionBudget/optimizer-dashboard",
        "Service/optimizer-backend",
        "Service/optimizer-backend-headless",
        "Service/optimizer-dashboard",
        "ServiceAccount/optimizer-backend",
        "ServiceAccount/optimizer-dashboard",
        "StatefulSet/optimizer-backend",
    ]


def test_demo_renders_the_design_workloads() -> None:
    inventory = sorted(name_of(m) for m in render("demo"))
    assert inventory == [
        "Deployment/echo-demo",
        "Deployment/high-cpu-app",
        "Deployment/memory-intensive-app",
        "HorizontalPodAutoscaler/echo-demo-hpa",
        "Pod/load-gen",
        "PodDisruptionBudget/echo-demo",
        "Service/echo-demo",
    ]


@pytest.mark.parametrize("directory", ["base", "demo", "overlays/apply", "overlays/prometheus"])
def test_every_namespaced_object_lands_in_the_optimizer_namespace(directory: str) -> None:
    # RoleBindings of the apply overlay live in the namespaces they grant (test_rbac.py checks them)
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "RoleBinding"}
    namespaces = Counter(m["metadata"].get("namespace") for m in render(directory) if m["kind"] not in cluster_scoped)
    assert set(namespaces) == {NAMESPACE}


def test_metrics_server_lives_in_kube_system_and_is_pinned() -> None:
    manifests = render("metrics-server")
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["metadata"]["namespace"] == "kube-system"
    assert container["image"] == (
        "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
        "@sha256:ffcb2bf004d6aa0a17d90e0247cf94f2865c8901dcab4427034c341951c239f9"
    )
    assert "--kubelet-insecure-tls" in container["args"]
    assert "--metric-resolution=15s" in container["args"]
    apiservice = next(m for m in manifests if m["kind"] == "APIService")
    assert apiservice["metadata"]["name"] == "v1beta1.metrics.k8s.io"
    assert apiservice["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system"}


@pytest.mark.parametrize("directory", ["base", "demo"])
def test_embedded_cluster_kustomizations_stay_simple(directory: str) -> None:
    # The embedded cluster reads base/ and demo/ itself: only `resources` (files in the directory),
    # `namespace` and `labels`, no patches or generators it would have to implement.
    kustomization = yaml.safe_load((DEPLOY / directory / "kustomization.yaml").read_text())
    assert set(kustomization) <= {"apiVersion", "kind", "namespace", "labels", "resources"}
    for resource in kustomization["resources"]:
        assert "/" not in resource
        assert (DEPLOY / directory / resource).is_file()
    yaml_files = sorted(p.name for p in (DEPLOY / directory).glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == yaml_files


@pytest.mark.parametrize("directory", ["base", "demo"])
def test_the_embedded_cluster_reads_what_kustomize_renders(directory: str) -> None:
    # The `demo` scenario applies these directories with its own small kustomize reader; for our files it
    # must produce exactly kubectl's objects, or the demo would drift from a real install.
    def key(manifest: dict[str, object]) -> str:
        return yaml.safe_dump(manifest, sort_keys=True)

    embedded = sorted(key(m) for m in load_kustomization(DEPLOY / directory))
    assert embedded == sorted(key(m) for m in render(directory))


def test_the_prometheus_overlay_points_the_backend_at_kube_prometheus_stack() -> None:
    manifests = render("overlays/prometheus")
    config = next(
        m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "optimizer-backend-config"
    )
    assert config["data"]["OPTIMIZER_PROMETHEUS_URL"] == "http://prometheus-operated.monitoring:9090"
    assert config["data"]["OPTIMIZER_HISTORY_WINDOW"] == "14d"
    assert config["data"]["OPTIMIZER_APPLY_ENABLED"] == "false"  # the base's settings stay
    # every OPTIMIZER_* key the overlay sets is a real setting (a typo would be ignored silently)
    assert {key.removeprefix("OPTIMIZER_").lower() for key in config["data"]} <= set(Settings.model_fields)
