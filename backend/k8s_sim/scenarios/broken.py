"""The `broken` scenario: the design's troubleshooting cases, planted in namespace `broken`.

Each fault has a fixed name (docs/sim.md lists them; the optimizer's diagnosis tests assert them):

- Service `orphan-svc`: selector `app=does-not-exist` matches no pod → Endpoints without subsets.
- Service `web-misport` (Deployment `web-misport`, 2 Ready pods): named targetPort `metrics` matches no
  container port → Endpoints without subsets.
- Service + Deployment `never-ready` (2 pods): the readiness probe always fails → every address under
  notReadyAddresses, Unhealthy events.
- Deployment `crashloop` (1 pod): the container exits with code 1 five seconds after each start →
  CrashLoopBackOff, restartCount grows, BackOff events.
- HPA `no-requests` → Deployment `no-requests` (2 pods without CPU requests) → `<unknown>/50%`,
  currentMetrics `[{"type": ""}]`, ScalingActive=False FailedGetResourceMetric, Warning events.
- Pod `too-big`: requests 64 CPUs, more than any node has → Pending, PodScheduled=False Unschedulable,
  FailedScheduling.
"""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.kubelet import EXIT_AFTER_ANNOTATION as EXIT_AFTER, READINESS_ANNOTATION as READINESS
from k8s_sim.store import Obj, ObjectStore

NAMESPACE = "broken"
FAULTS: dict[str, str] = {
    "orphan-svc": "Service selector matches no pod",
    "web-misport": "Service named targetPort matches no container port",
    "never-ready": "pods never become Ready (failing readiness probe)",
    "crashloop": "container exits with code 1: CrashLoopBackOff",
    "no-requests": "HPA target pods have no CPU requests: <unknown>",
    "too-big": "pod requests more than any node can offer: Pending",
}


def _deployment(name: str, *, replicas: int, container: Obj, annotations: dict[str, str] | None = None) -> Obj:
    labels = {"app": name}
    template: Obj = {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}}
    if annotations:
        template["metadata"]["annotations"] = annotations
    return {
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": template},
    }


def _container(name: str, *, requests: Obj | None = None, probe: bool = False) -> Obj:
    container: Obj = {
        "name": name,
        "image": "nginx:1.27.2",
        "ports": [{"name": "http", "containerPort": 8080}],
    }
    if requests is not None:
        container["resources"] = {"requests": requests, "limits": {"memory": "128Mi"}}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5}
    return container


def _service(name: str, selector: dict[str, str], target_port: int | str) -> Obj:
    return {
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": target_port}]},
    }


def create(store: ObjectStore) -> None:
    store.create(r.NAMESPACES, {"metadata": {"name": NAMESPACE}})
    store.create(r.SERVICEACCOUNTS, {"metadata": {"name": "default", "namespace": NAMESPACE}})
    small = {"cpu": "50m", "memory": "64Mi"}
    store.create(r.SERVICES, _service("orphan-svc", {"app": "does-not-exist"}, "http"))
    store.create(r.DEPLOYMENTS, _deployment("web-misport", replicas=2, container=_container("web", requests=small)))
    store.create(r.SERVICES, _service("web-misport", {"app": "web-misport"}, "metrics"))
    store.create(
        r.DEPLOYMENTS,
        _deployment(
            "never-ready",
            replicas=2,
            container=_container("web", requests=small, probe=True),
            annotations={READINESS: "fail"},
        ),
    )
    store.create(r.SERVICES, _service("never-ready", {"app": "never-ready"}, "http"))
    store.create(
        r.DEPLOYMENTS,
        _deployment(
            "crashloop", replicas=1, container=_container("app", requests=small), annotations={EXIT_AFTER: "5"}
        ),
    )
    store.create(r.DEPLOYMENTS, _deployment("no-requests", replicas=2, container=_container("web")))
    store.create(
        r.HPAS,
        {
            "metadata": {"name": "no-requests", "namespace": NAMESPACE},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "no-requests"},
                "minReplicas": 2,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                    }
                ],
            },
        },
    )
    store.create(
        r.PODS,
        {
            "metadata": {"name": "too-big", "namespace": NAMESPACE, "labels": {"app": "too-big"}},
            "spec": {
                "containers": [
                    {"name": "app", "image": "nginx:1.27.2", "resources": {"requests": {"cpu": "64", "memory": "1Gi"}}}
                ]
            },
        },
    )
