"""The metrics collector: dedupe by API timestamp, workload resolution, terminations, replicas, health.

metrics.k8s.io is served by a fake at the ApiReader seam so every timestamp is exact; the real
embedded cluster's metrics path is covered in test_model_sim.py and test_network_sim.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from k8s_optimizer.domain.health import ComponentHealth
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerSpec,
    ContainerStatus,
    LabelSelector,
    ObjectRef,
    OwnerRef,
    Pod,
    Workload,
)
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.history.store import HistoryStore
from k8s_optimizer.k8s.connection import Json, Query
from k8s_optimizer.k8s.errors import ClusterNotFoundError
from k8s_optimizer.live.collector import MetricsCollector
from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.recommend.engine import analyze
from k8s_optimizer.recommend.policy import Policy, Prices
from k8s_optimizer.settings import Settings
from tests.live.conftest import FakeHistory
from tests.recommend import factories
from tests.recommend.factories import NOW_SECONDS

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 10, 0, 15, tzinfo=UTC)
OOM_AT = datetime(2026, 11, 26, 9, 59, tzinfo=UTC)


def pod_metrics(timestamp: str, cpu: str = "120m") -> Json:
    return {
        "items": [
            {
                "metadata": {"namespace": "shop", "name": "web-abc"},
                "timestamp": timestamp,
                "window": "15s",
                "containers": [{"name": "web", "usage": {"cpu": cpu, "memory": "64Mi"}}],
            }
        ]
    }


def node_metrics(timestamp: str) -> Json:
    return {"items": [{"metadata": {"name": "n1"}, "timestamp": timestamp, "window": "15s",
                       "usage": {"cpu": "1", "memory": "1Gi"}}]}  # fmt: skip


class MetricsServer:
    """Answers metrics.k8s.io GETs from a queue of (pods, nodes) bodies; an exception to raise instead."""

    def __init__(self) -> None:
        self.responses: list[tuple[Json, Json] | Exception] = []
        self.paths: list[str] = []

    async def get_json(self, path: str, query: Query = ()) -> Json:
        self.paths.append(path)
        current = self.responses[0]
        if isinstance(current, Exception):
            self.responses.pop(0)
            raise current
        if path.endswith("/nodes"):
            self.responses.pop(0)
            return current[1]
        return current[0]

    def watch(self, path: str, query: Query, *, watch_timeout_seconds: float) -> Any:
        raise AssertionError("the collector never watches")


def populated_model(**settings: Any) -> ClusterModel:
    model = ClusterModel(Settings(**settings))
    rs_owner = OwnerRef("Deployment", "web", "d-uid", True)
    model.apply(
        "ReplicaSet",
        "added",
        ("shop", "web-5f"),
        Workload("ReplicaSet", "shop", "web-5f", "rs-uid", {}, LabelSelector(), (), 2, owner=rs_owner),
    )
    model.apply(
        "Deployment",
        "added",
        ("shop", "web"),
        Workload("Deployment", "shop", "web", "d-uid", {}, LabelSelector(), (), 2),
    )
    status = ContainerStatus("web", True, 1, "running", last_termination_reason="OOMKilled", last_termination_at=OOM_AT)
    model.apply(
        "Pod",
        "added",
        ("shop", "web-abc"),
        Pod(
            "shop",
            "web-abc",
            "p-uid",
            {},
            OwnerRef("ReplicaSet", "web-5f", "rs-uid", True),
            "n1",
            "10.244.1.2",
            "172.20.0.2",
            "Running",
            True,
            (ContainerSpec("web", "img", cpu_request_millicores=250, memory_request_bytes=2**27),),
            (status,),
        ),
    )
    target = ObjectRef("Deployment", "shop", "web")
    model.apply(
        "HorizontalPodAutoscaler", "added", ("shop", "web"), HPA("shop", "web", target, 1, 5, (), None, None, 3, 4)
    )
    return model


async def test_scrape_resolves_workload_and_requests_and_records_everything_once() -> None:
    server, history = MetricsServer(), FakeHistory()
    model = populated_model()
    collector = MetricsCollector(server, model, history)
    server.responses = [(pod_metrics("2026-11-26T10:00:00Z"), node_metrics("2026-11-26T10:00:00Z"))] * 2
    result = await collector.collect_once()
    usage = ContainerUsage(ContainerKey("shop", "web-abc", "web"), T0, 15.0, 120.0, 64 * 2**20)
    node = NodeUsage("n1", T0, 15.0, 1000.0, 2**30)
    expected = ScrapedContainer(usage, ObjectRef("Deployment", "shop", "web"), 250, 2**27)
    assert result is not None
    assert history.scrapes == [((expected,), (node,))]
    assert history.terminations == [Termination(ContainerKey("shop", "web-abc", "web"), "OOMKilled", OOM_AT, 1)]
    assert history.replicas == [(ObjectRef("Deployment", "shop", "web"), T0, 3, 4)]
    assert model.snapshot().container_usage == {("shop", "web-abc", "web"): usage}
    assert model.snapshot().node_usage == {"n1": node}
    assert server.paths == ["/apis/metrics.k8s.io/v1beta1/pods", "/apis/metrics.k8s.io/v1beta1/nodes"]
    # Same API timestamps again (metrics-server has not refreshed): nothing new is recorded.
    again = await collector.collect_once()
    assert again is not None
    assert (again.containers, again.nodes, again.terminations, again.replicas_recorded) == ((), (), (), 0)
    assert (len(history.scrapes), len(history.terminations), len(history.replicas)) == (1, 1, 1)
    assert collector.health.status == "ok"


async def test_newer_timestamp_is_recorded_and_ticks_are_published() -> None:
    server, history = MetricsServer(), FakeHistory()
    model = populated_model()
    collector = MetricsCollector(server, model, history)
    server.responses = [
        (pod_metrics("2026-11-26T10:00:00Z"), node_metrics("2026-11-26T10:00:00Z")),
        (pod_metrics("2026-11-26T10:00:15Z", cpu="300m"), node_metrics("2026-11-26T10:00:15Z")),
    ]
    seq = model.seq
    await collector.collect_once()
    await collector.collect_once()
    assert [scrape[0][0].usage.cpu_millicores for scrape in history.scrapes] == [120.0, 300.0]
    assert [r[1] for r in history.replicas] == [T0, T1]
    ticks = [c for c in model.changes_since(seq) or [] if c.kind == "MetricsTick"]
    assert len(ticks) == 2


async def test_metrics_api_missing_degrades_and_the_next_scrape_recovers() -> None:
    server, history = MetricsServer(), FakeHistory()
    model = populated_model(namespaces=["shop"])
    collector = MetricsCollector(server, model, history)
    server.responses = [
        ClusterNotFoundError("404 from GET /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods: not found", status=404),
        (pod_metrics("2026-11-26T10:00:00Z"), node_metrics("2026-11-26T10:00:00Z")),
    ]
    assert await collector.collect_once() is None
    assert collector.health == ComponentHealth.degraded(
        "metrics.k8s.io unavailable: 404 from GET /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods: not found"
    )
    assert history.scrapes == []
    assert await collector.collect_once() is not None
    assert collector.health == ComponentHealth.ok()
    assert server.paths[-2] == "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"


class BrokenHistory(FakeHistory):
    async def record_scrape(self, containers: Any, nodes: Any) -> int:
        raise OSError("disk full")


async def test_history_failure_degrades_history_health_but_keeps_live_usage() -> None:
    server = MetricsServer()
    model = ClusterModel(Settings(), history=BrokenHistory())
    collector = MetricsCollector(server, model, model.history)
    server.responses = [(pod_metrics("2026-11-26T10:00:00Z"), node_metrics("2026-11-26T10:00:00Z"))]
    await collector.collect_once()
    assert collector.history_health.status == "degraded"
    assert collector.history_health.reason == "history store failed: disk full"
    assert collector.health.status == "ok"
    assert list(model.snapshot().container_usage) == [("shop", "web-abc", "web")]


async def test_last_scrape_seconds_is_set_by_a_scrape_and_kept_through_a_failed_one() -> None:
    server, history = MetricsServer(), FakeHistory()
    collector = MetricsCollector(server, populated_model(), history)
    before = collector.last_scrape_seconds
    server.responses = [
        (pod_metrics("2026-11-26T10:00:00Z"), node_metrics("2026-11-26T10:00:00Z")),
        ClusterNotFoundError("404 from GET /apis/metrics.k8s.io/v1beta1/pods: not found", status=404),
    ]
    await collector.collect_once()
    first = collector.last_scrape_seconds
    assert before is None
    assert first is not None
    assert 0.0 < first < 5.0
    assert await collector.collect_once() is None
    assert collector.last_scrape_seconds == first


def _rolled_out_pod() -> Pod:
    """A Deployment's pod: ReplicaSet `web-5f9c8`, labelled with its pod-template-hash (as the controller does)."""
    spec = ContainerSpec("app", "img", cpu_request_millicores=1000, memory_request_bytes=1024 * MIB)
    owner = OwnerRef("ReplicaSet", "web-5f9c8", "rs-uid", True)
    labels = {"app": "web", "pod-template-hash": "5f9c8"}
    return Pod("shop", "web-5f9c8-x2x7q", "p-uid", labels, owner, "n1", "10.244.1.2", None, "Running", True, (spec,))


