"""The API server paths a Prometheus scrapes the embedded cluster through, as on a real cluster.

- `GET /api/v1/nodes/{node}/proxy/metrics/cadvisor` and `.../proxy/metrics/resource`: the kubelet endpoints
  through the node proxy (the path kube-prometheus' `kubernetes-cadvisor` job uses);
- `GET /api/v1/namespaces/kube-system/services/kube-state-metrics:http-metrics/proxy/metrics`: the service
  proxy to kube-state-metrics (the Service exists in kube-system; `[http:]name[:port]` like the real proxy);
- `GET /api/v1/namespaces/{ns}/pods/{pod}[:port]/proxy/metrics`: an application pod's own `/metrics`.

Answers are the text format 0.0.4 a kubelet or exporter gives; unknown objects get the API server's 404
Status, a Service other than kube-state-metrics gets the proxy's 503 (its pods serve no /metrics page).
"""

from __future__ import annotations

from aiohttp import web

from k8s_sim import resources as r
from k8s_sim.scrape.exposition import TEXT_CONTENT_TYPE, Family, render_text
from k8s_sim.scrape.source import ScrapeSource
from k8s_sim.store import ApiError, ObjectStore

KSM_NAMESPACE = "kube-system"
KSM_SERVICE = "kube-state-metrics"
KSM_PORT = "http-metrics"
CADVISOR_PATH = "/api/v1/nodes/{node}/proxy/metrics/cadvisor"
RESOURCE_PATH = "/api/v1/nodes/{node}/proxy/metrics/resource"
SERVICE_PATH = "/api/v1/namespaces/{namespace}/services/{service}/proxy/metrics"
POD_PATH = "/api/v1/namespaces/{namespace}/pods/{pod}/proxy/metrics"


def _not_found(kind: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{kind} "{name}" not found')


def _text(families: list[Family] | str) -> web.Response:
    response = web.Response(text=families if isinstance(families, str) else render_text(families))
    response.headers["Content-Type"] = TEXT_CONTENT_TYPE
    return response


def proxy_name(raw: str) -> tuple[str, str]:
    """`[scheme:]name[:port]` of a proxy path → (name, port); the port may be empty."""
    parts = raw.split(":")
    if len(parts) == 3 or (len(parts) == 2 and parts[0] in ("http", "https")):
        parts = parts[1:]
    return parts[0], parts[1] if len(parts) > 1 else ""


class ScrapeRoutes:
    def __init__(self, store: ObjectStore, source: ScrapeSource) -> None:
        self.store = store
        self.source = source

    def add_to(self, router: web.UrlDispatcher) -> None:
        """Register before the generic /api route, so these paths never reach the REST dispatcher."""
        router.add_get(CADVISOR_PATH, self.cadvisor)
        router.add_get(RESOURCE_PATH, self.resource)
        router.add_get(SERVICE_PATH, self.service)
        router.add_get(POD_PATH, self.pod)

    def _node(self, request: web.Request) -> str:
        name, _ = proxy_name(request.match_info["node"])
        if self.store.get(r.NODES, "", name) is None:
            raise _not_found("nodes", name)
        return name

    async def cadvisor(self, request: web.Request) -> web.Response:
        return _text(self.source.kubelet.cadvisor(self._node(request)))

    async def resource(self, request: web.Request) -> web.Response:
        return _text(self.source.kubelet.resource(self._node(request)))

    async def service(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        name, port = proxy_name(request.match_info["service"])
        service = self.store.get(r.SERVICES, namespace, name)
        if service is None:
            raise _not_found("services", name)
        ports = {str(p.get("name", "")) for p in service["spec"].get("ports") or ()}
        ports |= {str(p.get("port")) for p in service["spec"].get("ports") or ()}
        if (namespace, name) != (KSM_NAMESPACE, KSM_SERVICE) or (port and port not in ports):
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        return _text(self.source.state.text())

    async def pod(self, request: web.Request) -> web.Response:
        namespace = request.match_info["namespace"]
        name, _ = proxy_name(request.match_info["pod"])
        families = self.source.traffic.pod((namespace, name))
        if families is None:
            if self.store.get(r.PODS, namespace, name) is None:
                raise _not_found("pods", name)
            raise web.HTTPNotFound(text="404 page not found\n")
        return _text(families)


def add_scrape_routes(router: web.UrlDispatcher, cluster: object) -> None:
    """The scrape paths of a cluster that has a ScrapeSource (the EmbeddedCluster; test fakes have none)."""
    source = getattr(cluster, "scrape", None)
    store = getattr(cluster, "store", None)
    if isinstance(source, ScrapeSource) and isinstance(store, ObjectStore):
        ScrapeRoutes(store, source).add_to(router)
