"""A real Prometheus (Debian's `prometheus` package) scraping the embedded cluster on loopback through the
API server's proxy paths, on top of the backfilled history promtool turned into blocks: PromQL answers
the load model's numbers, live and past."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import aiohttp
import pytest

from k8s_sim.scrape import promconfig
from k8s_sim.scrape.backfill import write_backfill
from k8s_sim.scrape.promconfig import TargetWriter
from tests.sim.embedded import pods_of
from tests.sim.scrape.openmetrics import read
from tests.sim.scrape.processes import PROMTOOL_BLOCKS, run
from tests.sim.scrape.promserver import prometheus, query, until
from tests.sim.scrape.served import served_cluster

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="prometheus/promtool (Debian package prometheus) are not installed",
)


async def test_prometheus_scrapes_the_cluster_and_holds_the_backfill(tmp_path: Path) -> None:
    async with served_cluster() as (cluster, api_url):
        pod = sorted(p["metadata"]["name"] for p in pods_of(cluster, "k8s-optimizer", "echo-demo"))[0]
        key = ("k8s-optimizer", pod)
        samples: dict[int, int] = {}  # sample time (ms) -> echo's working set, as the kubelet reports it

        def record(now: float) -> None:
            reading = cluster.load.readings.get(key, {}).get("echo")
            if reading is not None:
                samples[round(now * 1000)] = reading.memory_bytes

        cluster.load.observers.append(record)
        history = tmp_path / "history.om"
        stats = write_backfill(cluster.scrape, history, days=0.1, step_seconds=60)
        blocks = await run(*PROMTOOL_BLOCKS, str(history), str(tmp_path / "data"))
        assert blocks.returncode == 0, blocks.stderr
        # parsed before Prometheus starts: parsing blocks the loop the cluster serves on, and a scrape that
        # times out marks every series of its target stale
        _, series, _ = read(history)
        config = tmp_path / "prometheus.yml"
        writer = TargetWriter(cluster.store, config, api_url.removeprefix("http://"), scrape_interval_seconds=5)
        writer.write_config()
        async with prometheus(config, tmp_path / "data") as url, aiohttp.ClientSession() as session:
            targets = sum(len(group) for group in promconfig.targets(cluster.store).values())
            up = await until(
                session,
                f"{url}/api/v1/query",
                lambda body: body["data"]["result"] and body["data"]["result"][0]["value"][1] == str(targets),
                {"query": "sum(up)"},
            )
            assert up["data"]["result"][0]["value"][1] == str(targets)
            selector = f'container_memory_working_set_bytes{{namespace="k8s-optimizer",pod="{pod}",container="echo"}}'
            # live: the value Prometheus stored at a kubelet sample timestamp is that sample's working set
            body = await until(
                session,
                f"{url}/api/v1/query",
                lambda b: any(int(float(r["value"][1])) in samples for r in b["data"]["result"]),
                {"query": f"timestamp({selector}) * 1000"},
            )
            stamp_ms = int(float(body["data"]["result"][0]["value"][1]))
            (live,) = await query(session, url, selector, stamp_ms / 1000)
            assert int(live["value"][1]) == samples[stamp_ms]
            assert live["metric"]["job"] == "kubelet"
            assert live["metric"]["metrics_path"] == "/metrics/cadvisor"
            # past: the backfilled point 30 minutes before the live start is there, with the same labels
            (points,) = [
                p
                for (name, labels), p in series.items()
                if name == "container_memory_working_set_bytes"
                and ("pod", pod) in labels
                and ("container", "echo") in labels
            ]
            at, value = points[-30]
            (past,) = await query(session, url, selector, at)
            assert float(past["value"][1]) == value
            assert past["metric"] == live["metric"]
            # a PromQL the optimizer asks: requests per second of the pod over ten backfilled minutes
            counter = next(
                p for (name, labels), p in series.items() if name == "http_requests_total" and ("pod", pod) in labels
            )
            (rate,) = await query(
                session,
                url,
                f'rate(http_requests_total{{namespace="k8s-optimizer",pod="{pod}"}}[10m])',
                counter[-20][0],
            )
            assert math.isclose(float(rate["value"][1]), (counter[-20][1] - counter[-30][1]) / 600, rel_tol=1e-9)
            (requests,) = await query(
                session,
                url,
                f'kube_pod_container_resource_requests{{namespace="k8s-optimizer",pod="{pod}",resource="cpu"}}',
            )
            assert float(requests["value"][1]) == 0.05
            assert stats.samples > 0
