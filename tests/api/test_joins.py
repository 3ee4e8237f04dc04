"""Carried-over joins equal a full build, whatever pods were added, removed or relabelled in between."""

from __future__ import annotations

import dataclasses
import random

import pytest

from k8s_optimizer.api import joins
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.objects import EndpointAddress, Endpoints, OwnerRef, Pod, Service, ServicePort
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from tests.api.fakes import build_snapshot, web_deployment, web_pod


def _pod(namespace: str, app: str, index: int) -> Pod:
    return dataclasses.replace(
        web_pod(index),
        namespace=namespace,
        name=f"{app}-7d4b9-{index}",
        uid=f"uid-{namespace}-{app}-{index}",
        labels={"app": app, "pod-template-hash": "7d4b9"},
        owner=OwnerRef("ReplicaSet", f"{app}-7d4b9", "rs", controller=True),
    )


def _cluster() -> ClusterSnapshot:
    """Three namespaces × four apps × three pods, a Service per app, and a selector-less Service."""
    base = build_snapshot()
    pods = {(p.namespace, p.name): p for ns in ("a", "b", "c") for app in ("w", "x", "y", "z") for p in
            (_pod(ns, app, i) for i in range(3))}  # fmt: skip
    services = {(ns, app): Service(ns, app, "ClusterIP", None, (ServicePort(80, 80),), {"app": app})
                for ns in ("a", "b", "c") for app in ("w", "x", "y", "z")}  # fmt: skip
    services[("a", "manual")] = Service("a", "manual", "ClusterIP", None, (ServicePort(80, 80),), None)
    endpoints = {("a", "manual"): Endpoints("a", "manual", (EndpointAddress("10.0.0.1", True, "w-7d4b9-9"),), ())}
    workloads = {("Deployment", ns, app): dataclasses.replace(web_deployment(), namespace=ns, name=app)
                 for ns in ("a", "b", "c") for app in ("w", "x", "y", "z")}  # fmt: skip
    return dataclasses.replace(base, pods=pods, services=services, endpoints=endpoints, workloads=workloads)


def _joins(context: ViewContext) -> tuple[object, ...]:
    return (
        context.pod_owner,
        {k: [id(p) for p in v] for k, v in context.workload_pods.items()},
        {k: [id(p) for p in v] for k, v in context.service_pods.items()},
        context.workload_services,
        context.pod_services,
    )


def _mutate(snapshot: ClusterSnapshot, rng: random.Random) -> ClusterSnapshot:
    pods = dict(snapshot.pods)
    for _ in range(rng.randint(1, 6)):
        action = rng.choice(["add", "delete", "relabel", "status"])
        if action == "add":
            pod = _pod(rng.choice("abc"), rng.choice("wxyz"), rng.randint(3, 12))
            pods[(pod.namespace, pod.name)] = pod
        elif pods:
            key = rng.choice(sorted(pods))
            if action == "delete":
                del pods[key]
            elif action == "relabel":
                pods[key] = dataclasses.replace(pods[key], labels={**pods[key].labels, "app": rng.choice("wxyz")})
            else:
                pods[key] = dataclasses.replace(pods[key], ready=not pods[key].ready)
    return dataclasses.replace(snapshot, pods=pods)


@pytest.mark.parametrize("seed", range(25))
def test_carried_over_joins_equal_a_full_build(seed: int) -> None:
    rng = random.Random(seed)
    snapshot = _cluster()
    context = ViewContext.build(snapshot, None)
    for _ in range(8):
        snapshot = _mutate(snapshot, rng)
        assert joins.carry_over(context, ViewContext(snapshot, None, {})) is True  # patched, not rebuilt
        patched = ViewContext.build(snapshot, None, context)
        assert _joins(patched) == _joins(ViewContext.build(snapshot, None))
        context = patched


def test_unchanged_pods_share_the_previous_joins() -> None:
    snapshot = _cluster()
    first = ViewContext.build(snapshot, None)
    second = ViewContext.build(dataclasses.replace(snapshot, pods=dict(snapshot.pods)), None, first)
    assert second.service_pods is first.service_pods


def test_changed_services_or_too_many_pods_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = _cluster()
    first = ViewContext.build(snapshot, None)
    services = {**snapshot.services, ("a", "w"): dataclasses.replace(snapshot.services[("a", "w")], selector={})}
    assert joins.carry_over(first, ViewContext(dataclasses.replace(snapshot, services=services), None, {})) is False
    manual = {("a", "manual"): Endpoints("a", "manual", (EndpointAddress("10.0.0.2", True, "w-7d4b9-0"),), ())}
    assert joins.carry_over(first, ViewContext(dataclasses.replace(snapshot, endpoints=manual), None, {})) is False
    rollout = {**snapshot.endpoints, ("a", "w"): Endpoints("a", "w", (), ())}  # a selector Service's endpoints
    assert joins.carry_over(first, ViewContext(dataclasses.replace(snapshot, endpoints=rollout), None, {})) is True
    monkeypatch.setattr(joins, "MAX_PATCHED_PODS", 1)
    fewer = dict(snapshot.pods)
    del fewer[("a", "w-7d4b9-0")], fewer[("a", "w-7d4b9-1")]
    assert joins.carry_over(first, ViewContext(dataclasses.replace(snapshot, pods=fewer), None, {})) is False
