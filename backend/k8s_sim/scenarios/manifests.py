"""Read the project's own kustomize directories (deploy/base, deploy/demo) so the demo cannot drift from them.

Only what those directories use is supported: `kustomization.yaml` with `resources:` (files or nested
kustomize directories) and an optional `namespace:` applied to every namespaced object. The directory is
found relative to the repository, or from the OPTIMIZER_SIM_MANIFESTS environment variable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)
ENV_VAR = "OPTIMIZER_SIM_MANIFESTS"
# kinds applied first: what others refer to must exist before them
_ORDER = ["Namespace", "ServiceAccount", "ConfigMap", "Service", "StatefulSet", "Deployment", "DaemonSet"]
_CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "Node", "APIService", "PriorityClass"}


class ManifestError(ValueError):
    """A kustomize directory that cannot be read."""


def manifests_root() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "deploy"


def load_kustomization(directory: Path) -> list[dict[str, Any]]:
    """Every object of a kustomize directory, with its `namespace:` applied, in apply order."""
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise ManifestError(f"{path}: no kustomization.yaml")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: {error}") from error
    namespace = config.get("namespace")
    objects: list[dict[str, Any]] = []
    for entry in config.get("resources") or ():
        target = directory / str(entry)
        objects.extend(load_kustomization(target) if target.is_dir() else _load_file(target))
    if namespace:
        for obj in objects:
            if obj.get("kind") not in _CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    return sorted(objects, key=lambda o: _ORDER.index(o["kind"]) if o.get("kind") in _ORDER else len(_ORDER))


def _load_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ManifestError(f"{path}: listed in resources but missing")
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: {error}") from error
    objects = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind")]
    for obj in objects:
        if not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
            raise ManifestError(f"{path}: a {obj.get('kind')} without metadata.name")
    return objects
