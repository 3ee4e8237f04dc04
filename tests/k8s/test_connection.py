"""Connecting and reading raw JSON: config errors, HTTP statuses and timeouts become k8s.errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_optimizer.k8s.connection import connect
from k8s_optimizer.k8s.errors import (
    ClusterConfigError,
    ClusterConflictError,
    ClusterError,
    ClusterForbiddenError,
    ClusterInvalidError,
    ClusterNotFoundError,
    ClusterThrottledError,
    ClusterUnavailableError,
    ResourceExpiredError,
    error_for_status,
)
from k8s_optimizer.settings import Settings
from tests.simcluster import SimCluster


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo") as cluster:
        yield cluster


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (400, None, ClusterInvalidError),
        (401, None, ClusterForbiddenError),
        (403, None, ClusterForbiddenError),
        (404, None, ClusterNotFoundError),
        (409, None, ClusterConflictError),
        (410, None, ResourceExpiredError),
        (422, None, ClusterInvalidError),
        (429, None, ClusterThrottledError),
        (500, None, ClusterUnavailableError),
        (503, 2.0, ClusterThrottledError),
        (418, None, ClusterError),
    ],
)
def test_error_for_status(status: int, retry_after: float | None, expected: type[ClusterError]) -> None:
    error = error_for_status(status, "why", retry_after_seconds=retry_after)
    assert type(error) is expected
    assert (error.status, error.message) == (status, "why")


async def test_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="cannot load Kubernetes configuration"):
        await connect(Settings(kubeconfig=tmp_path / "absent.yaml"))


async def test_in_cluster_without_a_service_account_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    with pytest.raises(ClusterConfigError):
        await connect(Settings())


async def test_get_json_and_not_found(sim: SimCluster) -> None:
    connection = await connect(Settings(kubeconfig=sim.kubeconfig))
    try:
        nodes = await connection.get_json("/api/v1/nodes", [("limit", "2")])
        assert nodes["kind"] == "NodeList"
        assert len(nodes["items"]) == 2
        assert nodes["metadata"]["continue"]
        with pytest.raises(ClusterNotFoundError) as raised:
            await connection.get_json("/api/v1/namespaces/k8s-optimizer/pods/no-such-pod")
        assert raised.value.status == 404
        assert raised.value.message.startswith("404 from GET /api/v1/namespaces/k8s-optimizer/pods/no-such-pod")
    finally:
        await connection.close()


async def test_every_request_has_a_timeout(sim: SimCluster) -> None:
    connection = await connect(Settings(kubeconfig=sim.kubeconfig, request_timeout_seconds=0.3))
    sim.set_faults("latency-ms=1500")
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ClusterUnavailableError):
            await connection.get_json("/api/v1/namespaces")
        assert asyncio.get_running_loop().time() - started < 1.2
    finally:
        sim.set_faults("")
        await connection.close()


async def test_throttling_carries_retry_after(sim: SimCluster) -> None:
    connection = await connect(Settings(kubeconfig=sim.kubeconfig))
    sim.set_faults("error-rate=1.0,retry-after=7")
    try:
        with pytest.raises(ClusterThrottledError) as raised:
            await connection.get_json("/api/v1/namespaces")
        assert (raised.value.status, raised.value.retry_after_seconds) == (429, 7.0)
    finally:
        sim.set_faults("")
        await connection.close()


async def test_watch_streams_decoded_events(sim: SimCluster) -> None:
    connection = await connect(Settings(kubeconfig=sim.kubeconfig))
    try:
        listed = await connection.get_json("/api/v1/namespaces")
        query = [("watch", "1"), ("resourceVersion", "1"), ("timeoutSeconds", "1")]
        async with connection.watch("/api/v1/namespaces", query, watch_timeout_seconds=1) as events:
            seen = [event async for event in events]
        names = {event["object"]["metadata"]["name"] for event in seen if event["type"] == "ADDED"}
        assert names == {item["metadata"]["name"] for item in listed["items"]}
    finally:
        await connection.close()
