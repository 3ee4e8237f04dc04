"""`k8s-optimizer demo`: the whole product on one machine, what `make run` runs.

It starts three children and supervises them: the embedded cluster (`k8s-optimizer sim`, a separate process
so the backend reaches it only through a kubeconfig, exactly as it reaches a real cluster), the backend
(`k8s-optimizer serve`), and the dashboard server with nginx's routing (real nginx with dashboard/nginx.conf
when installed, else the aiohttp stand-in). Ctrl-C or SIGTERM, or any child dying, stops all of them in
reverse order, so no orphan keeps a port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from k8s_optimizer.dashboard_nginx import find_nginx, nginx_command, write_config
from k8s_optimizer.dashboard_proxy import create_proxy_app
from k8s_optimizer.demo_prometheus import PrometheusProcess, PrometheusUnavailableError, create_blocks

HOST_PORT_MAPPINGS = "30080:3000,30081:8080"  # the kind cluster's extraPortMappings (kind-config.yaml)
STARTUP_TIMEOUT_SECONDS = 120.0
DEMO_METRICS_INTERVAL_SECONDS = "3"  # real seconds; OPTIMIZER_METRICS_INTERVAL_SECONDS overrides it
STOP_TIMEOUT_SECONDS = 10.0
# 14 days of every series at 1-minute steps is gigabytes of OpenMetrics and many minutes of promtool on a
# laptop. Containers' cAdvisor rows and the request counters every 2 minutes, and kube-state-metrics'
# near-constant series hourly, keep it to about two minutes: VPA counts 720 samples a day per pod, so a
# 2-pod workload reaches full confidence.
BACKFILL_STEP_SECONDS = 120
BACKFILL_STATE_STEP_SECONDS = 3600
BACKFILL_SERIES = "containers,http,state"


class DemoError(RuntimeError):
    """A child did not come up; the message says which and why."""


@dataclass(frozen=True, slots=True)
class DemoConfig:
    api_port: int
    ui_port: int
    sim_port: int
    speed: float
    data_dir: Path
    dist: Path
    history_hours: float = 3.0
    host: str = "127.0.0.1"  # like `kubectl proxy`: reachable from this machine only unless asked
    prometheus: bool = False
    backfill_days: float = 14.0
    prometheus_port: int = 9090

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoConfig:
        prometheus = bool(getattr(args, "prometheus", False))
        return cls(
            api_port=int(args.api_port),
            ui_port=int(args.ui_port),
            sim_port=int(args.sim_port),
            # Prometheus stamps live scrapes with the wall clock: the cluster's time must be real time
            speed=1.0 if prometheus else float(args.speed),
            data_dir=Path(args.data_dir),
            dist=Path(args.dist),
            host=str(getattr(args, "host", "127.0.0.1")),
            history_hours=0.0 if prometheus else 3.0,
            prometheus=prometheus,
            backfill_days=float(getattr(args, "backfill_days", 14.0)),
            prometheus_port=int(getattr(args, "prometheus_port", 9090)),
        )

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


def _self_command(*args: str) -> list[str]:
    """Run this package's CLI in a child with the same interpreter (works with or without the venv script)."""
    return [sys.executable, "-m", "k8s_optimizer", *args]


