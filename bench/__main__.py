"""`make bench`: measure every scale target of issue 9 and write bench/results/latest.{json,md}.

Sequence: start the embedded cluster's `scale` scenario; start the backend cold and time it to /ready
(caches synced); load GET /api/v1/services from a separate process, then the same load against the
naive design (bench/naive.py); fan a Deployment change out to N WebSocket clients; measure ingest and
one recommendation pass in-process on the same cluster picture; read the backend's RSS; then the
Prometheus stage (bench/prometheus_stage.py): the cluster's history backfilled into a real Prometheus and
a cold backend reading it, against the per-container way. `--quick`
runs the same harness on a small cluster and enforces nothing (CI keeps it from rotting).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.processes import REPO, Child, free_port, http_json, run_python, start_backend, start_sim, wait_ready
from bench.prometheus_stage import measure_prometheus
from bench.report import write_results

logger = logging.getLogger("bench")

FULL = {"pods": 10_000, "services": 2_000, "rest_clients": 64, "rest_requests": 4_000, "naive_requests": 128,
        "ws_clients": 1_000, "ws_trials": 5, "scrapes": 24, "spacing_seconds": 3600.0,
        "prom_days": 14.0, "prom_step_seconds": 3600}  # fmt: skip
QUICK = {"pods": 400, "services": 80, "rest_clients": 8, "rest_requests": 200, "naive_requests": 16,
         "ws_clients": 20, "ws_trials": 2, "scrapes": 4, "spacing_seconds": 900.0,
         "prom_days": 14.0, "prom_step_seconds": 3600}  # fmt: skip


def _git_rev() -> str:
    command = ["git", "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    return done.stdout.strip() or "unknown"


def _machine() -> str:
    cpus = len([line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("processor")])
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def _rest(url: str, clients: int, requests: int) -> dict[str, Any]:
    return run_python("rest_load", {"url": url, "clients": clients, "requests": requests}, timeout_seconds=600)


def _naive(sim_url: str, size: dict[str, Any]) -> dict[str, Any]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.naive", json.dumps({"sim_url": sim_url, "port": port})], cwd=REPO, text=True
    )
    naive = Child("naive", process)
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/services?limit=1", timeout_seconds=60, child=naive)
        return _rest(f"http://127.0.0.1:{port}/api/v1/services?limit=100", size["rest_clients"], size["naive_requests"])
    finally:
        naive.stop()


def _ws(api: str, sim_url: str, size: dict[str, Any]) -> dict[str, Any]:
    args = {"ws_url": api.replace("http://", "ws://") + "/ws", "origin": api, "sim_url": sim_url,
            "namespace": "scale-00", "deployment": "svc-0000", "clients": size["ws_clients"],
            "trials": size["ws_trials"]}  # fmt: skip
    return run_python("ws_load", args, timeout_seconds=600)


def measure(size: dict[str, Any], workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"pods": size["pods"], "services": size["services"]}
    sim, sim_url, kubeconfig, results["sim_start_seconds"] = start_sim(
        workdir, pods=size["pods"], services=size["services"]
    )
    backend: Child | None = None
    try:
        logger.info("sim ready; starting the backend")
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        backend = start_backend(workdir, kubeconfig, port=port)
        results["sync_seconds"] = wait_ready(f"{api}/ready", timeout_seconds=300, child=backend)
        logger.info("backend ready in %.2f s; REST load", results["sync_seconds"])
        http_json("GET", f"{api}/api/v1/services?limit=1")
        rest = _rest(f"{api}/api/v1/services?limit=100", size["rest_clients"], size["rest_requests"])
        results |= {"services_p50_ms": rest["p50_ms"], "services_p99_ms": rest["p99_ms"],
                    "services_rps": rest["rps"], "services_errors": rest["errors"]}  # fmt: skip
        logger.info("naive baseline")
        naive = _naive(sim_url, size)
        results |= {"naive_services_p50_ms": naive["p50_ms"], "naive_services_p99_ms": naive["p99_ms"]}
        results["speedup_vs_naive"] = naive["p99_ms"] / rest["p99_ms"]
        logger.info("WebSocket fan-out")
        ws = _ws(api, sim_url, size)
        results |= {"ws_clients": ws["clients"], "ws_delta_p50_ms": ws["p50_ms"], "ws_delta_p99_ms": ws["p99_ms"],
                    "ws_resyncs": ws["resyncs"]}  # fmt: skip
        logger.info("ingest and recommendation pass")
        inproc = run_python("inprocess", {"kubeconfig": str(kubeconfig), "data_dir": str(workdir / "inprocess"),
                                          "scrapes": size["scrapes"], "spacing_seconds": size["spacing_seconds"]},
                            timeout_seconds=900)  # fmt: skip
        results |= {key: inproc[key] for key in ("ingest_ms", "ingest_max_ms", "recommend_pass_seconds",
                                                  "history_read_seconds", "containers")}  # fmt: skip
        results["rss_mb"] = backend.rss_mb()
        backend.stop()
        logger.info("Prometheus history: backfill, cold backend, per-container baseline")
        stage = workdir / "prometheus"
        stage.mkdir()
        results |= measure_prometheus(
            stage, sim_url, kubeconfig, days=size["prom_days"], step_seconds=size["prom_step_seconds"]
        )
    finally:
        if backend is not None:
            backend.stop()
        sim.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="small sizes, no thresholds (for CI)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="results directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s", stream=sys.stderr)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="k8s-optimizer-bench-") as tmp:
        results = measure(QUICK if args.quick else FULL, Path(tmp))
    results |= {"mode": "quick" if args.quick else "full", "machine": _machine(), "git_rev": _git_rev(),
                "duration_seconds": round(time.monotonic() - started, 1)}  # fmt: skip
    missed = write_results(results, args.out, enforce=not args.quick)
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    if missed:
        sys.stdout.write(f"targets missed: {', '.join(missed)} (see {args.out / 'latest.md'})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
