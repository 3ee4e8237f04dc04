"""Render the project's kustomizations the way `kubectl apply -k` does, for the deploy tests.

Rendering goes through the real kustomize (kubectl's built-in one), so what the tests check is byte for
byte what a user applies. Rendered documents are cached per directory: kustomize is deterministic and the
tests only read them.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUSTOMIZATIONS = ("base", "demo", "metrics-server", "overlays/apply", "overlays/prometheus")
# The Kubernetes minor the kind node image pins (kind-config.yaml); schemas are validated against it.
KUBERNETES_VERSION = "1.31.0"
NAMESPACE = "k8s-optimizer"
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")

Manifest = dict[str, Any]


def kubectl() -> str:
    """kubectl's path, or skip: kustomize rendering needs it (Debian 12 images ship it)."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip(
            "kubectl is not installed: the deploy tests render kustomizations with `kubectl kustomize`",
            allow_module_level=True,
        )
    return found


@functools.cache
def _render_text(directory: str) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / directory)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize deploy/{directory} failed:\n{result.stderr}"
    return result.stdout


def render(directory: str) -> list[Manifest]:
    """The documents `kubectl apply -k deploy/<directory>` would send, in kustomize's order."""
    return [doc for doc in yaml.safe_load_all(_render_text(directory)) if doc]


def render_text(directory: str) -> str:
    return _render_text(directory)


def by_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(manifest: Manifest) -> Manifest | None:
    """The pod spec of a Pod or of a workload's template; None for anything else."""
    if manifest["kind"] == "Pod":
        spec: Manifest = manifest["spec"]
        return spec
    if manifest["kind"] in POD_TEMPLATE_KINDS:
        template_spec: Manifest = manifest["spec"]["template"]["spec"]
        return template_spec
    return None


def pod_labels(manifest: Manifest) -> dict[str, str]:
    if manifest["kind"] == "Pod":
        labels: dict[str, str] = manifest["metadata"].get("labels", {})
        return labels
    template_labels: dict[str, str] = manifest["spec"]["template"]["metadata"].get("labels", {})
    return template_labels


def containers(spec: Manifest) -> Iterator[Manifest]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def name_of(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def is_showcase(manifest: Manifest) -> bool:
    """Demo apps that are mis-sized on purpose carry this annotation and are exempt from the self-review."""
    annotations = manifest["metadata"].get("annotations", {})
    return bool(annotations.get("k8s-optimizer/showcase") == "true")
