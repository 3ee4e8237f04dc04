"""Benchmark results: the JSON the issue specifies and a markdown table the README links."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

# figure key -> (label, target text, comparison, threshold)
TARGETS: dict[str, tuple[str, str, Callable[[float, float], bool], float]] = {
    "sim_start_seconds": ("embedded cluster `scale` scenario up and serving (issue 3)", "< 30 s", operator.lt, 30.0),
    "sync_seconds": ("caches synced from cold start (10,000 pods / 2,000 services)", "≤ 5 s", operator.le, 5.0),
    "rss_mb": ("backend RSS with 10,000 pods", "≤ 400 MB", operator.le, 400.0),
    "services_p99_ms": ("GET /api/v1/services, 64 concurrent clients, p99", "≤ 50 ms", operator.le, 50.0),
    "speedup_vs_naive": ("same, versus listing from the API server per request", "≥ 20×", operator.ge, 20.0),
    "ws_delta_p99_ms": ("API change → delta at each of 1,000 WebSocket clients, p99", "≤ 250 ms", operator.le, 250.0),
    "recommend_pass_seconds": ("one full recommendation pass over 10,000 containers", "≤ 2 s", operator.le, 2.0),
    "ingest_ms": ("metrics ingest, one scrape of 10,000 containers", "≤ 300 ms", operator.le, 300.0),
    "prom_pass_seconds": (
        "Prometheus history, 10,000 containers × 14 d: cold start to all recommendations (issue 12)",
        "≤ 30 s",
        operator.le,
        30.0,
    ),
    "prom_query_reduction": ("same, per-container queries (KRR's way) ÷ ours", "≥ 10×", operator.ge, 10.0),
    "prom_speedup_vs_per_container": ("same, per-container read time ÷ ours", "≥ 5×", operator.ge, 5.0),
}


GAPS = Path(__file__).resolve().parent / "gaps.md"  # the profile-backed explanation of any target missed


def write_results(results: dict[str, Any], out: Path, *, enforce: bool) -> list[str]:
    """Write latest.json and latest.md; return the figures that missed their target (full runs only)."""
    out.mkdir(parents=True, exist_ok=True)
    name = "latest" if enforce else "quick"
    (out / f"{name}.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    missed = [key for key, (_, _, ok, limit) in TARGETS.items() if enforce and not ok(float(results[key]), limit)]
    lines = [
        f"# Benchmark results ({results['mode']})",
        "",
        f"Machine: {results['machine']} · git {results['git_rev']} · {results['pods']} pods / "
        f"{results['services']} services · run took {results['duration_seconds']} s",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
    ]
    for key, (label, target, ok, limit) in TARGETS.items():
        value = float(results[key])
        met = "yes" if ok(value, limit) else "no — see [gaps](#gaps)"
        lines.append(f"| {label} (`{key}`) | {value:.3g} | {target} | {met} |")
    if any(not ok(float(results[key]), limit) for key, (_, _, ok, limit) in TARGETS.items()) and GAPS.exists():
        lines += ["", GAPS.read_text(encoding="utf-8").strip()]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return missed
