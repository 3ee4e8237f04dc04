"""`k8s-optimizer demo` (what `make run` runs): three children up, URLs printed, the dashboard origin routes
to the backend, and SIGTERM stops everything with no process or port left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard_servers import REPO, free_port

INDEX = "<!doctype html><title>demo</title>\n"


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _read_until_dashboard(process: subprocess.Popen[str], timeout_seconds: float) -> list[str]:
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("press Ctrl-C"):
                done.set()
                return

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout_seconds)
    return lines


def _children(pid: int) -> list[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(part) for part in result.stdout.split()]


@pytest.mark.slow
@pytest.mark.parametrize("dashboard_server", ["nginx", "aiohttp"])
def test_demo_starts_everything_and_stops_cleanly(tmp_path: Path, dashboard_server: str) -> None:
    dist = tmp_path / "dashboard" / "dist"
    dist.mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (tmp_path / "dashboard" / "nginx.conf").write_text((REPO / "dashboard" / "nginx.conf").read_text())
    api_port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "OPTIMIZER_DEMO_NGINX": "never" if dashboard_server == "aiohttp" else "auto",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "k8s_optimizer",
            "demo",
            f"--api-port={api_port}",
            f"--ui-port={ui_port}",
            "--sim-port=0",  # the embedded cluster picks a free port and writes it into the kubeconfig
            "--speed=60",
            f"--data-dir={tmp_path / 'data'}",
            f"--dist={dist}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        lines = _read_until_dashboard(process, 120)
        assert f"dashboard  http://localhost:{ui_port}" in lines, lines
        assert any(line.startswith(f"backend    http://localhost:{api_port}") for line in lines), lines
        cluster = [line for line in lines if line.startswith("cluster    http://127.0.0.1:")]
        assert len(cluster) == 1, lines
        sim_port = int(cluster[0].split()[1].rsplit(":", 1)[1])
        assert _listening(sim_port)
        assert (tmp_path / "data" / "kubeconfig").is_file()
        children = _children(process.pid)
        assert len(children) == (3 if dashboard_server == "nginx" else 2)

        assert _get(f"http://127.0.0.1:{ui_port}/healthz") == (200, "ok\n")
        # Through the dashboard origin to the backend (which may still say "degraded" while it syncs).
        status, body = _get(f"http://127.0.0.1:{ui_port}/health")
        assert (status, json.loads(body)["status"] in {"healthy", "degraded"}) == (200, True)
        assert _get(f"http://127.0.0.1:{ui_port}/services/k8s-optimizer/echo-demo") == (200, INDEX)
        status, body = _get(f"http://127.0.0.1:{api_port}/health")
        assert (status, json.loads(body)["status"] in {"healthy", "degraded"}) == (200, True)
    finally:
        process.send_signal(signal.SIGTERM)
        rc = process.wait(60)
        assert process.stdout is not None
        process.stdout.close()
    assert rc == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_listening(port) for port in (api_port, ui_port, sim_port)):
        time.sleep(0.1)
    assert [port for port in (api_port, ui_port, sim_port) if _listening(port)] == []
    for child in children:
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
