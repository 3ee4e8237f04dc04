"""The OpenMetrics backfill: structure promtool accepts, the live series' names and labels, values from the
load model, monotonic counters that the live counters continue."""

from __future__ import annotations

import argparse
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from k8s_sim import resources as r
from k8s_sim.main import check_args
from k8s_sim.scrape.backfill import Backfill, write_backfill
from k8s_sim.scrape.exposition import render_text
from k8s_sim.scrape.promconfig import cadvisor_target, ksm_target, pod_target
from tests.sim.embedded import pods_of, running_cluster
from tests.sim.scrape.exposition import parse
from tests.sim.scrape.openmetrics import read
from tests.sim.scrape.processes import PROMTOOL_BLOCKS, run

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAYS = 0.05  # 72 minutes: 72 one-minute steps


def _live_keys(text: str, target: dict[str, str]) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    rows, _ = parse(text)
    return {(row.name, frozenset((k, v) for k, v in {**target, **row.labels}.items() if v)) for row in rows}


async def test_file_structure_series_and_values(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(30)
        path = tmp_path / "history.om"
        stats = write_backfill(cluster.scrape, path, days=DAYS, step_seconds=60)
        end = cluster.load.sample_seconds
        assert end is not None
        assert (stats.start_seconds, stats.end_seconds) == (end - 72 * 60, end)
        types, series, order = read(path)
        assert order[:3] == ["container_cpu_usage_seconds", "container_memory_working_set_bytes", "http_requests"]
        assert types["container_cpu_usage_seconds"] == "counter"
        assert types["kube_pod_container_status_restarts"] == "counter"
        assert types["kube_pod_owner"] == "gauge"
        assert stats.series == len(series)
        assert stats.samples == 72 * len(series)
        expected_stamps = [int(end) - 60 * k for k in range(72, 0, -1)]
        for points in series.values():
            assert [t for t, _ in points] == expected_stamps
        for (name, _), points in series.items():
            if name.endswith("_total"):
                values = [v for _, v in points]
                assert values == sorted(values), name
        # every live cAdvisor row, request counter and kube-state-metrics series of a running pod is in the file
        keys = set(series)
        for node in cluster.store.list_objects(r.NODES):
            text = render_text(cluster.scrape.kubelet.cadvisor(node["metadata"]["name"]))
            assert _live_keys(text, cadvisor_target(node).labels) <= keys
        ksm = ksm_target(cluster.store)
        assert ksm is not None
        state_rows = _live_keys(render_text(cluster.scrape.state.families()), ksm.labels)
        phases = {k for k in state_rows if k[0] == "kube_pod_status_phase"}
        assert state_rows - phases <= keys
        echo = sorted(pods_of(cluster, "k8s-optimizer", "echo-demo"), key=lambda p: p["metadata"]["name"])[0]
        target = pod_target(cluster.store, echo)
        assert target is not None
        families = cluster.scrape.traffic.pod(("k8s-optimizer", echo["metadata"]["name"]))
        assert families is not None
        assert _live_keys(render_text(families), target.labels) <= keys


async def test_memory_values_come_from_the_load_model(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(30)
        backfill = Backfill(cluster.scrape, days=DAYS, step_seconds=60)
        path = tmp_path / "history.om"
        backfill.write(path)
        _, series, _ = read(path)
        pod = sorted(pods_of(cluster, "k8s-optimizer", "echo-demo"), key=lambda p: p["metadata"]["name"])[0]
        key = ("k8s-optimizer", pod["metadata"]["name"])
        entry = cluster.load.pods[key]
        model = cluster.load.effective_model(entry.workload)
        (points,) = [
            p
            for (name, labels), p in series.items()
            if name == "container_memory_working_set_bytes"
            and ("pod", key[1]) in labels
            and ("container", "echo") in labels
        ]
        ready = [
            p
            for p in pods_of(cluster, "k8s-optimizer", "echo-demo")
            if cluster.kubelet.pods[("k8s-optimizer", p["metadata"]["name"])].ready
        ]
        drivers = cluster.load.effective_model(("k8s-optimizer", "load-gen"))
        started = cluster.kubelet.pods[key].containers[0].started_at
        assert started is not None
        for stamp, value in points[::17]:
            rps = cluster.load.traffic(entry.workload, model, stamp, calm=False)
            rps += cluster.load.traffic(("k8s-optimizer", "load-gen"), drivers, stamp, calm=False)
            uptime = stamp - started if stamp >= started else stamp - backfill.window_start
            _, memory = cluster.load.container_usage(entry, 0, model, rps / len(ready), stamp // 15, uptime)
            assert value == int(min(memory, 128 * 1024 * 1024))


async def test_live_counters_continue_from_the_history(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(30)
        path = tmp_path / "history.om"
        write_backfill(cluster.scrape, path, days=DAYS, step_seconds=60)
        _, series, _ = read(path)
        node = "k8s-optimizer-worker"
        live = {
            frozenset((k, v) for k, v in row.labels.items() if v): row.value
            for row in parse(render_text(cluster.scrape.kubelet.cadvisor(node)))[0]
            if row.name == "container_cpu_usage_seconds_total"
        }
        for (name, labels), points in series.items():
            if name != "container_cpu_usage_seconds_total" or ("node", node) not in labels:
                continue
            own = frozenset(item for item in labels if item[0] not in ("job", "instance", "node", "metrics_path"))
            last = points[-1][1]
            assert live[own] >= last
            assert live[own] - last <= 4.0 * 60  # at most one step of four busy cores
        await cluster.advance(15)
        after = parse(render_text(cluster.scrape.kubelet.cadvisor(node)))[0]
        assert all(row.value >= 0 for row in after)


async def test_container_rows_only(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        path = tmp_path / "history.om"
        write_backfill(cluster.scrape, path, days=DAYS, step_seconds=60, groups=("containers",))
        types, series, _ = read(path)
        assert list(types) == ["container_cpu_usage_seconds", "container_memory_working_set_bytes"]
        containers = {dict(labels).get("container") for _, labels in series}
        assert None not in containers  # no node root or pod cgroup rows (their container label is empty)
        assert "POD" not in containers
        running = sum(len(readings) for readings in cluster.load.readings.values())
        assert len(series) == 2 * running


async def test_state_series_at_a_coarser_step(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(30)
        path = tmp_path / "history.om"
        write_backfill(cluster.scrape, path, days=DAYS, step_seconds=60, state_step_seconds=300)
        end = cluster.load.sample_seconds
        assert end is not None
        _, series, _ = read(path)
        every_minute = [int(end) - 60 * k for k in range(72, 0, -1)]
        every_five = [int(end) - 60 - 300 * k for k in range(14, -1, -1)]  # ends at the last step, like the rest
        for (name, _), points in series.items():
            stamps = [t for t, _ in points]
            assert stamps == (every_five if name.startswith("kube_") else every_minute), name


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
async def test_promtool_creates_blocks(tmp_path: Path) -> None:
    async with running_cluster("demo", start=START) as cluster:
        path = tmp_path / "history.om"
        stats = write_backfill(cluster.scrape, path, days=0.2, step_seconds=60)
        result = await run(*PROMTOOL_BLOCKS, str(path), str(tmp_path / "data"))
        assert result.returncode == 0, result.stderr
        listing = await run("promtool", "tsdb", "list", str(tmp_path / "data"))
        assert listing.returncode == 0, listing.stderr
        blocks = [line.split() for line in listing.stdout.splitlines()[1:] if line.strip()]
        assert blocks
        assert sum(int(block[4]) for block in blocks) == stats.samples  # ULID, MIN, MAX, DURATION, NUM SAMPLES, ...
        assert math.isclose(min(int(b[1]) for b in blocks) / 1000, stats.start_seconds)


def test_bad_flag_combinations_are_named() -> None:
    def args(**overrides: object) -> argparse.Namespace:
        base: dict[str, object] = {
            "backfill_days": 0.0,
            "openmetrics_out": None,
            "backfill_step_seconds": 60,
            "backfill_series": "cadvisor,http,state",
            "backfill_state_step_seconds": None,
        }
        return argparse.Namespace(**{**base, **overrides})

    assert check_args(args()) is None
    assert check_args(args(backfill_days=14, openmetrics_out=Path("x.om"))) is None
    assert check_args(args(backfill_days=14)) == "--backfill-days needs --openmetrics-out FILE"
    assert check_args(args(backfill_days=-1)) == "--backfill-days: must be 0 or more"
    assert check_args(args(backfill_step_seconds=0)) == "--backfill-step-seconds: must be a positive number of seconds"
    assert check_args(args(backfill_state_step_seconds=300)) is None
    assert check_args(args(backfill_state_step_seconds=90)) == (
        "--backfill-state-step-seconds: must be a positive multiple of --backfill-step-seconds"
    )
    assert check_args(args(backfill_series="cadvisor,nodes")) == (
        "--backfill-series: unknown nodes (choose from cadvisor, containers, http, state)"
    )
