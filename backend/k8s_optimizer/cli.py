"""The `k8s-optimizer` command: serve, sim, demo and report.

Each subcommand turns flags into settings and hands off; nothing here does the work itself. Flags win
over `OPTIMIZER_*` environment variables, which win over defaults (pydantic-settings).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from k8s_optimizer import __version__

if TYPE_CHECKING:
    from k8s_optimizer.settings import Settings


def serve_settings(args: argparse.Namespace) -> Settings:
    """`serve`'s flags over the OPTIMIZER_* environment over the defaults."""
    from k8s_optimizer.settings import Settings

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "kubeconfig": args.kubeconfig,
            "context": args.context,
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "prometheus_url": args.prometheus_url,
            "prometheus_bearer_token_file": args.prometheus_bearer_token_file,
            "prometheus_headers": ";".join(args.prometheus_header) if args.prometheus_header else None,
            "prometheus_ca_file": args.prometheus_ca_file,
            "prometheus_insecure_skip_verify": True if args.prometheus_insecure_skip_verify else None,
            "prometheus_cluster_label": args.prometheus_cluster_label,
            "prometheus_cluster": args.prometheus_cluster,
            "history_window": args.history_window,
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from k8s_optimizer.app import create_app
    from k8s_optimizer.serving import server_config

    settings = serve_settings(args)
    # httpx logs every request at INFO: one line per Prometheus query would drown the backend's own log
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn.Server(server_config(create_app(settings), settings)).run()
    return 0


def _sim(args: argparse.Namespace) -> int:
    from k8s_sim.main import run_sim

    return run_sim(args)


def _demo(args: argparse.Namespace) -> int:
    from k8s_optimizer.demo import run_demo

    return run_demo(args)


def _report(args: argparse.Namespace) -> int:
    from k8s_optimizer.report.command import run_report

    return run_report(args)


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the backend against a cluster (kubeconfig or in-cluster)")
    serve.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: in-cluster, then ~/.kube/config)")
    serve.add_argument("--context", help="kubeconfig context")
    serve.add_argument("--host", help="listen address (default 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument("--data-dir", type=Path, help="history store directory (default .data)")
    prometheus = serve.add_argument_group("history from Prometheus (flags as KRR's)")
    prometheus.add_argument("--prometheus-url", help="read usage history from this Prometheus (default: own store)")
    prometheus.add_argument("--prometheus-bearer-token-file", type=Path, help="file holding the bearer token")
    prometheus.add_argument(
        "--prometheus-header", action="append", metavar="'NAME: VALUE'", help="extra header (repeatable)"
    )
    prometheus.add_argument("--prometheus-ca-file", type=Path, help="CA bundle verifying Prometheus's certificate")
    prometheus.add_argument(
        "--prometheus-insecure-skip-verify", action="store_true", help="do not verify the certificate (testing)"
    )
    prometheus.add_argument("--prometheus-cluster-label", help="label telling clusters apart in a shared store")
    prometheus.add_argument("--prometheus-cluster", help="this cluster's value of that label")
    prometheus.add_argument("--history-window", help="how far back history is read, e.g. 14d (default), 36h")
    serve.set_defaults(handler=_serve)


def _add_sim(sub: Any) -> None:
    sim = sub.add_parser("sim", help="run the embedded Kubernetes cluster")
    sim.add_argument("--port", type=int, default=6443, help="API server port (default 6443)")
    sim.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sim.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig for this cluster here")
    sim.add_argument("--scenario", choices=["demo", "scale", "broken"], default="demo")
    sim.add_argument("--pods", type=int, default=10_000, help="pods in the scale scenario")
    sim.add_argument("--services", type=int, default=2_000, help="services in the scale scenario")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    sim.add_argument("--seed", type=int, default=1, help="random seed (deterministic runs)")
    sim.add_argument("--faults", default="", help="fault spec, e.g. 'watch-drop=5,error-rate=0.2'")
    sim.add_argument("--history-hours", type=float, default=0.0, help="pre-run this much simulated time")
    sim.add_argument("--backfill-days", type=float, default=0.0, help="write this much past history (OpenMetrics)")
    sim.add_argument("--backfill-step-seconds", type=int, default=60, help="backfill sample step (default 60)")
    sim.add_argument(
        "--backfill-state-step-seconds", type=int, help="kube-state-metrics' backfill step (default: the step)"
    )
    sim.add_argument(
        "--backfill-series", default="cadvisor,http,state", help="cadvisor|containers, http, state (comma-separated)"
    )
    sim.add_argument("--openmetrics-out", type=Path, help="the backfill file, for promtool create-blocks-from")
    sim.add_argument("--pods-hpa", action="store_true", help="add rps-demo/rps-api, scaled by a Pods-metric HPA")
    sim.add_argument("--prometheus-config-out", type=Path, help="write a prometheus.yml (+ file_sd targets) here")
    sim.set_defaults(handler=_sim)


def _add_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="embedded cluster + backend + dashboard (what `make run` runs)")
    demo.add_argument("--host", default="127.0.0.1", help="listen address of backend and dashboard (default 127.0.0.1)")
    demo.add_argument("--api-port", type=int, default=8080, help="backend port (default 8080)")
    demo.add_argument("--ui-port", type=int, default=3000, help="dashboard port (default 3000)")
    demo.add_argument("--sim-port", type=int, default=6443, help="embedded cluster port (default 6443)")
    demo.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    demo.add_argument("--data-dir", type=Path, default=Path(".data/demo"), help="state directory")
    demo.add_argument("--dist", type=Path, default=Path("dashboard/dist"), help="built dashboard")
    demo.add_argument(
        "--prometheus",
        action="store_true",
        help="backfill history into a real Prometheus (Debian's prometheus) and read history from it",
    )
    demo.add_argument("--backfill-days", type=float, default=14.0, help="days backfilled with --prometheus")
    demo.add_argument("--prometheus-port", type=int, default=9090, help="Prometheus port with --prometheus")
    demo.set_defaults(handler=_demo)


def _add_report(sub: Any) -> None:
    report = sub.add_parser("report", help="print the recommendation report of a running backend")
    report.add_argument("--server", default="http://localhost:8080", help="backend URL")
    report.add_argument("-o", "--output", choices=["table", "json", "yaml", "csv", "markdown"], default="table")
    report.add_argument("--namespace", help="only this namespace")
    report.set_defaults(handler=_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="k8s-optimizer", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"k8s-optimizer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    _add_sim(sub)
    _add_demo(sub)
    _add_report(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
