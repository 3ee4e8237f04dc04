"""`k8s-optimizer sim`: build the scenario, serve the API, write the kubeconfig, print `ready URL`.

The `ready` line is the contract with every caller (tests/simcluster.py, `k8s-optimizer demo`): it is
printed only once the port is bound and the scenario (and any pre-run history) exists, so a client that
reads it can list pods at once. `--port 0` binds an ephemeral port; the real one goes into the kubeconfig.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web

from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.faults import Faults, FaultSpecError, parse_faults
from k8s_sim.kubeconfig import client_host, write_kubeconfig
from k8s_sim.server import build_app


async def _serve(args: argparse.Namespace, faults: Faults) -> int:
    cluster = EmbeddedCluster(
        scenario=args.scenario, speed=args.speed, seed=args.seed, pods=args.pods, services=args.services
    )
    await cluster.start()
    if args.history_hours > 0:
        await cluster.advance(args.history_hours * 3600)
    runner = web.AppRunner(build_app(cluster, faults), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = _bound_port(runner)
    url = f"http://{client_host(args.host)}:{port}"
    if args.kubeconfig_out is not None:
        write_kubeconfig(args.kubeconfig_out, url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(f"ready {url}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await cluster.stop()
    return 0


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the API server is not bound to a TCP port")


def run_sim(args: argparse.Namespace) -> int:
    """Run the embedded cluster until SIGINT/SIGTERM; exit 0 on a clean stop, 2 on a bad --faults spec."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        faults = Faults(parse_faults(args.faults or ""), seed=args.seed)
    except FaultSpecError as error:
        sys.stderr.write(f"k8s-optimizer sim: --faults: {error}\n")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, faults))
    return 0
