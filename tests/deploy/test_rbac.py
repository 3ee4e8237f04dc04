"""Least privilege: the default install can only read, never secrets; apply is a separate, opt-in patch grant.

The original granted update/patch on every workload kind and `*` on CRDs it never used
(original-system.md §13.20); these tests pin the exact rules instead.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from k8s_optimizer.k8s import informer
from tests.deploy.manifests import DEPLOY, by_kind, one, render

READ_VERBS = {"get", "list", "watch"}
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate", "*"}


def _watched() -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> verbs for what the backend reads: its informers' kinds, plus metrics.k8s.io."""
    watched = {(kind.group_version.rpartition("/")[0], kind.plural): READ_VERBS for kind in informer.RESOURCES}
    # k8s/metrics.py lists PodMetrics and NodeMetrics; metrics.k8s.io has no watch.
    watched[("metrics.k8s.io", "pods")] = {"get", "list"}
    watched[("metrics.k8s.io", "nodes")] = {"get", "list"}
    return watched


# The one grant scoped by name: `get` on kube-system/kube-proxy (k8s/proxyconfig.py reads the proxy's mode).
KUBE_PROXY_CONFIG_RULE = {
    "apiGroups": [""],
    "resources": ["configmaps"],
    "resourceNames": ["kube-proxy"],
    "verbs": ["get"],
}


def _grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule
        assert "resourceNames" not in rule or rule == KUBE_PROXY_CONFIG_RULE
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def _all_grants(directory: str) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for role in by_kind(render(directory), "ClusterRole") + by_kind(render(directory), "Role"):
        for key, verbs in _grants(role).items():
            grants.setdefault(key, set()).update(verbs)
    return grants


def test_the_reader_role_grants_exactly_what_the_backend_reads() -> None:
    reader = one(render("base"), "ClusterRole", "optimizer-reader")
    assert _grants(reader) == _watched()
    # Spelled out too, so a change to what the backend watches is a visible RBAC change.
    assert set(_grants(reader)) == {
        ("", "namespaces"),
        ("", "nodes"),
        ("", "pods"),
        ("", "services"),
        ("", "endpoints"),
        ("", "events"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("policy", "poddisruptionbudgets"),
        ("discovery.k8s.io", "endpointslices"),
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "ingressclasses"),
        ("metrics.k8s.io", "pods"),
        ("metrics.k8s.io", "nodes"),
    }


def test_the_default_install_has_no_write_verb_no_wildcard_and_no_secrets() -> None:
    grants = _all_grants("base")
    assert {verb for verbs in grants.values() for verb in verbs} <= READ_VERBS
    assert not [key for key in grants if "*" in key]
    assert not [key for key in grants if key[1] in {"secrets", "pods/exec", "pods/attach"}]
    # ConfigMaps only by name: kube-proxy's own.
    config_readers = [r for r in by_kind(render("base"), "ClusterRole") if ("", "configmaps") in _grants(r)]
    assert [r["rules"] for r in config_readers] == [[KUBE_PROXY_CONFIG_RULE]]
    assert by_kind(render("base"), "Role") == []


def test_the_reader_is_bound_only_to_the_backend_service_account() -> None:
    binding = one(render("base"), "ClusterRoleBinding", "optimizer-reader")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "optimizer-reader",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "optimizer-backend", "namespace": "k8s-optimizer"}
    ]
    bindings = by_kind(render("base"), "ClusterRoleBinding")
    assert [b["metadata"]["name"] for b in bindings] == ["optimizer-kube-proxy-config-reader", "optimizer-reader"]
    assert all(b["subjects"] == binding["subjects"] for b in bindings)
    assert by_kind(render("base"), "RoleBinding") == []


def test_the_apply_overlay_adds_only_patch_on_what_a_recommendation_changes() -> None:
    applier = one(render("overlays/apply"), "ClusterRole", "optimizer-applier")
    assert _grants(applier) == {
        ("apps", "deployments"): {"patch"},
        ("apps", "statefulsets"): {"patch"},
        ("apps", "daemonsets"): {"patch"},
        ("autoscaling", "horizontalpodautoscalers"): {"patch"},
    }
    grants = _all_grants("overlays/apply")
    assert not [key for key in grants if key[1] == "secrets"]
    assert {verb for verbs in grants.values() for verb in verbs} == READ_VERBS | {"patch"}


def test_the_apply_grant_is_bound_per_allowed_namespace_never_cluster_wide() -> None:
    """Issue 14 finding 5: the overlay granted patch in every namespace, kube-system included."""
    manifests = render("overlays/apply")
    assert [b["metadata"]["name"] for b in by_kind(manifests, "ClusterRoleBinding")] == [
        "optimizer-kube-proxy-config-reader",
        "optimizer-reader",
    ]
    bindings = by_kind(manifests, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["default", "k8s-optimizer"]
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "optimizer-applier",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "optimizer-backend", "namespace": "k8s-optimizer"}
        ]
    # the backend's own allow-list is the same list
    config = one(manifests, "ConfigMap", "optimizer-backend-config")["data"]
    assert config["OPTIMIZER_APPLY_NAMESPACES"] == "default,k8s-optimizer"


def test_the_committed_scope_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("apply_namespaces", DEPLOY / "overlays/apply/namespaces.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, content in module.render(["k8s-optimizer", "default"]).items():
        assert (DEPLOY / "overlays/apply" / name).read_text(encoding="utf-8") == content
    with pytest.raises(ValueError, match="no system namespace"):
        module.render(["shop", "kube-system"])


def test_the_apply_overlay_turns_apply_on_with_a_token_file_from_a_secret() -> None:
    manifests = render("overlays/apply")
    config = one(manifests, "ConfigMap", "optimizer-backend-config")["data"]
    assert config["OPTIMIZER_APPLY_ENABLED"] == "true"
    assert config["OPTIMIZER_APPLY_TOKEN_FILE"] == "/var/run/secrets/k8s-optimizer/apply/token"
    assert "OPTIMIZER_APPLY_TOKEN" not in config
    pod = one(manifests, "StatefulSet", "optimizer-backend")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "apply-token")
    assert volume["secret"]["secretName"] == "optimizer-apply-token"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "apply-token")
    assert mount == {"name": "apply-token", "mountPath": "/var/run/secrets/k8s-optimizer/apply", "readOnly": True}
    # No Secret is shipped: its value is created per cluster (make deploy-apply), never committed.
    assert by_kind(manifests, "Secret") == []
    base_config = one(render("base"), "ConfigMap", "optimizer-backend-config")["data"]
    assert base_config["OPTIMIZER_APPLY_ENABLED"] == "false"
