"""ClusterModel's cache and derived changes, driven through its InformerSink side (no cluster needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from k8s_optimizer.domain.objects import HPA, EndpointAddress, EndpointPort, Endpoints, Namespace, ObjectRef
from k8s_optimizer.domain.usage import ContainerKey, ContainerUsage, NodeUsage
from k8s_optimizer.k8s.informer import Backoff
from k8s_optimizer.live.model import ClusterModel, HPAReplicas, MetricsTick, PodUsageTotal, ServiceReadiness
from k8s_optimizer.settings import Settings

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def model() -> ClusterModel:
    return ClusterModel(Settings(host_port_mappings={30080: 3000}, service_cidr="10.96.0.0/16"))


def endpoints(*addresses: tuple[str, bool]) -> Endpoints:
    return Endpoints(
        "shop",
        "web",
        tuple(EndpointAddress(ip, ready, f"pod-{ip}", "n1") for ip, ready in addresses),
        (EndpointPort(80),),
    )


def hpa(current: int | None, desired: int | None, max_replicas: int = 5) -> HPA:
    target = ObjectRef("Deployment", "shop", "web")
    return HPA("shop", "web", target, 1, max_replicas, (), current_replicas=current, desired_replicas=desired)


def derived(subject: ClusterModel, after: int) -> list[tuple[str, str, object]]:
    return [(c.type, c.kind, c.object) for c in subject.changes_since(after) or [] if c.derived]


def test_unchanged_objects_publish_nothing() -> None:
    subject = model()
    subject.apply("Namespace", "added", ("", "shop"), Namespace("shop"))
    subject.apply("Namespace", "modified", ("", "shop"), Namespace("shop"))
    subject.apply("Namespace", "deleted", ("", "gone"), None)
    assert [(c.seq, c.type, c.kind, c.name) for c in subject.changes_since(0) or []] == [
        (1, "added", "Namespace", "shop")
    ]


def test_endpoint_changes_derive_service_endpoints_and_readiness() -> None:
    subject = model()
    first = endpoints(("10.0.0.1", True), ("10.0.0.2", False))
    subject.apply("Endpoints", "added", ("shop", "web"), first)
    assert derived(subject, 0) == [
        ("added", "ServiceEndpoints", first),
        ("added", "ServiceReadiness", ServiceReadiness("shop", "web", 1, 1)),
    ]
    seq = subject.seq
    both_ready = endpoints(("10.0.0.1", True), ("10.0.0.2", True))
    subject.apply("Endpoints", "modified", ("shop", "web"), both_ready)
    assert derived(subject, seq) == [
        ("modified", "ServiceEndpoints", both_ready),
        ("modified", "ServiceReadiness", ServiceReadiness("shop", "web", 2, 0)),
    ]
    seq = subject.seq
    moved = endpoints(("10.0.0.3", True), ("10.0.0.2", True))
    subject.apply("Endpoints", "modified", ("shop", "web"), moved)
    assert derived(subject, seq) == [("modified", "ServiceEndpoints", moved)]  # same ready count
    seq = subject.seq
    subject.apply("Endpoints", "deleted", ("shop", "web"), None)
    assert derived(subject, seq) == [
        ("deleted", "ServiceEndpoints", None),
        ("deleted", "ServiceReadiness", ServiceReadiness("shop", "web", 0, 0)),
    ]


def test_hpa_replica_changes_derive_hpa_replicas_only_when_counts_change() -> None:
    subject = model()
    subject.apply("HorizontalPodAutoscaler", "added", ("shop", "web"), hpa(2, 2))
    seq = subject.seq
    subject.apply("HorizontalPodAutoscaler", "modified", ("shop", "web"), hpa(2, 2, max_replicas=9))
    assert derived(subject, seq) == []
    subject.apply("HorizontalPodAutoscaler", "modified", ("shop", "web"), hpa(2, 4, max_replicas=9))
    target = ObjectRef("Deployment", "shop", "web")
    assert derived(subject, seq) == [("modified", "HPAReplicas", HPAReplicas("shop", "web", target, 2, 4))]


def test_snapshot_is_cached_until_the_next_change() -> None:
    subject = model()
    subject.apply("Namespace", "added", ("", "shop"), Namespace("shop"))
    first = subject.snapshot()
    assert subject.snapshot() is first
    assert first.namespaces == {"shop": Namespace("shop")}
    assert (first.network.host_port_mappings, first.network.service_cidr) == ({30080: 3000}, "10.96.0.0/16")
    subject.apply("Endpoints", "added", ("shop", "web"), endpoints(("10.0.0.1", True)))
    second = subject.snapshot()
    assert second is not first
    assert second.endpoints[("shop", "web")].ready_count == 1


def test_update_usage_publishes_a_metrics_tick_with_pod_totals() -> None:
    subject = model()
    usage = {
        ContainerKey("shop", "p", "a"): ContainerUsage(ContainerKey("shop", "p", "a"), T0, 15.0, 100.5, 1000),
        ContainerKey("shop", "p", "b"): ContainerUsage(ContainerKey("shop", "p", "b"), T0, 15.0, 50.0, 24),
    }
    node = NodeUsage("n1", T0, 15.0, 900.0, 10_000)
    subject.update_usage(usage, {"n1": node})
    (tick,) = subject.changes_since(0) or []
    assert (tick.kind, tick.derived) == ("MetricsTick", True)
    assert tick.object == MetricsTick(T0, (PodUsageTotal("shop", "p", 150.5, 1024),), (node,))
    assert subject.snapshot().container_usage == usage


def test_an_older_metrics_tick_keeps_its_seq_but_drops_its_totals_from_the_ring() -> None:
    subject = model()
    t1 = datetime(2026, 11, 26, 10, 0, 15, tzinfo=UTC)
    first = {ContainerKey("shop", "p", "a"): ContainerUsage(ContainerKey("shop", "p", "a"), T0, 15.0, 100.0, 1000)}
    second = {ContainerKey("shop", "p", "a"): ContainerUsage(ContainerKey("shop", "p", "a"), t1, 15.0, 40.0, 2000)}
    subject.update_usage(first, {})
    subject.update_usage(second, {})
    older, newest = subject.changes_since(0) or []
    assert (older.seq, older.kind, older.object) == (1, "MetricsTick", MetricsTick(T0, (), ()))
    assert (newest.seq, newest.object) == (2, MetricsTick(t1, (PodUsageTotal("shop", "p", 40.0, 2000),), ()))


def test_health_before_start_names_the_reason() -> None:
    health = model().health()
    assert health["watches"].status == "degraded"
    assert health["watches"].reason == "not connected: not started"
    assert health["metrics"].reason == "not connected yet"
    assert "history" not in health


async def test_unreachable_configuration_keeps_running_degraded(tmp_path: Path) -> None:
    subject = ClusterModel(Settings(kubeconfig=tmp_path / "missing.yaml"), backoff_factory=lambda: Backoff(0.01, 0.05))
    await subject.start()
    try:
        assert not await subject.wait_synced(0.2)
        watches = subject.health()["watches"]
        assert watches.status == "degraded"
        assert (watches.reason or "").startswith("not connected: cannot load Kubernetes configuration")
        assert not subject.synced
    finally:
        await subject.stop()
