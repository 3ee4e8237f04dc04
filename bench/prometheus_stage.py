"""The Prometheus stage of `make bench`: a cold backend reading weeks of history from a real Prometheus.

Sequence: list every container of the running `scale` cluster; write their past (CPU counter and working
set per container, deterministic) as OpenMetrics and turn it into blocks with promtool; start Debian's
`prometheus` over those blocks; start a backend with OPTIMIZER_PROMETHEUS_URL and time it from start to
its first recommendations that name Prometheus (`prom_pass_seconds`), reading the queries it sent
(`prom_queries`) and its Prometheus read time from /metrics. Then the same read done the per-container way
(KRR's pattern: `quantile_over_time`, `max_over_time` and `count_over_time` for each container, six
workers as KRR's default) in the same run → `prom_speedup_vs_per_container` and `per_container_queries`.

Resolution: 14 days at 1-minute steps for 10,000 containers is 400 million samples (tens of GB of
OpenMetrics, hours of promtool on 2 cores), so the full run backfills 14 days at `step_seconds` (1 h)
and says so in its results (`prom_backfill_step_seconds`).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from bench.processes import Child, free_port, http_json, start_backend, wait_ready
from k8s_optimizer.demo_prometheus import PrometheusProcess, create_blocks
from k8s_optimizer.prometheus.queries import cpu_range_seconds
from k8s_optimizer.prometheus.source import SourceConfig, choose_step

DAY = 86400
KRR_WORKERS = 6  # KRR's --max-workers default
MIB = 1024 * 1024

Container = tuple[str, str, str]


def list_containers(sim_url: str) -> list[Container]:
    """Every (namespace, pod, container) of the cluster, paging through the pod list."""
    found: list[Container] = []
    token = ""
    while True:
        query = {"limit": "500"} | ({"continue": token} if token else {})
        body = http_json("GET", f"{sim_url}/api/v1/pods?{urllib.parse.urlencode(query)}")
        for pod in body["items"]:
            meta = pod["metadata"]
            found += [(meta["namespace"], meta["name"], c["name"]) for c in pod["spec"]["containers"]]
        token = body["metadata"].get("continue") or ""
        if not token:
            return found


def _shape(key: Container) -> tuple[float, float, float]:
    """Per-container base CPU (cores), daily swing and memory (bytes), stable across runs."""
    digest = hashlib.sha256("/".join(key).encode()).digest()
    return 0.02 + digest[0] / 255 * 0.5, 0.2 + digest[1] / 255 * 0.6, (32 + digest[2]) * MIB


def write_openmetrics(path: Path, containers: list[Container], *, end: int, days: float, step: int) -> int:
    """cAdvisor's two series per container over `days` at `step`; returns the samples written."""
    start = end - int(days * DAY)
    times = range(start - 2 * step, end + 1, step)
    samples = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("# TYPE container_cpu_usage_seconds counter\n")
        for key in containers:
            base, swing, _ = _shape(key)
            labels = f'{{namespace="{key[0]}",pod="{key[1]}",container="{key[2]}"}}'
            total = 0.0
            for t in times:
                total += base * (1 + swing * math.sin(2 * math.pi * t / DAY)) * step
                out.write(f"container_cpu_usage_seconds_total{labels} {total:.3f} {t}\n")
            samples += len(times)
        out.write("# TYPE container_memory_working_set_bytes gauge\n")
        for key in containers:
            _, swing, memory = _shape(key)
            labels = f'{{namespace="{key[0]}",pod="{key[1]}",container="{key[2]}"}}'
            for t in times:
                value = memory * (1 + swing * 0.1 * math.sin(t))
                out.write(f"container_memory_working_set_bytes{labels} {value:.0f} {t}\n")
            samples += len(times)
        out.write("# EOF\n")
    return samples


def _gauge(metrics: str, name: str) -> float | None:
    for line in metrics.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


