"""The /sim/v1 control endpoints and the fault machinery that acts on API requests.

Tests and the demo steer the simulation here (jump time, switch load, inject faults, read status). The
fault middleware applies the current FaultSpec to every Kubernetes API request, never to /sim/v1 itself,
so a test can always turn faults off again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeGuard

from aiohttp import web
from aiohttp.typedefs import Middleware

from k8s_sim.faults import Faults, FaultSpecError, parse_faults
from k8s_sim.store import ApiError
from k8s_sim.wire import METRICS_GROUP, Cluster, Obj, bad_request, json_response, read_json, status_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
_MESSAGES = {
    429: "too many requests, please try again later",
    500: "an error on the server",
    503: "the server is currently unable to handle the request",
}


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


async def _body(request: web.Request) -> Obj:
    body = await read_json(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _check_load_body(body: Obj) -> None:
    for field in ("namespace", "name"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise bad_request(f"{field}: required, a non-empty string")
    if not isinstance(body.get("enabled"), bool):
        raise bad_request("enabled: required, true or false")
    rps = body.get("rps")
    if rps is not None and (not _is_number(rps) or rps < 0):
        raise bad_request("rps: must be a non-negative number or null")


class Control:
    """Test and demo controls: time, load, faults and status."""

    def __init__(self, cluster: Cluster, faults: Faults) -> None:
        self.cluster = cluster
        self.faults = faults

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/sim/v1/status", self.status)
        router.add_get("/sim/v1/faults", self.get_faults)
        router.add_post("/sim/v1/faults", self.set_faults)
        router.add_post("/sim/v1/advance", self.advance)
        router.add_post("/sim/v1/load", self.load)

    async def status(self, request: web.Request) -> web.Response:
        status = self.cluster.status()
        return json_response({**status, "revision": self.cluster.store.revision, "faults": self.faults.describe()})

    async def get_faults(self, request: web.Request) -> web.Response:
        return json_response(self.faults.describe())

    async def set_faults(self, request: web.Request) -> web.Response:
        spec = (await _body(request)).get("spec", "")
        if not isinstance(spec, str):
            raise bad_request("spec: must be a string like 'watch-drop=5,error-rate=0.2'")
        try:
            self.faults.set(parse_faults(spec))
        except FaultSpecError as error:
            raise bad_request(f"spec: {error}") from None
        return json_response(self.faults.describe())

    async def advance(self, request: web.Request) -> web.Response:
        seconds = (await _body(request)).get("seconds")
        if not _is_number(seconds) or seconds < 0:
            raise bad_request("seconds: required, a non-negative number of simulated seconds")
        await self.cluster.advance(float(seconds))
        return json_response(self.cluster.status())

    async def load(self, request: web.Request) -> web.Response:
        body = await _body(request)
        _check_load_body(body)
        rps = None if body.get("rps") is None else float(body["rps"])
        try:
            self.cluster.set_load(body["namespace"], body["name"], enabled=body["enabled"], rps=rps)
        except KeyError as error:
            raise ApiError(404, "NotFound", f"no load source for {body['namespace']}/{body['name']}: {error}") from None
        return json_response(self.cluster.status())


def fault_middleware(faults: Faults) -> Middleware:
    """Latency, injected 429/500/503 and the metrics outage, for every request outside /sim/."""

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/sim/"):
            return await handler(request)
        spec = faults.spec
        if spec.latency_ms > 0:
            await asyncio.sleep(spec.latency_ms / 1000)
        code = faults.injected_error()
        if code is not None:
            return _injected(code, spec.retry_after_seconds)
        if request.path.startswith(f"/apis/{METRICS_GROUP}") and faults.metrics_unavailable():
            return status_response(ApiError(503, "ServiceUnavailable", _MESSAGES[503]))
        return await handler(request)

    return inject


def _injected(code: int, retry_after_seconds: int | None) -> web.Response:
    details: Obj = {} if retry_after_seconds is None else {"retryAfterSeconds": retry_after_seconds}
    headers = None if retry_after_seconds is None else {"Retry-After": str(retry_after_seconds)}
    error = ApiError(code, _REASONS[code], f"injected fault: {_MESSAGES[code]}", details=details)
    return status_response(error, headers)


def background(cluster: Cluster, faults: Faults) -> Callable[[web.Application], AsyncIterator[None]]:
    """The expire-rv fault's compaction loop, for the app's lifetime (aiohttp cleanup context)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_expire_resource_versions(cluster, faults))
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return run


async def _expire_resource_versions(cluster: Cluster, faults: Faults) -> None:
    """Fault `expire-rv=S`: compact the event log every S seconds so resumes get 410 Gone."""
    while True:
        interval = faults.spec.expire_rv_seconds
        await asyncio.sleep(interval or 0.5)
        if interval and faults.spec.expire_rv_seconds == interval:
            cluster.store.compact()
