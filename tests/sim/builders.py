"""Object factories for the API server tests: minimal but complete objects, keyword overrides."""

from __future__ import annotations

from k8s_sim.resources import NAMESPACES
from k8s_sim.store import Obj, ObjectStore


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def pod(
    name: str,
    ns: str = "default",
    labels: dict[str, str] | None = None,
    node: str = "",
    phase: str = "Running",
    uid_owner: str | None = None,
) -> Obj:
    metadata: Obj = {"name": name, "namespace": ns, "labels": labels or {}}
    if uid_owner:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid_owner, "controller": True}
        ]
    spec: Obj = {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": {"phase": phase}}


def deployment(name: str, ns: str = "default", replicas: int = 2) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "env": [{"name": "A", "value": "1"}],
                            "ports": [{"containerPort": 80}],
                        },
                        {"name": "sidecar", "image": "envoy:1.30"},
                    ]
                },
            },
        },
    }


def seed_namespaces(store: ObjectStore, *names: str) -> None:
    for name in names:
        store.create(NAMESPACES, namespace(name))
