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
from k8s_sim.scrape.backfill import GROUPS, write_backfill
from k8s_sim.scrape.promconfig import TargetWriter
from k8s_sim.server import build_app

log = logging.getLogger("k8s_sim")
TARGETS_REFRESH_SECONDS = 1.0


async def _serve(args: argparse.Namespace, faults: Faults) -> int:
    cluster = EmbeddedCluster(
        scenario=args.scenario,
        speed=args.speed,
        seed=args.seed,
        pods=args.pods,
        services=args.services,
        pods_hpa=getattr(args, "pods_hpa", False),
    )
    await cluster.start()
    if args.history_hours > 0:
        await cluster.advance(args.history_hours * 3600)
    if getattr(args, "backfill_days", 0.0) > 0:
        _backfill(cluster, args)
    runner = web.AppRunner(build_app(cluster, faults), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = _bound_port(runner)
    url = f"http://{client_host(args.host)}:{port}"
    if args.kubeconfig_out is not None:
        write_kubeconfig(args.kubeconfig_out, url)
    targets: asyncio.Task[None] | None = None
    if getattr(args, "prometheus_config_out", None) is not None:
        if args.speed != 1 or args.history_hours > 0:
            log.warning(
                "kubelet sample timestamps are simulated time: with --speed %s and --history-hours %s they run "
                "ahead of the clock Prometheus queries at; use --speed 1 and --backfill-days for history",
                args.speed,
                args.history_hours,
            )
        writer = TargetWriter(cluster.store, args.prometheus_config_out, f"{client_host(args.host)}:{port}")
        writer.write_config()
        targets = asyncio.create_task(_keep_targets(writer), name="prometheus-targets")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(f"ready {url}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if targets is not None:
            targets.cancel()
        await runner.cleanup()
        await cluster.stop()
    return 0


def _backfill(cluster: EmbeddedCluster, args: argparse.Namespace) -> None:
    stats = write_backfill(
        cluster.scrape,
        args.openmetrics_out,
        days=args.backfill_days,
        step_seconds=args.backfill_step_seconds,
        groups=_groups(args.backfill_series),
        state_step_seconds=getattr(args, "backfill_state_step_seconds", None),
    )
    log.info(
        "backfill: %d series, %d samples (%.1f MB) over %.1f days at %d s steps in %.1fs -> %s",
        stats.series,
        stats.samples,
        stats.bytes / 1e6,
        (stats.end_seconds - stats.start_seconds) / 86400,
        args.backfill_step_seconds,
        stats.seconds,
        args.openmetrics_out,
    )


def _groups(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


async def _keep_targets(writer: TargetWriter) -> None:
    """Pods come and go (HPA, rollouts): keep Prometheus' file_sd targets current."""
    while True:
        await asyncio.sleep(TARGETS_REFRESH_SECONDS)
        try:
            writer.refresh()
        except OSError:
            log.exception("prometheus targets: cannot write")


def check_args(args: argparse.Namespace) -> str | None:
    """The error message for a bad combination of backfill flags, or None."""
    days = getattr(args, "backfill_days", 0.0)
    if days < 0:
        return "--backfill-days: must be 0 or more"
    if days > 0 and getattr(args, "openmetrics_out", None) is None:
        return "--backfill-days needs --openmetrics-out FILE"
    if getattr(args, "backfill_step_seconds", 60) <= 0:
        return "--backfill-step-seconds: must be a positive number of seconds"
    state_step = getattr(args, "backfill_state_step_seconds", None)
    if state_step is not None and (state_step <= 0 or state_step % getattr(args, "backfill_step_seconds", 60)):
        return "--backfill-state-step-seconds: must be a positive multiple of --backfill-step-seconds"
    unknown = sorted(set(_groups(getattr(args, "backfill_series", "cadvisor"))) - set(GROUPS))
    if unknown:
        return f"--backfill-series: unknown {', '.join(unknown)} (choose from {', '.join(GROUPS)})"
    return None


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
    problem = check_args(args)
    if problem is not None:
        sys.stderr.write(f"k8s-optimizer sim: {problem}\n")
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, faults))
    return 0
