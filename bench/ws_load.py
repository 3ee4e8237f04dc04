"""WebSocket fan-out latency: N clients subscribed, a change made in the API server, time to each `delta`.

Run as `python -m bench.ws_load '{"ws_url", "origin", "sim_url", "namespace", "deployment", "clients", "trials"}'`.
Each trial scales the Deployment through the embedded cluster's API (as `kubectl scale` would) and
measures, per client, the time from just before that request to the arrival of the matching `delta`:
the whole path API server → watch → backend cache → change feed → hub → every socket. Clients
subscribe to the `workloads` topic of the Deployment's namespace (a namespace-scoped dashboard), so
their snapshots stay small. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp

from bench.stats import percentile


class Client:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse, deployment: str) -> None:
        self.socket = socket
        self.deployment = deployment
        self.arrived: asyncio.Queue[float] = asyncio.Queue()
        self.resyncs = 0

    async def pump(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if data.get("type") == "snapshot" and data.get("reason") == "resync":
                self.resyncs += 1
            if data.get("type") == "delta" and data.get("kind") == "Deployment" and data.get("name") == self.deployment:
                self.arrived.put_nowait(time.monotonic())


async def _connect(session: aiohttp.ClientSession, args: dict[str, Any]) -> Client:
    socket = await session.ws_connect(args["ws_url"], origin=args["origin"], heartbeat=None, max_msg_size=0)
    await socket.send_json({"op": "subscribe", "topics": ["workloads"], "namespace": args["namespace"]})
    first = await socket.receive_json(timeout=120)
    if first.get("type") != "snapshot":
        raise RuntimeError(f"expected a snapshot, got {first.get('type')}")
    return Client(socket, args["deployment"])


async def _connect_all(session: aiohttp.ClientSession, args: dict[str, Any]) -> list[Client]:
    clients: list[Client] = []
    for start in range(0, int(args["clients"]), 50):  # in waves: the server accepts without a thundering herd
        wave = min(50, int(args["clients"]) - start)
        clients.extend(await asyncio.gather(*(_connect(session, args) for _ in range(wave))))
    return clients


async def _scale(session: aiohttp.ClientSession, args: dict[str, Any], replicas: int) -> None:
    url = f"{args['sim_url']}/apis/apps/v1/namespaces/{args['namespace']}/deployments/{args['deployment']}/scale"
    body = json.dumps({"spec": {"replicas": replicas}})
    headers = {"Content-Type": "application/merge-patch+json"}
    async with session.patch(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"scale failed: {response.status} {await response.text()}")


async def _trial(
    session: aiohttp.ClientSession, args: dict[str, Any], clients: list[Client], replicas: int
) -> list[float]:
    for client in clients:  # forget anything from the previous trial's controller follow-ups
        while not client.arrived.empty():
            client.arrived.get_nowait()
    started = time.monotonic()
    await _scale(session, args, replicas)
    arrivals = await asyncio.gather(*(asyncio.wait_for(c.arrived.get(), timeout=30) for c in clients))
    return [(arrival - started) * 1000 for arrival in arrivals]


async def run(args: dict[str, Any]) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = await _connect_all(session, args)
        pumps = [asyncio.create_task(client.pump()) for client in clients]
        latencies: list[float] = []
        for trial in range(int(args["trials"])):
            latencies.extend(await _trial(session, args, clients, 3 + trial % 2))
            await asyncio.sleep(1.0)  # let the controllers' follow-up writes settle
        for client in clients:
            await client.socket.close()
        for pump in pumps:
            pump.cancel()
    return {
        "clients": len(clients),
        "deliveries": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "resyncs": sum(client.resyncs for client in clients),
    }


def main() -> None:
    sys.stdout.write(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))) + "\n")


if __name__ == "__main__":
    main()
