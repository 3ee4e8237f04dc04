"""Child processes of a benchmark run: the embedded cluster, the backend, and load generators.

Load runs in separate processes so the client never shares the server's event loop (on 2 cores the
server gets one and the client the other).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXECUTABLE = REPO / ".venv" / "bin" / "k8s-optimizer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rss_mb(self) -> float:
        """Resident set size of the process, from /proc (what the kernel charges it)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")


def start_sim(workdir: Path, *, pods: int, services: int, speed: float = 1.0) -> tuple[Child, str, Path, float]:
    """Start the `scale` scenario; returns the child, its URL, its kubeconfig and the seconds to `ready`."""
    kubeconfig = workdir / "kubeconfig.yaml"
    started = time.monotonic()
    process = subprocess.Popen(
        [str(EXECUTABLE), "sim", "--scenario", "scale", "--pods", str(pods), "--services", str(services),
         "--port", "0", "--kubeconfig-out", str(kubeconfig), "--speed", str(speed)],
        stdout=subprocess.PIPE, stderr=(workdir / "sim.log").open("w"), text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("ready "):
        process.kill()
        raise RuntimeError(f"sim did not start: {line!r}; see {workdir / 'sim.log'}")
    return Child("sim", process), line.split(" ", 1)[1], kubeconfig, time.monotonic() - started


def start_backend(workdir: Path, kubeconfig: Path, *, port: int, extra_env: dict[str, str] | None = None) -> Child:
    env = {**os.environ, "OPTIMIZER_LOG_LEVEL": "warning", **(extra_env or {})}
    process = subprocess.Popen(
        [str(EXECUTABLE), "serve", "--kubeconfig", str(kubeconfig), "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(workdir / "data")],
        stdout=subprocess.DEVNULL, stderr=(workdir / "backend.log").open("w"), text=True, env=env,
    )  # fmt: skip
    return Child("backend", process)


def wait_ready(url: str, *, timeout_seconds: float, child: Child) -> float:
    """Seconds until `url` answers 200, polled every 20 ms."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} not ready after {timeout_seconds} s")


def run_python(module: str, args: dict[str, Any], *, timeout_seconds: float) -> dict[str, Any]:
    """Run `python -m bench.<module>` with JSON arguments; it prints one JSON result line."""
    completed = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", json.dumps(args)],
        capture_output=True, text=True, timeout=timeout_seconds, cwd=REPO, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"bench.{module} failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def http_json(method: str, url: str, body: Any = None, content_type: str = "application/json") -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")
