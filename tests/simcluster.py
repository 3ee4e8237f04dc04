"""Run the embedded cluster as a subprocess for tests: the shared helper of every owner's integration tests.

Tests must reach the embedded cluster exactly as users do (a separate `k8s-optimizer sim` process and a
kubeconfig), so nothing in the backend can tell it is simulated. This module hides the process handling.

API:
    with SimCluster.start(scenario="demo", speed=1.0, seed=1, faults="", pods=..., services=...,
                          history_hours=0.0, timeout_seconds=60.0, extra_args=()) as sim:
        sim.url                        # 'http://127.0.0.1:PORT' (ephemeral port)
        sim.kubeconfig                 # Path of a kubeconfig (context 'kind-k8s-optimizer')
        sim.kubectl("get", "pods", "-A", "-o", "json")   # CompletedProcess[str], never raises on rc != 0
        sim.control("GET", "/sim/v1/status")              # JSON of a /sim/v1/* control endpoint
        sim.set_faults("error-rate=0.2")                  # replace the fault spec ('' clears)
        sim.advance(3600)                                 # jump simulated time forward
        sim.set_load("default", "echo-demo", enabled=True, rps=50)
        sim.status()                                      # GET /sim/v1/status
        sim.stop()                                        # SIGTERM, wait; kill() for SIGKILL
`SimCluster.start(...)` may also be used without `with`; then call `stop()` yourself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
_EXECUTABLE = _REPO / ".venv" / "bin" / "k8s-optimizer"
KUBECTL = "/usr/bin/kubectl"


class SimClusterError(RuntimeError):
    """The embedded cluster did not come up (the message carries its stderr)."""


class SimCluster:
    """One running `k8s-optimizer sim` subprocess."""

    def __init__(self, process: subprocess.Popen[str], workdir: tempfile.TemporaryDirectory[str]) -> None:
        self.process = process
        self.url = ""  # set once the process prints its `ready URL` line
        self._workdir = workdir
        self.kubeconfig = Path(workdir.name) / "kubeconfig.yaml"
        self._stderr_lines: list[str] = []
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

    # -- lifecycle -------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        scenario: str = "demo",
        speed: float = 1.0,
        seed: int = 1,
        faults: str = "",
        pods: int = 10_000,
        services: int = 2_000,
        history_hours: float = 0.0,
        timeout_seconds: float = 60.0,
        port: int = 0,
        extra_args: tuple[str, ...] = (),
    ) -> SimCluster:
        workdir = tempfile.TemporaryDirectory(prefix="simcluster-")
        kubeconfig = Path(workdir.name) / "kubeconfig.yaml"
        command = [
            str(_EXECUTABLE) if _EXECUTABLE.exists() else sys.executable,
            *([] if _EXECUTABLE.exists() else ["-m", "k8s_optimizer"]),
            "sim",
            f"--port={port}",  # 0: ephemeral; a fixed one lets a test restart the cluster at the same URL
            f"--kubeconfig-out={kubeconfig}",
            f"--scenario={scenario}",
            f"--speed={speed}",
            f"--seed={seed}",
            f"--pods={pods}",
            f"--services={services}",
            f"--faults={faults}",
            f"--history-hours={history_hours}",
            *extra_args,
        ]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=_REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        # Drain stderr from the start: a chatty start-up must never block on a full pipe before `ready`.
        cluster = cls(process, workdir)
        url = _wait_ready(process, timeout_seconds)
        if url is None:
            cluster.kill()
            raise SimClusterError(
                f"embedded cluster not ready after {timeout_seconds}s (rc={process.returncode}):\n{cluster.stderr}"
            )
        cluster.url = url
        return cluster

    def __enter__(self) -> SimCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self, timeout_seconds: float = 10.0) -> int:
        """SIGTERM and wait; returns the exit code (SIGKILL after the timeout)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr_thread.join(timeout=2)
        if self.process.stderr is not None and not self._stderr_thread.is_alive():
            self.process.stderr.close()  # unclosed, it fails suites running with filterwarnings=error
        self._workdir.cleanup()

    def _drain_stderr(self) -> None:
        # Keep reading so the child never blocks on a full stderr pipe.
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr_lines.append(line)
            del self._stderr_lines[:-200]

    @property
    def stderr(self) -> str:
        return "".join(self._stderr_lines)

    # -- clients ---------------------------------------------------------------------------------------
    def kubectl(
        self, *args: str, timeout_seconds: float = 30.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KUBECTL, f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            input=stdin,
            check=False,
        )

    def control(self, method: str, path: str, json_body: Any = None) -> Any:
        """Call a /sim/v1/* control endpoint; returns its decoded JSON (raises on HTTP errors)."""
        data = None if json_body is None else json.dumps(json_body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def set_faults(self, spec: str) -> Any:
        return self.control("POST", "/sim/v1/faults", {"spec": spec})

    def advance(self, seconds: float) -> Any:
        return self.control("POST", "/sim/v1/advance", {"seconds": seconds})

    def set_load(self, namespace: str, name: str, *, enabled: bool, rps: float | None = None) -> Any:
        body = {"namespace": namespace, "name": name, "enabled": enabled, "rps": rps}
        return self.control("POST", "/sim/v1/load", body)

    def status(self) -> Any:
        return self.control("GET", "/sim/v1/status")


def _wait_ready(process: subprocess.Popen[str], timeout_seconds: float) -> str | None:
    """Read stdout until the `ready URL` line; None if it does not come in time (or the process exits)."""
    assert process.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ready "):
                found.append(line.split(" ", 1)[1].strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_seconds)
    if found:
        return found[0]
    if process.poll() is None:
        process.kill()
    process.wait()
    reader.join(timeout=10)  # EOF now: the reader ends before the caller closes the pipe under it
    return None
