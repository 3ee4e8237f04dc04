"""The kubelet's /metrics/cadvisor and /metrics/resource through the node proxy: rows, labels and values
against the load model, and agreement with metrics.k8s.io for the same instant."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import aiohttp

from k8s_sim import resources as r
from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.scrape.exposition import TEXT_CONTENT_TYPE, render_text
from k8s_sim.scrape.kubelet import PAUSE_MEMORY_BYTES, cri_image, pod_cgroup, sandbox_id
from tests.sim.embedded import pods_of, running_cluster
from tests.sim.scrape.exposition import parse, select
from tests.sim.scrape.served import served_cluster

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NODE_SYSTEM_MEMORY_BYTES = 380 * 1024 * 1024


def _echo_pod(cluster: EmbeddedCluster) -> tuple[str, str, str]:
    pod = sorted(pods_of(cluster, "k8s-optimizer", "echo-demo"), key=lambda p: p["metadata"]["name"])[0]
    return pod["metadata"]["name"], pod["metadata"]["uid"], pod["spec"]["nodeName"]


async def test_cadvisor_rows_and_labels_per_pod() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(60)
        name, uid, node = _echo_pod(cluster)
        rows, types = parse(cluster_text(cluster, "cadvisor", node))
        assert types == {"container_cpu_usage_seconds_total": "counter", "container_memory_working_set_bytes": "gauge"}
        pod_rows = select(rows, "container_memory_working_set_bytes", pod=name)
        runtime = cluster.kubelet.pods[("k8s-optimizer", name)]
        container_id = runtime.containers[0].container_id.removeprefix("containerd://")
        path = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid.replace('-', '_')}.slice"
        sandbox = sandbox_id(uid)
        assert [row.labels for row in pod_rows] == [
            {"container": "", "id": path, "image": "", "name": "", "namespace": "k8s-optimizer", "pod": name},
            {
                "container": "POD",
                "id": f"{path}/cri-containerd-{sandbox}.scope",
                "image": "registry.k8s.io/pause:3.10",
                "name": sandbox,
                "namespace": "k8s-optimizer",
                "pod": name,
            },
            {
                "container": "echo",
                "id": f"{path}/cri-containerd-{container_id}.scope",
                "image": "docker.io/ealen/echo-server:0.9.2@sha256:"
                "006b92e1d6682442e29d1d0d73c34a61166d42f8a5bf1ea10c318f07ad4790e2",
                "name": container_id,
                "namespace": "k8s-optimizer",
                "pod": name,
            },
        ]
        cpu_rows = select(rows, "container_cpu_usage_seconds_total", pod=name)
        assert [row.labels for row in cpu_rows] == [{**row.labels, "cpu": "total"} for row in pod_rows]
        reading = cluster.load.readings[("k8s-optimizer", name)]["echo"]
        assert [row.value for row in pod_rows] == [
            reading.memory_bytes + PAUSE_MEMORY_BYTES,
            PAUSE_MEMORY_BYTES,
            reading.memory_bytes,
        ]
        assert cluster.load.sample_seconds is not None
        stamp = round(cluster.load.sample_seconds * 1000)
        assert {row.timestamp_ms for row in rows} == {stamp}
        assert stamp % 15_000 == 0


async def test_cadvisor_counter_rate_equals_metrics_k8s_io() -> None:
    """rate() over one 15 s sample is exactly the sample metrics.k8s.io serves; memory is the same bytes."""
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(60)
        name, _, node = _echo_pod(cluster)
        before = select(
            parse(cluster_text(cluster, "cadvisor", node))[0], "container_cpu_usage_seconds_total", pod=name
        )
        await cluster.advance(15)
        after_rows = parse(cluster_text(cluster, "cadvisor", node))[0]
        after = select(after_rows, "container_cpu_usage_seconds_total", pod=name)
        metric = cluster.metrics.pod_metric("k8s-optimizer", name)
        assert metric is not None
        assert cluster.load.sample_seconds is not None
        stamp = round(cluster.load.sample_seconds * 1000)
        usage = metric["containers"][0]["usage"]
        nanocores = int(usage["cpu"].removesuffix("n"))
        pod_row, pause_row, echo_row = (b.value - a.value for a, b in zip(before, after, strict=True))
        assert math.isclose(echo_row, nanocores * 15 / 1e9, rel_tol=1e-12)
        assert math.isclose(pod_row, nanocores * 15 / 1e9, rel_tol=1e-12)
        assert pause_row == 0
        (memory,) = select(after_rows, "container_memory_working_set_bytes", pod=name, container="echo")
        assert usage["memory"] == f"{math.ceil(memory.value / 1024)}Ki"
        assert (before[0].timestamp_ms, after[0].timestamp_ms) == (stamp - 15_000, stamp)


async def test_cadvisor_root_row_is_the_node() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(45)
        node = "k8s-optimizer-worker"
        rows, _ = parse(cluster_text(cluster, "cadvisor", node))
        (root,) = select(rows, "container_memory_working_set_bytes", id="/")
        assert root.labels == {"container": "", "id": "/", "image": "", "name": "", "namespace": "", "pod": ""}
        containers = [
            row.value
            for row in rows
            if row.name == "container_memory_working_set_bytes" and row.labels["container"] not in ("", "POD")
        ]
        assert root.value == sum(containers) + NODE_SYSTEM_MEMORY_BYTES
        metric = cluster.metrics.node_metric(node)
        assert metric is not None
        assert metric["usage"]["memory"] == f"{math.ceil(root.value / 1024)}Ki"
        pods = {row.labels["pod"] for row in rows if row.labels["pod"]}
        on_node = {
            key[1] for key, entry in cluster.load.pods.items() if entry.node == node and cluster.load.readings.get(key)
        }
        assert pods == on_node


async def test_resource_endpoint_matches_cadvisor() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(60)
        name, _, node = _echo_pod(cluster)
        cadvisor, _ = parse(cluster_text(cluster, "cadvisor", node))
        rows, types = parse(cluster_text(cluster, "resource", node))
        assert list(types) == [
            "container_cpu_usage_seconds_total",
            "container_memory_working_set_bytes",
            "container_start_time_seconds",
            "node_cpu_usage_seconds_total",
            "node_memory_working_set_bytes",
            "pod_cpu_usage_seconds_total",
            "pod_memory_working_set_bytes",
            "resource_scrape_error",
        ]
        labels = {"container": "echo", "namespace": "k8s-optimizer", "pod": name}
        for family in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes"):
            (row,) = select(rows, family, **labels)
            assert row.labels == labels
            (same,) = select(cadvisor, family, **labels)
            assert row.value == same.value
            assert row.timestamp_ms == same.timestamp_ms
        (start,) = select(rows, "container_start_time_seconds", **labels)
        started = cluster.kubelet.pods[("k8s-optimizer", name)].containers[0].started_at
        assert started is not None
        assert start.value == int(started)
        (pod_memory,) = select(rows, "pod_memory_working_set_bytes", namespace="k8s-optimizer", pod=name)
        (pod_row,) = select(cadvisor, "container_memory_working_set_bytes", pod=name, container="")
        assert pod_memory.value == pod_row.value
        (node_cpu,) = select(rows, "node_cpu_usage_seconds_total")
        (root_cpu,) = select(cadvisor, "container_cpu_usage_seconds_total", id="/")
        assert node_cpu.labels == {}
        assert node_cpu.value == root_cpu.value
        (error,) = select(rows, "resource_scrape_error")
        assert (error.value, error.timestamp_ms) == (0, None)


def test_cgroup_and_image_names() -> None:
    uid = "1fc56a19-41b3-4576-a3c2-b4989beef967"
    assert pod_cgroup(uid, "Guaranteed") == "/kubepods.slice/kubepods-pod1fc56a19_41b3_4576_a3c2_b4989beef967.slice"
    assert pod_cgroup(uid, "BestEffort") == (
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1fc56a19_41b3_4576_a3c2_b4989beef967.slice"
    )
    assert cri_image("busybox:1.36.1") == "docker.io/library/busybox:1.36.1"
    assert cri_image("nginx") == "docker.io/library/nginx:latest"
    assert cri_image("ealen/echo-server:0.9.2") == "docker.io/ealen/echo-server:0.9.2"
    assert cri_image("registry.k8s.io/coredns/coredns:v1.11.3") == "registry.k8s.io/coredns/coredns:v1.11.3"
    assert cri_image("localhost:5000/app") == "localhost:5000/app:latest"


async def test_node_proxy_over_http() -> None:
    async with served_cluster(start=START) as (cluster, url), aiohttp.ClientSession() as session:
        node = "k8s-optimizer-worker"
        async with session.get(f"{url}/api/v1/nodes/{node}/proxy/metrics/cadvisor") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == TEXT_CONTENT_TYPE
            served_rows, _ = parse(await response.text())
            local_rows, _ = parse(cluster_text(cluster, "cadvisor", node))
            assert [row.labels for row in served_rows] == [row.labels for row in local_rows]
        async with session.get(f"{url}/api/v1/nodes/{node}:10250/proxy/metrics/resource") as response:
            assert response.status == 200
        async with session.get(f"{url}/api/v1/nodes/nope/proxy/metrics/cadvisor") as response:
            assert response.status == 404
            body = await response.json()
            assert (body["kind"], body["reason"], body["message"]) == ("Status", "NotFound", 'nodes "nope" not found')
        assert cluster.store.get(r.NODES, "", node) is not None


def cluster_text(cluster: EmbeddedCluster, endpoint: str, node: str) -> str:
    families = (
        cluster.scrape.kubelet.cadvisor(node) if endpoint == "cadvisor" else cluster.scrape.kubelet.resource(node)
    )
    return render_text(families)
