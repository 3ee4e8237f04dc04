"""Every pod the project ships (optimizer, demo, metrics-server) is hardened the same way.

These are the Pod Security Standards' "restricted" rules (the optimizer namespace enforces that level) plus
the resource and probe rules the optimizer itself recommends: requests and limits, both probes, pinned images.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.manifests import containers, name_of, one, pod_spec, render

PODS = [
    pytest.param(manifest, id=f"{directory}:{name_of(manifest)}")
    for directory in ("base", "demo", "metrics-server", "overlays/apply", "overlays/prometheus")
    for manifest in render(directory)
    if pod_spec(manifest) is not None
]


def _effective(spec: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    """A container-level securityContext setting, falling back to the pod level (as the kubelet does)."""
    container_context = container.get("securityContext", {})
    if key in container_context:
        return container_context[key]
    return spec.get("securityContext", {}).get(key)


@pytest.mark.parametrize("manifest", PODS)
def test_pods_run_as_non_root_without_privileges(manifest: dict[str, Any]) -> None:
    spec = pod_spec(manifest)
    assert spec is not None
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(key, False)
    for container in containers(spec):
        context = container.get("securityContext", {})
        assert _effective(spec, container, "runAsNonRoot") is True
        assert _effective(spec, container, "runAsUser") not in (None, 0)
        assert context.get("allowPrivilegeEscalation") is False
        assert context.get("privileged", False) is False
        assert context.get("readOnlyRootFilesystem") is True
        assert context.get("capabilities", {}).get("drop") == ["ALL"]
        assert "add" not in context.get("capabilities", {})
        assert _effective(spec, container, "seccompProfile") == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("manifest", PODS)
def test_containers_have_requests_limits_and_both_probes(manifest: dict[str, Any]) -> None:
    spec = pod_spec(manifest)
    assert spec is not None
    for container in spec["containers"]:
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}
        assert "readinessProbe" in container
        assert "livenessProbe" in container


@pytest.mark.parametrize("manifest", PODS)
def test_images_are_pinned(manifest: dict[str, Any]) -> None:
    spec = pod_spec(manifest)
    assert spec is not None
    for container in containers(spec):
        image = container["image"]
        tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
        assert tag not in ("", "latest"), image
        assert any(char.isdigit() for char in tag), image
        assert container.get("imagePullPolicy") == "IfNotPresent"
        # A tag can be re-pushed; a pulled image is pinned by digest. Our own two images are built and loaded
        # into kind by `make images` (no registry, hence no digest to pin).
        if not image.startswith("k8s-optimizer-"):
            assert re.fullmatch(r"[^@]+:[^@/]+@sha256:[0-9a-f]{64}", image), image


@pytest.mark.parametrize("manifest", PODS)
def test_only_api_clients_get_a_service_account_token(manifest: dict[str, Any]) -> None:
    spec = pod_spec(manifest)
    assert spec is not None
    name = manifest["metadata"]["name"]
    if name == "optimizer-backend":
        assert spec["automountServiceAccountToken"] is True
    elif name == "metrics-server":
        assert spec.get("automountServiceAccountToken", True) is True
    else:
        assert spec["automountServiceAccountToken"] is False


@pytest.mark.parametrize("manifest", PODS)
def test_read_only_root_filesystems_get_a_writable_tmp(manifest: dict[str, Any]) -> None:
    spec = pod_spec(manifest)
    assert spec is not None
    empty_dirs = {volume["name"] for volume in spec.get("volumes", []) if "emptyDir" in volume}
    for container in spec["containers"]:
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        uses_tmp = manifest["metadata"]["name"] in {"optimizer-backend", "optimizer-dashboard", "metrics-server"}
        if uses_tmp:
            assert mounts.get("/tmp") in empty_dirs


def test_the_optimizer_namespace_enforces_the_restricted_pod_security_level() -> None:
    namespace = one(render("base"), "Namespace", "k8s-optimizer")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_backend_keeps_history_on_one_volume_per_replica() -> None:
    backend = one(render("base"), "StatefulSet", "optimizer-backend")
    assert backend["spec"]["replicas"] == 2
    [claim] = backend["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "history"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = backend["spec"]["template"]["spec"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "history")
    config = one(render("base"), "ConfigMap", "optimizer-backend-config")["data"]
    assert mount["mountPath"] == config["OPTIMIZER_DATA_DIR"] == "/var/lib/k8s-optimizer"
    # The non-root user can write the volume: the pod's fsGroup owns it.
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"] == 10001


def test_probes_hit_the_documented_endpoints() -> None:
    backend = one(render("base"), "StatefulSet", "optimizer-backend")["spec"]["template"]["spec"]["containers"][0]
    assert backend["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert backend["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    dashboard = one(render("base"), "Deployment", "optimizer-dashboard")["spec"]["template"]["spec"]["containers"][0]
    assert dashboard["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert dashboard["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
