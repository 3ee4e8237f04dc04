"""The EmbeddedCluster behind its real aiohttp API server on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiohttp import web

from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.faults import Faults
from k8s_sim.server import build_app
from tests.sim.embedded import running_cluster


@asynccontextmanager
async def served_cluster(
    scenario: str = "demo", *, start: datetime | None = None, **kwargs: Any
) -> AsyncIterator[tuple[EmbeddedCluster, str]]:
    async with running_cluster(scenario, start=start, **kwargs) as cluster:
        runner = web.AppRunner(build_app(cluster, Faults(seed=1)), shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
        try:
            yield cluster, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()
