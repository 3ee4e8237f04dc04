"""The `demo` scenario: the design's 3-node kind cluster with the optimizer and its demo workloads.

The k8s-optimizer namespace is built by applying the project's own deploy/base and deploy/demo
kustomize directories through the store (as `kubectl apply -k` would), so the demo and the real
deployment cannot drift apart. Only the simulation's usage model is added here, as
`sim.k8s-optimizer.io/*` annotations on the pod templates (documented in sim/load.py):

- echo-demo: light traffic of its own plus load-gen's; CPU-bound enough that the HPA (2–10 at 50 %)
  scales it up during load-gen's bursts and back down 5 minutes after them.
- high-cpu-app: under-provisioned — wants a full core against a 100m request, throttled at its 500m limit.
- memory-intensive-app: ~250 MiB at rest, a per-request working set that crosses its memory limit in
  traffic bursts, so it is OOMKilled now and then (and restarts with back-off).
- optimizer-backend / optimizer-dashboard: over-provisioned — use a fraction of their requests.

If the manifests are missing or unreadable, built-in equivalents are used (and a warning is logged).
"""

from __future__ import annotations

import base64
import copy
import logging
import secrets
from typing import Any

from k8s_sim.load import PREFIX
from k8s_sim.scenarios.manifests import ManifestError, load_kustomization, manifests_root
from k8s_sim.store import ApiError, Obj, ObjectStore

log = logging.getLogger(__name__)
NAMESPACE = "k8s-optimizer"

USAGE: dict[str, dict[str, str]] = {
    "echo-demo": {
        "rps": "2",
        "cpu-per-request-millicores": "6",
        "cpu-baseline-millicores": "3",
        "memory-baseline-mib": "28",
        "memory-per-request-kib": "256",
    },
    "load-gen": {
        "drives": "echo-demo",
        "rps": "12",
        "burst-factor": "2.5",
        "burst-probability": "0.2",
        "diurnal-amplitude": "0.2",
        "cpu-baseline-millicores": "4",
        "memory-baseline-mib": "6",
    },
    "high-cpu-app": {"cpu-demand-millicores": "1000", "memory-baseline-mib": "40"},
    "memory-intensive-app": {
        "rps": "5",
        "memory-baseline-mib": "250",
        "memory-per-request-kib": str(30 * 1024),
        "burst-factor": "3",
        "burst-probability": "0.15",
        "cpu-baseline-millicores": "3",
        "cpu-per-request-millicores": "0.5",
    },
    "optimizer-backend": {
        "rps": "3",
        "cpu-baseline-millicores": "8",
        "cpu-per-request-millicores": "3",
        "memory-baseline-mib": "95",
        "memory-leak-mib-per-hour": "1",
    },
    "optimizer-dashboard": {"rps": "1", "cpu-baseline-millicores": "1", "memory-baseline-mib": "6"},
}


def annotate_usage(obj: Obj) -> Obj:
    """Add the usage model annotations for this object's workload (pod template or bare pod)."""
    usage = USAGE.get(obj["metadata"]["name"])
    if not usage:
        return obj
    annotations = {PREFIX + key: value for key, value in usage.items()}
    if obj["kind"] == "Pod":
        target = obj["metadata"]
    elif "template" in obj.get("spec", {}):
        target = obj["spec"]["template"].setdefault("metadata", {})
    else:
        return obj
    target["annotations"] = {**(target.get("annotations") or {}), **annotations}
    return obj


def demo_objects() -> list[Obj]:
    """The k8s-optimizer namespace's objects: from deploy/base + deploy/demo, else built in."""
    root = manifests_root()
    try:
        objects = with_read_token(load_kustomization(root / "base") + load_kustomization(root / "demo"))
    except ManifestError as error:
        log.warning("demo: manifests unusable (%s); using built-in equivalents", error)
        objects = builtin_objects()
    return [annotate_usage(copy.deepcopy(obj)) for obj in objects]


def with_read_token(objects: list[Obj]) -> list[Obj]:
    """deploy/base reads its token from a Secret that is never shipped (`make deploy` creates it on kind);
    the demo creates it the same way, right after the namespace, so the pods can start."""
    after_namespace = next((i + 1 for i, obj in enumerate(objects) if obj.get("kind") == "Namespace"), 0)
    return [*objects[:after_namespace], read_token_secret(), *objects[after_namespace:]]


def read_token_secret() -> Obj:
    token = base64.b64encode(secrets.token_urlsafe(32).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "optimizer-read-token", "namespace": "k8s-optimizer"},
        "type": "Opaque",
        "data": {"token": token},
    }


def apply_objects(store: ObjectStore, objects: list[Obj]) -> list[str]:
    """Create every object whose kind the cluster serves; returns what was skipped (logged)."""
    skipped = []
    for obj in objects:
        api_version = str(obj.get("apiVersion", "v1"))
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        rt = store.type_of_kind(str(obj.get("kind")), group)
        if rt is None:
            skipped.append(f"{obj.get('kind')}/{obj['metadata'].get('name')}")
            continue
        body = copy.deepcopy(obj)
        if rt.namespaced:
            body["metadata"].setdefault("namespace", "default")
        try:
            store.create(rt, body)
        except ApiError as error:
            if error.code != 409:
                log.warning("demo: %s %s rejected: %s", obj.get("kind"), obj["metadata"].get("name"), error.message)
                skipped.append(f"{obj.get('kind')}/{obj['metadata'].get('name')}")
    if skipped:
        log.info("demo: not served, skipped: %s", ", ".join(skipped))
    return skipped


# -- built-in equivalents (only when deploy/ is unusable) -------------------------------------------------
def _workload(name: str, image: str, replicas: int, resources: Obj, port: int | None = None) -> Obj:
    labels = {"app": name, "app.kubernetes.io/name": name}
    container: Obj = {"name": name.split("-")[0], "image": image, "resources": resources}
    if port is not None:
        container["ports"] = [{"name": "http", "containerPort": port}]
        container["readinessProbe"] = {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}},
        },
    }


def _service(name: str, port: int, target: Any, node_port: int | None = None) -> Obj:
    spec: Obj = {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": target}]}
    if node_port is not None:
        spec["type"] = "NodePort"
        spec["ports"][0]["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Obj:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def builtin_objects() -> list[Obj]:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "echo-demo-hpa", "namespace": NAMESPACE},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo-demo"},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
    }
    load_gen = _workload("load-gen", "busybox:1.36.1", 1, _resources("10m", "16Mi", "100m", "32Mi"))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "load-gen", "namespace": NAMESPACE, "labels": {"app": "load-gen"}},
        "spec": load_gen["spec"]["template"]["spec"],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        _workload(
            "optimizer-backend", "k8s-optimizer-backend:0.1.0", 2, _resources("100m", "256Mi", "1", "512Mi"), 8080
        ),
        _service("optimizer-backend", 8080, "http", 30081),
        _workload(
            "optimizer-dashboard", "k8s-optimizer-dashboard:0.1.0", 2, _resources("20m", "32Mi", "200m", "128Mi"), 8080
        ),
        _service("optimizer-dashboard", 80, "http", 30080),
        _workload("echo-demo", "ealen/echo-server:0.9.2", 3, _resources("50m", "64Mi", "200m", "128Mi"), 8080),
        _service("echo-demo", 80, "http"),
        hpa,
        _workload("high-cpu-app", "polinux/stress:1.0.4", 2, _resources("100m", "64Mi", "500m", "128Mi")),
        _workload("memory-intensive-app", "polinux/stress:1.0.4", 1, _resources("50m", "256Mi", "200m", "512Mi")),
        pod,
    ]