def _first_prometheus_pass(api: str, backend: Child, timeout_seconds: float) -> float:
    """Seconds from now until the backend serves recommendations computed from Prometheus history."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if backend.process.poll() is not None:
            raise RuntimeError("the Prometheus-backed backend exited")
        try:
            body = http_json("GET", f"{api}/api/v1/recommendations?limit=20&kind=resources")
        except OSError:
            body = None
        if body and any(r["rationale"].endswith("history from Prometheus") for r in body["items"]):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"no recommendation from Prometheus within {timeout_seconds:.0f} s")


async def per_container_read(
    url: str, containers: list[Container], *, end: int, window: int, backfill_step_seconds: int
) -> tuple[float, int]:
    """KRR's pattern: three queries per container (p95 CPU, peak memory, point count), six at a time.

    The step and the rate's range are the ones the backend chooses for the same cluster and data (KRR's
    own 1.25-minute rate over hourly samples would find no two samples and compute nothing), so both
    ways do the same work on the server and differ only in how they ask.
    """
    limit = asyncio.Semaphore(KRR_WORKERS)
    sent = 0
    step = int(choose_step(window, len(containers), SourceConfig(), backfill_step_seconds))
    rate_range = int(cpu_range_seconds(step, backfill_step_seconds))
    window_text, step_text = f"{window}s", f"{step}s"

    async def one(client: httpx.AsyncClient, key: Container) -> None:
        nonlocal sent
        selector = f'{{namespace="{key[0]}",pod="{key[1]}",container="{key[2]}"}}'
        cpu = f"max(rate(container_cpu_usage_seconds_total{selector}[{rate_range}s]))"
        memory = f"max(container_memory_working_set_bytes{selector})"
        for expr in (
            f"quantile_over_time(0.95, {cpu}[{window_text}:{step_text}])",
            f"max_over_time({memory}[{window_text}:{step_text}])",
            f"count_over_time({cpu}[{window_text}:{step_text}])",
        ):
            async with limit:
                answer = await client.post("/api/v1/query", data={"query": expr, "time": str(end)})
                answer.raise_for_status()
                sent += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await asyncio.gather(*(one(client, key) for key in containers))
    return time.perf_counter() - started, sent


def measure_prometheus(
    workdir: Path, sim_url: str, kubeconfig: Path, *, days: float, step_seconds: int
) -> dict[str, Any]:
    containers = list_containers(sim_url)
    end = int(time.time()) // 60 * 60
    started = time.monotonic()
    samples = write_openmetrics(workdir / "history.om", containers, end=end, days=days, step=step_seconds)
    create_blocks(workdir / "history.om", workdir / "tsdb")
    (workdir / "history.om").unlink()
    backfill_seconds = time.monotonic() - started
    prometheus = PrometheusProcess(workdir / "tsdb")
    prometheus.start()
    backend: Child | None = None
    try:
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        home = workdir / "prom-backend"
        home.mkdir(exist_ok=True)
        backend = start_backend(
            home,
            kubeconfig,
            port=port,
            extra_env={"OPTIMIZER_PROMETHEUS_URL": prometheus.url, "OPTIMIZER_PROMETHEUS_REFRESH_SECONDS": "3600"},
        )
        wait_ready(f"{api}/health", timeout_seconds=120, child=backend)
        pass_seconds = _first_prometheus_pass(api, backend, timeout_seconds=600)
        metrics = httpx.get(f"{api}/metrics", timeout=30).text
        queries = _gauge(metrics, "optimizer_prometheus_queries") or 0.0
        read_seconds = _gauge(metrics, "optimizer_prometheus_pass_seconds") or pass_seconds
    finally:
        if backend is not None:
            backend.stop()
    try:
        krr_seconds, krr_queries = asyncio.run(
            per_container_read(
                prometheus.url, containers, end=end, window=int(days * DAY), backfill_step_seconds=step_seconds
            )
        )
    finally:
        prometheus.stop()
    return {
        "prom_containers": len(containers),
        "prom_backfill_days": days,
        "prom_backfill_step_seconds": step_seconds,
        "prom_backfill_samples": samples,
        "prom_backfill_seconds": round(backfill_seconds, 1),
        "prom_pass_seconds": round(pass_seconds, 2),
        "prom_read_seconds": round(read_seconds, 2),
        "prom_queries": int(queries),
        "per_container_seconds": round(krr_seconds, 2),
        "per_container_queries": krr_queries,
        "prom_query_reduction": round(krr_queries / queries, 1) if queries else 0.0,
        "prom_speedup_vs_per_container": round(krr_seconds / read_seconds, 2) if read_seconds else 0.0,
    }
