"""`k8s-optimizer sim --pods-hpa`: a service scaled by a `Pods`-metric HPA on requests per second per pod.

Why a knob and not part of the demo: the demo's layout is pinned by deploy/ and by what the optimizer's
demo tests expect; this workload is for the Prometheus path (HPA replay from `http_requests_total`), so a
run asks for it. Namespace `rps-demo`: Deployment + Service `rps-api` (30 requests/s baseline, the daily
curve, bursts of ×2) and HPA `rps-api` (1–8 replicas at 10 requests/s per pod on
`http_requests_per_second`, the sim's custom-metrics source).
"""

from __future__ import annotations

from k8s_sim.load import PREFIX
from k8s_sim.store import Obj

NAMESPACE = "rps-demo"
NAME = "rps-api"
TARGET_RPS_PER_POD = "10"


def objects() -> list[Obj]:
    labels = {"app": NAME}
    annotations = {
        PREFIX + "rps": "30",
        PREFIX + "burst-factor": "2",
        PREFIX + "cpu-per-request-millicores": "2",
        PREFIX + "memory-per-request-kib": "256",
    }
    container = {
        "name": "api",
        "image": "ealen/echo-server:0.9.2",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
    }
    template = {"metadata": {"labels": dict(labels), "annotations": annotations}, "spec": {"containers": [container]}}
    metric = {
        "type": "Pods",
        "pods": {
            "metric": {"name": "http_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": TARGET_RPS_PER_POD},
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(labels)},
            "spec": {"replicas": 3, "selector": {"matchLabels": dict(labels)}, "template": template},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(labels)},
            "spec": {"selector": dict(labels), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(labels)},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                "minReplicas": 1,
                "maxReplicas": 8,
                "metrics": [metric],
            },
        },
    ]
