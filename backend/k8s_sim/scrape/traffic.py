"""Per-pod request counters: what an instrumented service (or its mesh sidecar) exposes on `/metrics`.

Why: HPAs on `Pods`/`Object` metrics (requests per second per pod) and the question "is traffic still
running?" need request counts, which metrics.k8s.io does not have. Each pod behind a Service counts the
requests the load model routes to it (`rps × 15 s` per sample, see counters.py) as
`http_requests_total{namespace, pod, service}`; a Prometheus scraping every pod (kubernetes_sd role pod,
or the file_sd targets `k8s_sim.scrape.promconfig` writes) then has `rate(http_requests_total[1m])` per pod,
which is the `http_requests_per_second` the sim's HPA controller reads for a `Pods` metric.
"""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.admission import selector_matches
from k8s_sim.controllers.base import Key
from k8s_sim.load import LoadModel
from k8s_sim.scrape.counters import CounterBank
from k8s_sim.scrape.exposition import Family, labels_of
from k8s_sim.store import Obj, ObjectStore

REQUESTS_HELP = "Total number of HTTP requests the pod served."


def service_of(store: ObjectStore, pod: Obj) -> str | None:
    """The first Service (by name) in the pod's namespace whose selector picks the pod, or None."""
    labels = pod["metadata"].get("labels") or {}
    for service in store.list_objects(r.SERVICES, pod["metadata"]["namespace"]):
        selector = (service.get("spec") or {}).get("selector")
        if selector and selector_matches({"matchLabels": selector}, labels):
            return str(service["metadata"]["name"])
    return None


class TrafficMetrics:
    def __init__(self, store: ObjectStore, load: LoadModel, bank: CounterBank) -> None:
        self.store = store
        self.load = load
        self.bank = bank

    def pod(self, key: Key) -> list[Family] | None:
        """The pod's own `/metrics`; None when the pod does not exist or serves no Service (no such page)."""
        pod = self.store.get(r.PODS, *key)
        if pod is None:
            return None
        service = service_of(self.store, pod)
        if service is None:
            return None
        family = Family("http_requests_total", "counter", REQUESTS_HELP)
        if key in self.load.pods:
            family.add(labels_of(namespace=key[0], pod=key[1], service=service), self.bank.pod_requests.get(key, 0.0))
        return [family]
