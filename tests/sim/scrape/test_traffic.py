"""Per-pod request counters behind Services: the load model's requests, through the pod proxy."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import aiohttp

from k8s_sim.scrape.exposition import render_text
from tests.sim.embedded import pods_of, running_cluster
from tests.sim.scrape.exposition import parse
from tests.sim.scrape.served import served_cluster

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_request_counter_integrates_the_pods_share() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(60)
        name = sorted(p["metadata"]["name"] for p in pods_of(cluster, "k8s-optimizer", "echo-demo"))[0]
        key = ("k8s-optimizer", name)
        families = cluster.scrape.traffic.pod(key)
        assert families is not None
        (before,), types = parse(render_text(families))
        assert types == {"http_requests_total": "counter"}
        assert before.labels == {"namespace": "k8s-optimizer", "pod": name, "service": "echo-demo"}
        await cluster.advance(15)
        share = cluster.load.pod_rps[key]
        ready = sum(1 for p in pods_of(cluster, "k8s-optimizer", "echo-demo") if p["status"].get("podIP"))
        assert math.isclose(share, cluster.load.workload_rps[("k8s-optimizer", "echo-demo")] / ready)
        families = cluster.scrape.traffic.pod(key)
        assert families is not None
        (after,), _ = parse(render_text(families))
        assert math.isclose(after.value - before.value, share * 15, rel_tol=1e-12)
        assert share > 0


async def test_pod_proxy_over_http() -> None:
    async with served_cluster(start=START) as (cluster, url), aiohttp.ClientSession() as session:
        name = sorted(p["metadata"]["name"] for p in pods_of(cluster, "k8s-optimizer", "echo-demo"))[0]
        async with session.get(f"{url}/api/v1/namespaces/k8s-optimizer/pods/{name}:8080/proxy/metrics") as response:
            assert response.status == 200
            (row,), _ = parse(await response.text())
            assert row.labels["service"] == "echo-demo"
        (load_gen,) = pods_of(cluster, "k8s-optimizer", "load-gen")
        path = f"/api/v1/namespaces/k8s-optimizer/pods/{load_gen['metadata']['name']}/proxy/metrics"
        async with session.get(url + path) as response:
            assert response.status == 404  # no Service selects the load generator: it serves no /metrics page
        async with session.get(f"{url}/api/v1/namespaces/k8s-optimizer/pods/nope/proxy/metrics") as response:
            assert response.status == 404
            assert (await response.json())["message"] == 'pods "nope" not found'