def _one_pod_metrics(pod: Pod, timestamp: str) -> tuple[Json, Json]:
    usage = {"cpu": "100m", "memory": "200Mi"}
    reading = {"metadata": {"namespace": pod.namespace, "name": pod.name}, "timestamp": timestamp, "window": "15s",
               "containers": [{"name": "app", "usage": usage}]}  # fmt: skip
    return {"items": [reading]}, {"items": []}


async def test_a_pod_whose_replica_set_is_not_cached_is_recorded_and_recommended_under_one_workload() -> None:
    """Each kind has its own watch, so pods can be cached before their ReplicaSet: the history key taken
    then must be the workload the recommendations are made for once the ReplicaSet arrives."""
    server, history = MetricsServer(), FakeHistory()
    model = ClusterModel(Settings())
    pod = _rolled_out_pod()
    model.apply("Pod", "added", ("shop", pod.name), pod)
    server.responses = [_one_pod_metrics(pod, "2026-11-26T10:00:00Z")]
    await MetricsCollector(server, model, history).collect_once()
    [((scraped,), ())] = history.scrapes
    assert scraped.workload == ObjectRef("Deployment", "shop", "web")

    web = factories.deployment("web", containers=[pod.containers[0]])
    points = 240
    recorded = [factories.container_history(pod.name, [100 + j % 20 for j in range(points)], [200 * MIB] * points)]
    histories = {scraped.workload: factories.workload_history(web, recorded)}
    replica_set = Workload("ReplicaSet", "shop", "web-5f9c8", "rs-uid", {}, LabelSelector(), (), 1,
                           owner=OwnerRef("Deployment", "web", web.uid, True))  # fmt: skip
    targets = []
    for kind, name, workload in (("Deployment", "web", web), ("ReplicaSet", "web-5f9c8", replica_set)):
        model.apply(kind, "added", ("shop", name), workload)  # the Deployment first, then its ReplicaSet
        report = analyze(model.snapshot(), histories, policy=Policy(), prices=Prices(), now_seconds=NOW_SECONDS)
        targets.append({(rec.target, rec.kind) for rec in report.recommendations})
    assert targets == [{(scraped.workload, "resources")}] * 2