def _listen(host: str, port: int) -> str:
    """nginx's `listen` for an address and port (IPv6 literals in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Demo:
    """The supervisor: start children in order, wait for a stop reason, stop them in reverse order."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.children: list[tuple[str, asyncio.subprocess.Process]] = []
        self.proxy_runner: web.AppRunner | None = None
        self.stop_event = asyncio.Event()
        self._drains: list[asyncio.Task[None]] = []

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop_event.set)
        try:
            await self._start_all()
            _say(f"dashboard  http://localhost:{self.config.ui_port}")
            _say(f"backend    http://localhost:{self.config.api_port}  (health: /health, API docs: /api/docs)")
            _say("press Ctrl-C to stop")
            return await self._supervise()
        except DemoError as exc:
            sys.stderr.write(f"demo: {exc}\n")
            return 1
        finally:
            await self._stop_all()

    async def _start_all(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self._start_sim()
        if self.config.prometheus:
            await self._start_prometheus()
        await self._start_backend()
        await self._start_dashboard()

    async def _start_sim(self) -> None:
        kubeconfig = self.config.data_dir / "kubeconfig"
        extra = []
        if self.config.prometheus:
            extra = [
                f"--backfill-days={self.config.backfill_days:g}",
                f"--backfill-step-seconds={BACKFILL_STEP_SECONDS}",
                f"--backfill-series={BACKFILL_SERIES}",
                f"--backfill-state-step-seconds={BACKFILL_STATE_STEP_SECONDS}",
                f"--openmetrics-out={self.config.data_dir / 'backfill.om'}",
                f"--prometheus-config-out={self.config.data_dir / 'prometheus.yml'}",
                "--pods-hpa",  # rps-demo/rps-api: an HPA on requests per second, replayed from Prometheus
            ]
        process = await self._spawn(
            "sim",
            _self_command(
                "sim",
                "--scenario=demo",
                f"--port={self.config.sim_port}",
                f"--kubeconfig-out={kubeconfig}",
                f"--speed={self.config.speed}",
                f"--history-hours={self.config.history_hours}",
                *extra,
            ),
            stdout=asyncio.subprocess.PIPE,
        )
        url = await self._read_ready_line(process)
        _say(f"cluster    {url}  (kubectl --kubeconfig {kubeconfig} get pods -A)")

    async def _read_ready_line(self, process: asyncio.subprocess.Process) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(process.stdout.readline(), remaining)
            except TimeoutError:
                break
            if not raw:
                raise DemoError(f"the embedded cluster exited (rc={await process.wait()}) before it was ready")
            line = raw.decode(errors="replace").strip()
            if line.startswith("ready "):
                # Keep draining so the child never blocks on a full pipe.
                self._drains.append(asyncio.create_task(_drain(process.stdout)))
                return line.split(" ", 1)[1]
        raise DemoError(f"the embedded cluster was not ready after {STARTUP_TIMEOUT_SECONDS:.0f}s")

    async def _start_prometheus(self) -> None:
        """Backfilled blocks from the cluster's OpenMetrics history, then Prometheus scraping the cluster."""
        tsdb = self.config.data_dir / "prometheus"
        shutil.rmtree(tsdb, ignore_errors=True)  # a previous run's blocks would overlap this history
        try:
            await asyncio.to_thread(create_blocks, self.config.data_dir / "backfill.om", tsdb)
            server = PrometheusProcess(
                tsdb, port=self.config.prometheus_port, config_file=self.config.data_dir / "prometheus.yml"
            )
            process = await self._spawn("prometheus", server.command(), stdout=asyncio.subprocess.DEVNULL)
        except PrometheusUnavailableError as exc:
            raise DemoError(str(exc)) from exc
        await _wait_healthy(f"{server.url}/-/ready", process)
        _say(f"prometheus {server.url}  ({self.config.backfill_days:g} days backfilled)")

    async def _start_backend(self) -> None:
        # At the demo's speed a 15 s scrape is 15 simulated minutes: too coarse for the charts. Scrape every
        # 3 s (unless the user set an interval) so the last hour has a curve and recommendations arrive with
        # the 3 h of history they need after about 3 minutes.
        env = {
            "OPTIMIZER_METRICS_INTERVAL_SECONDS": DEMO_METRICS_INTERVAL_SECONDS,
            **os.environ,
            "OPTIMIZER_HOST_PORT_MAPPINGS": HOST_PORT_MAPPINGS,
        }
        if self.config.prometheus:
            env["OPTIMIZER_PROMETHEUS_URL"] = f"http://127.0.0.1:{self.config.prometheus_port}"
        process = await self._spawn(
            "backend",
            _self_command(
                "serve",
                f"--kubeconfig={self.config.data_dir / 'kubeconfig'}",
                f"--host={self.config.host}",
                f"--port={self.config.api_port}",
                f"--data-dir={self.config.data_dir}",
            ),
            env=env,
        )
        await _wait_healthy(f"{self.config.backend_url}/health", process)

    async def _start_dashboard(self) -> None:
        if not (self.config.dist / "index.html").is_file():
            sys.stderr.write(f"demo: {self.config.dist}/index.html is missing; run `make dashboard` first\n")
        # OPTIMIZER_DEMO_NGINX=never forces the aiohttp stand-in (tests use it; so can users with a broken nginx).
        nginx = None if os.environ.get("OPTIMIZER_DEMO_NGINX", "auto") == "never" else find_nginx()
        template = self.config.dist.parent / "nginx.conf"
        if nginx is not None and template.is_file():
            prefix = Path(tempfile.mkdtemp(prefix="dashboard-nginx-"))
            layout = write_config(
                template,
                prefix,
                listen=_listen(self.config.host, self.config.ui_port),
                root=self.config.dist,
                backend_url=self.config.backend_url,
            )
            (prefix / "tmp").mkdir(exist_ok=True)
            process = await self._spawn("nginx", nginx_command(nginx, layout))
            await _wait_healthy(f"http://127.0.0.1:{self.config.ui_port}/healthz", process)
            return
        runner = web.AppRunner(create_proxy_app(self.config.dist, self.config.backend_url))
        await runner.setup()
        await web.TCPSite(runner, self.config.host, self.config.ui_port).start()
        self.proxy_runner = runner

    async def _spawn(
        self, name: str, command: list[str], *, env: dict[str, str] | None = None, stdout: int | None = None
    ) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(*command, env=env, stdout=stdout, start_new_session=True)
        self.children.append((name, process))
        return process

    async def _supervise(self) -> int:
        waits = {asyncio.create_task(process.wait()): name for name, process in self.children}
        stop = asyncio.create_task(self.stop_event.wait())
        done, _ = await asyncio.wait([stop, *waits], return_when=asyncio.FIRST_COMPLETED)
        for task in [stop, *waits]:
            if task not in done:
                task.cancel()
        crashed = [waits[task] for task in done if task in waits]
        if crashed:
            sys.stderr.write(f"demo: {', '.join(crashed)} exited; stopping the others\n")
            return 1
        return 0

    async def _stop_all(self) -> None:
        if self.proxy_runner is not None:
            await self.proxy_runner.cleanup()
        for name, process in reversed(self.children):
            await _terminate(name, process)
        for task in self._drains:
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise DemoError(f"{url} never answered: its process exited (rc={process.returncode})")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise DemoError(f"{url} did not answer 200 within {STARTUP_TIMEOUT_SECONDS:.0f}s")


async def _terminate(name: str, process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            sys.stderr.write(f"demo: {name} ignored SIGTERM for {STOP_TIMEOUT_SECONDS:.0f}s; killing it\n")
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def run_demo(args: argparse.Namespace) -> int:
    """Entry point of `k8s-optimizer demo` (args: api_port, ui_port, sim_port, speed, data_dir, dist)."""
    return asyncio.run(Demo(DemoConfig.from_args(args)).run())
