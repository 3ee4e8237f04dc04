"""The system under test for the reliability suite: a real embedded cluster and a real backend process.

Reliability claims (survives faults, survives SIGKILL, holds load) only mean something for the shipped
process, so every test here talks to `k8s-optimizer serve` over loopback HTTP/WebSocket, started through
the shared helpers (tests/simcluster.py, tests/dashboard_servers.py), never to an in-process app.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.dashboard_servers import BackendServer
from tests.simcluster import SimCluster

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "k8s-optimizer"  # the demo scenario's application namespace


@contextmanager
def backend_for(
    sim: SimCluster, data_dir: Path, metrics_interval_seconds: float = 1.0, **extra_env: str
) -> Iterator[BackendServer]:
    """`k8s-optimizer serve` against the sim with a short scrape interval; stopped (SIGTERM) on exit."""
    env = {"OPTIMIZER_METRICS_INTERVAL_SECONDS": str(metrics_interval_seconds), **extra_env}
    backend = BackendServer(sim.kubeconfig, data_dir, extra_env=env)
    backend.start_and_wait()
    try:
        yield backend
    finally:
        backend.stop()


def get_json(url: str, timeout_seconds: float = 10.0) -> tuple[int, Any]:
    """GET a JSON document; returns (status, decoded body) for every status, never raises on 4xx/5xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        error.close()
        return error.code, json.loads(body) if body else None


def list_all(base_url: str, route: str) -> list[dict[str, Any]]:
    """Every item of a paged `/api/v1` list, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page = get_json(f"{base_url}/api/v1/{route}?limit=1000{cursor}")
        assert status == 200, (route, status, page)
        items.extend(page["items"])
        if not page["next_cursor"]:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def kubectl_items(sim: SimCluster, resource: str) -> list[dict[str, Any]]:
    """`kubectl get RESOURCE -A -o json` items (the cluster's truth)."""
    result = sim.kubectl("get", resource, "-A", "-o", "json")
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return items


def wait_until(predicate: Callable[[], bool], timeout_seconds: float, interval_seconds: float = 0.25) -> bool:
    """Poll until predicate() is true; False when the time runs out (the caller asserts with context)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_seconds)
    return predicate()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
