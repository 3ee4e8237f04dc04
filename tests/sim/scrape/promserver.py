"""A real Prometheus server for tests: Debian's `prometheus` on an ephemeral loopback port, and PromQL calls.

async with prometheus(config_path, data_dir) as url:      # ready (/-/ready) when the block is entered
    await until(session, f"{url}/api/v1/query", lambda body: ..., {"query": "sum(up)"})
    rows = await query(session, url, "up", at=1767225600.0)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

READY_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def prometheus(config: Path, data: Path) -> AsyncIterator[str]:
    port = _free_port()
    log = (data.parent / "prometheus.log").open("w")
    process = await asyncio.create_subprocess_exec(
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=30d",  # the default 15 d would delete backfilled blocks at start
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await until(session, f"{url}/-/ready", lambda body: True)
        yield url
    finally:
        process.terminate()
        async with asyncio.timeout(30):
            await process.wait()
        log.close()


async def until(session: aiohttp.ClientSession, url: str, done: Any, params: dict[str, str] | None = None) -> Any:
    deadline = asyncio.get_running_loop().time() + READY_SECONDS
    while True:
        try:
            async with session.get(url, params=params) as response:
                if response.status == 200:
                    body = await response.json() if "api/v1" in url else await response.text()
                    if done(body):
                        return body
        except aiohttp.ClientError:
            pass
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {url} {params}"
        await asyncio.sleep(0.5)


async def query(session: aiohttp.ClientSession, url: str, query: str, at: float | None = None) -> list[Any]:
    params = {"query": query} if at is None else {"query": query, "time": str(at)}
    async with session.get(f"{url}/api/v1/query", params=params) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])
