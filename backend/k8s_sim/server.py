"""The embedded cluster's API server: the Kubernetes REST protocol over aiohttp, served from the ObjectStore.

Real clients (kubectl, `kubernetes`, kubernetes_asyncio) must not be able to tell this from a kube-apiserver
for everything the optimizer and its users do. This module routes request paths to the handlers (reads,
writes, watch, metrics, discovery, OpenAPI, /sim/v1) and assembles the aiohttp application. It knows nothing
about controllers: it reads and writes the store and asks the cluster only for metrics (metrics.k8s.io is
computed, not stored) and the /sim/v1 control verbs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from k8s_sim import discovery, reads, writes
from k8s_sim.control import Control, Handler, background, fault_middleware
from k8s_sim.faults import Faults
from k8s_sim.scrape.routes import add_scrape_routes
from k8s_sim.store import ApiError, ResourceType
from k8s_sim.watch import watch
from k8s_sim.wire import (
    METRICS_GROUP,
    Cluster,
    MetricsSource,
    Target,
    is_watch,
    json_response,
    method_not_allowed,
    status_response,
)

__all__ = ["Cluster", "KubeApi", "MetricsSource", "build_app"]


def _not_found(what: str = "") -> ApiError:
    return ApiError(404, "NotFound", f"the server could not find the requested resource{what}")


class KubeApi:
    """Routes /api and /apis paths to the verb handlers of one cluster."""

    def __init__(self, cluster: Cluster, faults: Faults, *, bookmark_interval_seconds: float = 10.0) -> None:
        self.cluster = cluster
        self.faults = faults
        self.bookmark_interval_seconds = bookmark_interval_seconds

    async def discovery_root(self, request: web.Request) -> web.Response:
        if request.path.rstrip("/") == "/api":
            return json_response(discovery.api_versions(request.host))
        return json_response(discovery.api_group_list(self.cluster.store.types()))

    async def core(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.match_info["tail"].split("/") if s]
        version, rest = (segments[0], segments[1:]) if segments else ("", [])
        return await self._dispatch(request, "", version, rest)

    async def grouped(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.match_info["tail"].split("/") if s]
        if len(segments) == 1:
            group = discovery.api_group(self.cluster.store.types(), segments[0])
            if group is None:
                raise _not_found(f" (group {segments[0]})")
            return json_response(group)
        return await self._dispatch(request, segments[0], segments[1], segments[2:])

    async def _dispatch(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        if not rest:
            resources = discovery.api_resource_list(self.cluster.store.types(), group, version)
            if resources is None:
                raise _not_found()
            return json_response(resources)
        target = self._target(group, version, rest)
        if target.rt.group == METRICS_GROUP:
            return reads.metrics(self.cluster, request, target)
        return await self._verb(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        """[namespaces/{ns}/]{plural}[/{name}[/{subresource}]] → Target, or 404 like the real server."""
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and self._type(group, version, rest[2]) is not None:
            namespace, rest = rest[1], rest[2:]
        rt = self._type(group, version, rest[0])
        if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
            raise _not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and subresource not in rt.subresources:
            raise _not_found(f" ({rt.plural}/{subresource})")
        if name is not None and rt.namespaced and namespace is None:
            raise _not_found()
        return Target(rt, namespace, name, subresource)

    def _type(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.cluster.store.type_for(group, plural)
        return rt if rt is not None and rt.version == version else None

    async def _verb(self, request: web.Request, target: Target) -> web.StreamResponse:
        store, method = self.cluster.store, request.method
        if target.name is None:
            if method == "GET" and is_watch(request):
                return await watch(self.cluster, self.faults, self.bookmark_interval_seconds, request, target)
            if method == "GET":
                return reads.list_collection(self.cluster, request, target)
            if method == "POST":
                return await writes.create(store, request, target)
            if method == "DELETE":
                return await writes.delete_collection(store, request, target)
        elif method == "GET":
            return reads.get(self.cluster, request, target)
        else:
            handler = {"PUT": writes.update, "PATCH": writes.patch, "DELETE": writes.delete}.get(method)
            if handler is not None:
                return await handler(store, request, target)
        raise method_not_allowed(method.lower(), target.rt)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return status_response(error)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _version(request: web.Request) -> web.Response:
    return json_response(discovery.version())


def _openapi(cluster: Cluster) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        tail = request.match_info.get("tail", "").strip("/")
        types = cluster.store.types()
        if not tail:
            return json_response(discovery.openapi_v3_root(types))
        parts = tail.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else (parts[-2], parts[-1])
        document = discovery.openapi_v3_group(types, group, version) if len(parts) in (2, 3) else None
        if document is None:
            raise _not_found()
        return json_response(document)

    return serve


def _end_watches(cluster: Cluster) -> Callable[[web.Application], Awaitable[None]]:
    async def end(app: web.Application) -> None:
        cluster.store.drop_all_watches()  # open watches would otherwise hold shutdown for their timeout

    return end


def build_app(cluster: Cluster, faults: Faults, *, bookmark_interval_seconds: float = 10.0) -> web.Application:
    """The aiohttp application serving the Kubernetes API and /sim/v1 for `cluster`."""
    api = KubeApi(cluster, faults, bookmark_interval_seconds=bookmark_interval_seconds)
    app = web.Application(middlewares=[_errors, fault_middleware(faults)], client_max_size=64 * 1024 * 1024)
    router = app.router
    router.add_get("/version", _version)
    router.add_get("/version/", _version)  # kubernetes_asyncio's VersionApi asks with a trailing slash
    for probe in ("/healthz", "/livez", "/readyz"):
        router.add_get(probe, _ok)
    router.add_get("/openapi/v3", _openapi(cluster))
    router.add_get("/openapi/v3/{tail:.+}", _openapi(cluster))
    router.add_get("/api", api.discovery_root)
    router.add_get("/apis", api.discovery_root)
    add_scrape_routes(router, cluster)  # node/service/pod proxy paths: before the generic /api route
    router.add_route("*", "/api/{tail:.+}", api.core)
    router.add_route("*", "/apis/{tail:.+}", api.grouped)
    Control(cluster, faults).routes(router)
    app.cleanup_ctx.append(background(cluster, faults))
    app.on_shutdown.append(_end_watches(cluster))
    return app
