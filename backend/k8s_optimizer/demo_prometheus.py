"""A real Prometheus for the demo and the tests: backfilled blocks, a loopback server, a scrape config.

Debian's `prometheus` package ships the server and `promtool`. `create_blocks` turns an OpenMetrics
file (the embedded cluster's `--backfill-days`) into TSDB blocks; `PrometheusProcess` starts the
server on 127.0.0.1 over that data directory (optionally scraping the embedded cluster's kubelet and
kube-state-metrics endpoints) and waits until it answers `/-/ready`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

READY_TIMEOUT_SECONDS = 60.0
RETENTION = "400d"  # backfilled blocks are weeks old: never let retention drop them


class PrometheusUnavailableError(RuntimeError):
    """The prometheus binaries are missing or the server did not start (the message says why)."""


def binaries() -> tuple[str, str]:
    server, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if server is None or promtool is None:
        raise PrometheusUnavailableError(
            "prometheus and promtool are needed (Debian: apt-get install prometheus; `make system-deps` does it)"
        )
    return server, promtool


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_blocks(openmetrics: Path, data_dir: Path) -> None:
    """`promtool tsdb create-blocks-from openmetrics FILE DIR` (hours-long blocks, as Prometheus compacts)."""
    _, promtool = binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
            str(openmetrics),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PrometheusUnavailableError(f"promtool could not create blocks: {done.stderr.strip()[-2000:]}")


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """One scrape job: `address` is host:port, `path` the metrics path, `scheme` http or https."""

    job: str
    address: str
    path: str
    scheme: str = "http"
    interval_seconds: float = 15.0
    bearer_token_file: Path | None = None
    ca_file: Path | None = None
    insecure_skip_verify: bool = False


def scrape_config(targets: list[ScrapeTarget]) -> dict[str, object]:
    jobs = []
    for target in targets:
        job: dict[str, object] = {
            "job_name": target.job,
            "scrape_interval": f"{target.interval_seconds:g}s",
            "metrics_path": target.path,
            "scheme": target.scheme,
            "honor_labels": True,  # the exporters' namespace/pod/container labels are the ones we query
            "static_configs": [{"targets": [target.address]}],
        }
        if target.bearer_token_file is not None:
            job["authorization"] = {"credentials_file": str(target.bearer_token_file)}
        if target.scheme == "https":
            tls: dict[str, object] = {"insecure_skip_verify": target.insecure_skip_verify}
            if target.ca_file is not None:
                tls["ca_file"] = str(target.ca_file)
            job["tls_config"] = tls
        jobs.append(job)
    return {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}, "scrape_configs": jobs}


@dataclass(slots=True)
class PrometheusProcess:
    """`prometheus` on 127.0.0.1:port over `data_dir`; start(), stop(), restart()."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    targets: list[ScrapeTarget] = field(default_factory=list)
    config_file: Path | None = None  # a ready prometheus.yml (the embedded cluster writes one); else from targets
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The server's command line (writing the scrape config from `targets` when no file is given)."""
        server, _ = binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.config_file
        if config is None:
            config = self.data_dir.parent / f"{self.data_dir.name}-prometheus.yml"
            config.write_text(yaml.safe_dump(scrape_config(self.targets)), encoding="utf-8")
        return [
            server,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def start(self) -> None:
        command = self.command()
        log = (self.log_path or self.data_dir.parent / f"{self.data_dir.name}-prometheus.log").open("ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise PrometheusUnavailableError(f"prometheus exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise PrometheusUnavailableError(f"prometheus did not become ready on {self.url}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()
