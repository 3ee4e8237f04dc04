"""A closed-loop HTTP load: `clients` concurrent connections each issuing requests back to back.

Run as `python -m bench.rest_load '{"url": ..., "clients": 64, "requests": 2000}'`; prints one JSON line
with latency percentiles (milliseconds), the request rate and the error count.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

from bench.stats import percentile


async def _client(session: aiohttp.ClientSession, url: str, budget: list[int], latencies: list[float]) -> int:
    errors = 0
    while budget[0] > 0:
        budget[0] -= 1
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                errors += 1
        latencies.append((time.perf_counter() - started) * 1000)
    return errors


async def run(url: str, clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    budget = [requests]
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with session.get(url) as warm:  # one warm-up request (connection, caches)
            await warm.read()
        started = time.perf_counter()
        errors = await asyncio.gather(*(_client(session, url, budget, latencies) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }


def main() -> None:
    args = json.loads(sys.argv[1])
    result = asyncio.run(run(args["url"], int(args["clients"]), int(args["requests"])))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
