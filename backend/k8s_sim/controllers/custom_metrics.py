"""custom.metrics.k8s.io as the sim's HPA controller sees it: `Pods` metrics from the load model.

Why: an HPA on requests per second per pod (`type: Pods`, `averageValue`) is how many services scale, and
the optimizer replays such HPAs from Prometheus. On a real cluster prometheus-adapter serves the metric
from `rate(http_requests_total[…])`; here the controller reads the same quantity straight from the load
model — the requests/s each pod served in the latest sample, the rate of the `http_requests_total`
counter the pod's /metrics exposes — so a `Pods` HPA really scales. The metric names are the adapter's
usual ones for that counter; any other `Pods` metric has no source (the HPA shows `<unknown>`).
"""

from __future__ import annotations

from k8s_sim.controllers.base import Key
from k8s_sim.load import LoadModel

REQUESTS_METRICS = ("http_requests_per_second", "http_requests")
RESOURCES = ("cpu", "memory")


def is_pods_metric(name: str) -> bool:
    return name not in RESOURCES


def pod_value_milli(load: LoadModel, key: Key, name: str) -> int | None:
    """The pod's current value of a `Pods` metric in milli-units, or None (no sample / unknown metric)."""
    if name not in REQUESTS_METRICS or key not in load.pod_rps:
        return None
    return round(load.pod_rps[key] * 1000)
