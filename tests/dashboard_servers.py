"""Start the dashboard's servers for tests: real nginx with dashboard/nginx.conf, and the backend process.

Shared by the routing tests (tests/test_dashboard_proxy.py) and the browser tests (tests/e2e/). Every server
listens on loopback on a port picked free just before start (nginx cannot be told to use port 0), and is
stopped with a signal and waited for, so no test leaves a process behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from k8s_optimizer.dashboard_nginx import find_nginx, nginx_command, write_config

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "dashboard" / "nginx.conf"
DIST = REPO / "dashboard" / "dist"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http_ok(url: str, timeout_seconds: float, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + timeout_seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with rc={process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_seconds}s ({last})")


class _Process:
    """A child process whose stderr is collected (for failure messages) and which is stopped on exit."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.command = command
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []

    def start(self) -> None:
        self._stderr = []
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env, cwd=REPO
        )
        threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def stop(self, sig: int = signal.SIGTERM, timeout_seconds: float = 15.0) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()
        self.process = None
        return process.returncode


class NginxServer(_Process):
    """dashboard/nginx.conf rendered for a local backend, run in the foreground on a free loopback port."""

    def __init__(self, backend_url: str, dist: Path = DIST) -> None:
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("nginx is not installed: `make system-deps` (apt-get install nginx) installs it")
        self._workdir = tempfile.TemporaryDirectory(prefix="dashboard-nginx-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.layout = write_config(
            TEMPLATE, Path(self._workdir.name), listen=f"127.0.0.1:{self.port}", root=dist, backend_url=backend_url
        )
        (self.layout.prefix / "tmp").mkdir(exist_ok=True)
        super().__init__(nginx_command(nginx, self.layout))

    def __enter__(self) -> NginxServer:
        self.start()
        try:
            wait_http_ok(f"{self.url}/healthz", 15, self.process)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.stderr}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(signal.SIGQUIT)  # graceful: nginx finishes in-flight requests and its workers exit
        self._workdir.cleanup()


class BackendServer(_Process):
    """`k8s-optimizer serve` against a kubeconfig; stop() and start() again keep the same port."""

    def __init__(
        self,
        kubeconfig: Path,
        data_dir: Path,
        host_port_mappings: str = "30080:3000,30081:8080",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "k8s_optimizer",
            "serve",
            f"--kubeconfig={kubeconfig}",
            "--host=127.0.0.1",
            f"--port={self.port}",
            f"--data-dir={data_dir}",
        ]
        env = {
            **os.environ,
            "OPTIMIZER_HOST_PORT_MAPPINGS": host_port_mappings,
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        super().__init__(command, env)

    def start_and_wait(self, timeout_seconds: float = 60.0) -> None:
        self.start()
        try:
            wait_http_ok(f"{self.url}/health", timeout_seconds, self.process)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{self.stderr}") from exc
