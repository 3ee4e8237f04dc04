"""The service network map of the demo scenario equals what kubectl prints, and follows a scale.

Truth comes from kubectl (a real client): `get endpoints -o wide` (and -o json for lists longer than
the wide column shows), `get pods -o wide`, `get nodes -o wide` and `get svc -o wide`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from k8s_optimizer.analysis.network import ServiceMap, network_map
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.live.model import ClusterModel
from tests.live.conftest import FakeHistory, ModelFactory, eventually
from tests.simcluster import SimCluster

HOST_PORTS = {30080: 3000, 30081: 8080}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    # Ten simulated seconds per second: pods become ready quickly, so a scale settles within the test.
    with SimCluster.start(scenario="demo", speed=10.0) as cluster:
        yield cluster


def wide_rows(sim: SimCluster, *args: str) -> list[dict[str, str]]:
    """`kubectl get ... -o wide` as dicts keyed by column header (columns split on 2+ spaces)."""
    result = sim.kubectl("get", *args, "-o", "wide")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False)) for line in lines[1:]]


def kubectl_truth(sim: SimCluster) -> dict[tuple[str, str], dict[str, Any]]:
    """Per service: ready/not-ready ip:port sets, pod → (IP, node, node IP) and nodePorts, from kubectl."""
    endpoints = json.loads(sim.kubectl("get", "endpoints", "-A", "-o", "json").stdout)["items"]
    pods = {(row["NAMESPACE"], row["NAME"]): (row["IP"], row["NODE"]) for row in wide_rows(sim, "pods", "-A")}
    node_ips = {row["NAME"]: row["INTERNAL-IP"] for row in wide_rows(sim, "nodes")}
    services = {(row["NAMESPACE"], row["NAME"]): row["PORT(S)"] for row in wide_rows(sim, "svc", "-A")}
    truth: dict[tuple[str, str], dict[str, Any]] = {}
    for item in endpoints:
        key = (item["metadata"]["namespace"], item["metadata"]["name"])
        ready: set[str] = set()
        not_ready: set[str] = set()
        backends: dict[str, tuple[str, str, str]] = {}
        for subset in item.get("subsets") or []:
            ports = [port["port"] for port in subset.get("ports") or []]
            for field, bucket in (("addresses", ready), ("notReadyAddresses", not_ready)):
                for address in subset.get(field) or []:
                    bucket.update(f"{address['ip']}:{port}" for port in ports)
                    pod_name = (address.get("targetRef") or {}).get("name")
                    if pod_name:
                        ip, node = pods[(key[0], pod_name)]
                        backends[pod_name] = (ip, node, node_ips[node])
        node_ports = sorted(int(p) for p in re.findall(r":(\d+)/", services.get(key, "")))
        truth[key] = {"ready": ready, "not_ready": not_ready, "backends": backends, "node_ports": node_ports}
    return truth


def model_view(service: ServiceMap) -> dict[str, Any]:
    ready = {address for e in service.endpoints if e.ready for address in e.addresses}
    not_ready = {address for e in service.endpoints if not e.ready for address in e.addresses}
    backends = {e.pod: (e.ip, e.node, e.node_ip) for e in service.endpoints if e.pod}
    node_ports = sorted(p.node_port for p in service.ports if p.node_port is not None)
    return {"ready": ready, "not_ready": not_ready, "backends": backends, "node_ports": node_ports}


def ours(model: ClusterModel) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s.namespace, s.name): model_view(s) for s in network_map(Topology.build(model.snapshot())).services}


async def test_every_demo_service_matches_kubectl(sim: SimCluster, make_model: ModelFactory) -> None:
    model = await make_model(host_port_mappings=HOST_PORTS)
    deadline = time.monotonic() + 10.0
    while True:
        truth = await asyncio.to_thread(kubectl_truth, sim)
        mine = ours(model)
        if mine == truth or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert mine == truth
    assert len(truth) >= 6
    assert any(view["ready"] for view in truth.values())
    services = network_map(Topology.build(model.snapshot())).services
    dashboard = next(s for s in services if s.name == "optimizer-dashboard")
    assert [(p.node_port, p.host_port) for p in dashboard.ports] == [(30080, 3000)]
    assert [hop.address for hop in dashboard.paths[-1].hops[:1]] == ["localhost:3000"]


async def test_wide_endpoint_column_agrees_with_the_map(sim: SimCluster, make_model: ModelFactory) -> None:
    """The ENDPOINTS column kubectl prints (first three, then '+ N more...') against our ready addresses."""
    model = await make_model()
    deadline = time.monotonic() + 10.0
    while True:
        rows = await asyncio.to_thread(wide_rows, sim, "endpoints", "-A")
        maps = {(s.namespace, s.name): s for s in network_map(Topology.build(model.snapshot())).services}
        mismatches = [
            row for row in rows if not _column_agrees(row["ENDPOINTS"], maps[(row["NAMESPACE"], row["NAME"])])
        ]
        if not mismatches or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert mismatches == []


def _column_agrees(column: str, service: ServiceMap) -> bool:
    # One address per (endpoint, port): kube-dns lists ip:53 twice (UDP and TCP), as kubectl does.
    ready = [address for endpoint in service.ready_endpoints for address in endpoint.addresses]
    if column == "<none>":
        return not ready
    shown, _, more = column.partition(" + ")
    addresses = shown.split(",")
    extra = int(more.split()[0]) if more else 0
    return set(addresses) <= set(ready) and len(addresses) + extra == len(ready)


async def test_map_follows_kubectl_scale_within_one_second(sim: SimCluster, make_model: ModelFactory) -> None:
    model = await make_model()
    key = ("k8s-optimizer", "optimizer-dashboard")
    before = await asyncio.to_thread(kubectl_truth, sim)
    replicas = len(before[key]["backends"]) + 2
    result = sim.kubectl("scale", "deployment/optimizer-dashboard", "-n", "k8s-optimizer", f"--replicas={replicas}")
    assert result.returncode == 0, result.stderr
    # Wait until the cluster itself shows the new ready endpoints (kubectl), then give the model 1 s.
    deadline = time.monotonic() + 20.0
    while True:
        truth = (await asyncio.to_thread(kubectl_truth, sim))[key]
        if len(truth["ready"]) == replicas or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert len(truth["ready"]) == replicas
    lag_seconds = await eventually(lambda: ours(model)[key]["ready"] == truth["ready"], 1.0, "map follows the scale")
    assert lag_seconds <= 1.0


async def test_scrapes_carry_the_api_timestamp_and_resolve_workloads(sim: SimCluster, make_model: ModelFactory) -> None:
    history = FakeHistory()
    model = await make_model(metrics_interval_seconds=0.2, history=history)
    await eventually(lambda: any(scrape[0] for scrape in history.scrapes), 10.0, "a scrape with containers")

    def raw_metrics() -> dict[tuple[str, str, str], tuple[datetime, str]]:
        raw = json.loads(sim.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods").stdout)
        return {
            (item["metadata"]["namespace"], item["metadata"]["name"], container["name"]): (
                datetime.fromisoformat(item["timestamp"]),
                container["usage"]["cpu"],
            )
            for item in raw["items"]
            for container in item["containers"]
        }

    deadline = time.monotonic() + 10.0
    while True:
        truth = await asyncio.to_thread(raw_metrics)
        mine = {key: usage.timestamp for key, usage in model.snapshot().container_usage.items()}
        if mine == {key: stamp for key, (stamp, _) in truth.items()} or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert mine == {key: stamp for key, (stamp, _) in truth.items()}
    workloads = {
        (scraped.usage.key.pod.rsplit("-", 2)[0], scraped.workload)
        for containers, _ in history.scrapes
        for scraped in containers
        if scraped.usage.key.pod.startswith("echo-demo-")
    }
    assert {workload for _, workload in workloads} == {ObjectRef("Deployment", "k8s-optimizer", "echo-demo")}
    # Each (container, API timestamp) is recorded once, however often we scrape.
    recorded = [(s.usage.key, s.usage.timestamp) for containers, _ in history.scrapes for s in containers]
    assert len(recorded) == len(set(recorded))