async def test_history_recorded_before_the_replica_set_is_cached_is_read_back_for_its_deployment(
    tmp_path: Path,
) -> None:
    """The same, through the real history store: what the engine reads back is what it recommends for."""
    store = await HistoryStore.open(tmp_path)
    try:
        server, model, pod = MetricsServer(), ClusterModel(Settings()), _rolled_out_pod()
        model.apply("Pod", "added", ("shop", pod.name), pod)
        collector = MetricsCollector(server, model, store)
        for second in range(3):
            server.responses = [_one_pod_metrics(pod, f"2026-11-26T10:00:0{second}Z")]
            await collector.collect_once()
        web = factories.deployment("web", containers=[pod.containers[0]])
        replica_set = Workload("ReplicaSet", "shop", "web-5f9c8", "rs-uid", {}, LabelSelector(), (), 1,
                               owner=OwnerRef("Deployment", "web", web.uid, True))  # fmt: skip
        model.apply("Deployment", "added", ("shop", "web"), web)
        model.apply("ReplicaSet", "added", ("shop", "web-5f9c8"), replica_set)
        now_seconds = datetime(2026, 11, 26, 10, 0, 2, tzinfo=UTC).timestamp()
        histories = await store.all_workload_histories(3600.0, now_seconds)
        assert list(histories) == [web.ref()]
        report = analyze(model.snapshot(), histories, policy=Policy(), prices=Prices(), now_seconds=now_seconds)
        [verdict] = report.container_recommendations[web.ref()]
        assert (verdict.data.points, verdict.data.pods) == (3, 1)  # not enough yet, but all of it found
    finally:
        await store.close()
