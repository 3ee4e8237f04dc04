"""The benchmark harness itself must not rot: `python -m bench --quick` runs end to end in CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import TARGETS

REPO = Path(__file__).resolve().parents[2]


def test_quick_bench_measures_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "quick.json").read_text())
    for key in [*TARGETS, "services_p50_ms", "naive_services_p99_ms", "ws_clients", "machine", "git_rev"]:
        assert key in results
    assert results["mode"] == "quick"
    assert results["services_errors"] == 0
    assert results["ws_clients"] == 20
    assert results["ws_resyncs"] == 0
    assert results["containers"] >= 400
    assert results["prom_containers"] >= 400
    assert results["prom_backfill_days"] == 14.0
    assert 0 < results["prom_queries"] < results["per_container_queries"] == 3 * results["prom_containers"]
    assert results["prom_pass_seconds"] > 0
    table = (tmp_path / "quick.md").read_text()
    assert table.count("\n| ") == len(TARGETS) + 1  # header + one row per figure
