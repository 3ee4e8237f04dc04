"""Load generator for test_load.py, run as a separate process so the client does not share the server's core.

    python -m tests.reliability.load_client URL --ws-clients 200 --rps 200 --seconds 30

Opens N WebSocket clients (subscribed to services, pods and metrics) and holds them while sending mixed
REST GETs at a fixed rate, then prints one JSON line of counts: what connected, what failed, what was
received, and REST latency percentiles. Any non-200 answer, exception, unexpected close or `error`
message counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

ROUTES = (
    "/api/v1/services?limit=100",
    "/api/v1/services/k8s-optimizer/echo-demo",
    "/api/v1/services/k8s-optimizer/echo-demo/path",
    "/api/v1/pods?limit=100",
    "/api/v1/workloads",
    "/api/v1/cluster/overview",
    "/api/v1/recommendations",
    "/api/v1/cost",
    "/api/v1/metrics/timeseries?target=Deployment/k8s-optimizer/echo-demo&metric=cpu&window=30m",
    "/health",
)


@dataclass
class Result:
    ws_connected: int = 0
    ws_errors: list[str] = field(default_factory=list)
    ws_messages: Counter[str] = field(default_factory=Counter)
    ws_clients_with_delta: int = 0
    http_requests: int = 0
    http_errors: list[str] = field(default_factory=list)
    http_latencies_ms: list[float] = field(default_factory=list)
    expected_sockets: int = 0
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def socket_settled(self) -> None:
        """One socket connected or failed; when all have, the REST load starts."""
        if self.ws_connected + len(self.ws_errors) >= self.expected_sockets:
            self.settled.set()


async def _hold_socket(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, result: Result) -> None:
    saw_delta = False
    try:
        async with session.ws_connect(f"{url}/ws", heartbeat=None, max_msg_size=0) as socket_:
            result.ws_connected += 1
            result.socket_settled()
            await socket_.send_str(json.dumps({"op": "subscribe", "topics": ["services", "pods", "metrics"]}))
            while not stop.is_set():
                try:
                    message = await socket_.receive(timeout=0.5)
                except TimeoutError:
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    result.ws_errors.append(f"socket ended: {message.type!r} {socket_.close_code}")
                    return
                kind = json.loads(message.data)["type"]
                result.ws_messages[kind] += 1
                saw_delta = saw_delta or kind == "delta"
                if kind == "error":
                    result.ws_errors.append(message.data[:200])
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        result.ws_errors.append(f"{type(error).__name__}: {error}")
        result.socket_settled()
    result.ws_clients_with_delta += int(saw_delta)


async def _one_request(session: aiohttp.ClientSession, url: str, result: Result) -> None:
    started = time.perf_counter()
    try:
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                result.http_errors.append(f"{response.status} {url}")
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        result.http_errors.append(f"{type(error).__name__}: {error} {url}")
    result.http_latencies_ms.append((time.perf_counter() - started) * 1000)


async def _send_requests(session: aiohttp.ClientSession, url: str, rps: float, seconds: float, result: Result) -> None:
    tasks: set[asyncio.Task[None]] = set()
    started = time.monotonic()
    total = int(seconds * rps)
    while result.http_requests < total:
        due = min(total, int((time.monotonic() - started) * rps) + 1)
        while result.http_requests < due:
            route = ROUTES[result.http_requests % len(ROUTES)]
            result.http_requests += 1
            task = asyncio.create_task(_one_request(session, f"{url}{route}", result))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(url: str, ws_clients: int, rps: float, seconds: float) -> dict[str, Any]:
    result = Result(expected_sockets=ws_clients)
    stop = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        sockets = [asyncio.create_task(_hold_socket(session, url, stop, result)) for _ in range(ws_clients)]
        with contextlib.suppress(TimeoutError):  # the summary then reports who did not connect
            await asyncio.wait_for(result.settled.wait(), 30)
        sys.stdout.write(json.dumps({"phase": "connected", "ws_connected": result.ws_connected}) + "\n")
        sys.stdout.flush()
        await _send_requests(session, url, rps, seconds, result)
        stop.set()
        await asyncio.gather(*sockets)
    latencies = result.http_latencies_ms
    summary: dict[str, Any] = {
        "ws_connected": result.ws_connected,
        "ws_messages": dict(result.ws_messages),
        "ws_clients_with_delta": result.ws_clients_with_delta,
        "http_requests": result.http_requests,
    }
    summary["http_p50_ms"] = round(_percentile(latencies, 0.50), 1)
    summary["http_p99_ms"] = round(_percentile(latencies, 0.99), 1)
    summary["ws_errors"] = result.ws_errors[:20]
    summary["http_errors"] = result.http_errors[:20]
    summary["phase"] = "done"
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--ws-clients", type=int, default=200)
    parser.add_argument("--rps", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    summary = asyncio.run(run(args.url, args.ws_clients, args.rps, args.seconds))
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
