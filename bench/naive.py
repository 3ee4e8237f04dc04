"""The naive design, for comparison: list from the API server on every request (what the original did).

A tiny server answering `GET /api/v1/services?limit=N` like the backend does, but computed per request
from fresh lists of Services, Endpoints and Pods fetched from the API server (raw JSON over one pooled
HTTP session — already kinder than the original's client-library calls). It runs as its own process:
`python -m bench.naive '{"sim_url": ..., "port": ...}'` and serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
from aiohttp import web


async def _list(session: aiohttp.ClientSession, base: str, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        url = f"{base}{path}?limit=500" + (f"&continue={token}" if token else "")
        async with session.get(url) as response:
            body = await response.json()
        items.extend(body["items"])
        token = body["metadata"].get("continue", "")
        if not token:
            return items


def _summary(service: dict[str, Any], endpoints: dict[tuple[str, str], Any], pods: dict[str, list[Any]]) -> Any:
    meta, spec = service["metadata"], service.get("spec", {})
    selector = spec.get("selector") or {}
    ep = endpoints.get((meta["namespace"], meta["name"]), {})
    ready = sum(len(subset.get("addresses", [])) for subset in ep.get("subsets", []))
    matched = [
        pod for pod in pods.get(meta["namespace"], [])
        if selector and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
    ]  # fmt: skip
    return {"namespace": meta["namespace"], "name": meta["name"], "cluster_ip": spec.get("clusterIP"),
            "ports": spec.get("ports", []), "ready_endpoints": ready, "pods": len(matched)}  # fmt: skip


def build_app(sim_url: str) -> web.Application:
    async def services(request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app["session"]
        svcs, eps, pods = await asyncio.gather(
            _list(session, sim_url, "/api/v1/services"),
            _list(session, sim_url, "/api/v1/endpoints"),
            _list(session, sim_url, "/api/v1/pods"),
        )
        by_key = {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in eps}
        by_namespace: dict[str, list[Any]] = {}
        for pod in pods:
            by_namespace.setdefault(pod["metadata"]["namespace"], []).append(pod)
        limit = int(request.query.get("limit", "100"))
        items = [_summary(service, by_key, by_namespace) for service in svcs[:limit]]
        return web.json_response({"items": items, "next_cursor": None})

    async def on_startup(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession()

    async def on_cleanup(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application()
    app.router.add_get("/api/v1/services", services)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def main() -> None:
    args = json.loads(sys.argv[1])
    web.run_app(build_app(args["sim_url"]), host="127.0.0.1", port=int(args["port"]), print=None)


if __name__ == "__main__":
    main()
