"""The topology index: one set of ownership rules, Service selection, and joins carried over exactly."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from k8s_optimizer.domain import topology
from k8s_optimizer.domain.objects import (
    HPA,
    ContainerSpec,
    EndpointAddress,
    Endpoints,
    LabelSelector,
    ObjectRef,
    OwnerRef,
    Pod,
    Service,
    ServicePort,
    Workload,
)
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.domain.topology import Topology, owner_of


def _pod(namespace: str, app: str, index: int, *, labels: dict[str, str] | None = None, node: str = "n1") -> Pod:
    return Pod(
        namespace,
        f"{app}-7d4b9-{index}",
        f"uid-{namespace}-{app}-{index}",
        {"app": app, "pod-template-hash": "7d4b9"} if labels is None else labels,
        OwnerRef("ReplicaSet", f"{app}-7d4b9", "rs", controller=True),
        node,
        None,
        None,
        "Running",
        True,
        (ContainerSpec("app", "img"),),
    )


def _workload(kind: str, namespace: str, name: str, owner: OwnerRef | None = None) -> Workload:
    return Workload(kind, namespace, name, f"uid-{name}", {}, LabelSelector(), (), 1, owner=owner)  # type: ignore[arg-type]


def _snapshot(
    pods: Sequence[Pod], workloads: Sequence[Workload] = (), services: Sequence[Service] = (), hpas: Sequence[HPA] = ()
) -> ClusterSnapshot:
    return ClusterSnapshot(
        taken_at=datetime(2026, 11, 26, tzinfo=UTC),
        namespaces={},
        nodes={},
        pods={(p.namespace, p.name): p for p in pods},
        services={(s.namespace, s.name): s for s in services},
        endpoints={},
        workloads={w.ref(): w for w in workloads},
        hpas={(h.namespace, h.name): h for h in hpas},
        pdbs={},
        events={},
    )


DEPLOYMENT = _workload("Deployment", "shop", "web")
REPLICA_SET = _workload("ReplicaSet", "shop", "web-7d4b9", OwnerRef("Deployment", "web", "uid-web", True))
ORPHAN_SET = _workload("ReplicaSet", "shop", "web-7d4b9")
WEB = ObjectRef("Deployment", "shop", "web")
WEB_SET = ObjectRef("ReplicaSet", "shop", "web-7d4b9")


@pytest.mark.parametrize(
    ("labels", "workloads", "expected"),
    [
        # The ReplicaSet is cached: its controller decides, or the ReplicaSet itself without one.
        (None, [REPLICA_SET], WEB),
        (None, [REPLICA_SET, DEPLOYMENT], WEB),
        (None, [ORPHAN_SET, DEPLOYMENT], WEB_SET),
        # Not cached (yet): named as the Deployment controller names ReplicaSets.
        (None, [], WEB),
        (None, [DEPLOYMENT], WEB),
        ({"app": "web"}, [DEPLOYMENT], WEB),  # no hash label: the name's last part, when the Deployment exists
        ({"app": "web"}, [], WEB_SET),
        ({"app": "web", "pod-template-hash": "other"}, [], WEB_SET),
    ],
)
def test_ownership_rules(labels: dict[str, str] | None, workloads: list[Workload], expected: ObjectRef) -> None:
    pod = _pod("shop", "web", 0, labels=labels)
    assert owner_of(pod, {w.ref(): w for w in workloads}) == expected


def test_other_owners_and_bare_pods() -> None:
    pod = _pod("shop", "db", 0)
    assert owner_of(dataclasses.replace(pod, owner=OwnerRef("StatefulSet", "db", "u")), {}) == ObjectRef(
        "StatefulSet", "shop", "db"
    )
    assert owner_of(dataclasses.replace(pod, owner=None), {}) is None


def test_a_deployment_pod_has_one_owner_whether_or_not_its_replica_set_is_cached() -> None:
    """The history key taken before the ReplicaSet arrives is the workload recommended after."""
    pod = _pod("shop", "web", 0)
    before = Topology.build(_snapshot([pod]))
    after = Topology.build(_snapshot([pod], [DEPLOYMENT, REPLICA_SET]))
    assert before.owner(pod) == after.owner(pod) == WEB
    assert before.pods_of_workload(WEB) == after.pods_of_workload(WEB) == [pod]


def test_services_pods_workloads_nodes_and_hpas() -> None:
    pods = [_pod("shop", "web", 1, node="n2"), _pod("shop", "web", 0), _pod("shop", "db", 0), _pod("other", "web", 0)]
    terminating = dataclasses.replace(_pod("shop", "web", 2), deleting=True)
    web = Service("shop", "web", "ClusterIP", "10.96.0.9", (ServicePort(80, 8080),), {"app": "web"})
    headless = Service("shop", "manual", "ClusterIP", None, (ServicePort(80, 8080),), None)
    hpa = HPA("shop", "web", WEB, 1, 4, ())
    snap = _snapshot([*pods, terminating], [DEPLOYMENT, REPLICA_SET], [web, headless], [hpa])
    snap = dataclasses.replace(
        snap,
        endpoints={
            ("shop", "manual"): Endpoints("shop", "manual", (EndpointAddress("10.0.0.1", True, pods[2].name),), ())
        },
    )
    index = Topology.build(snap)
    assert [p.name for p in index.backing_pods(web)] == ["web-7d4b9-0", "web-7d4b9-1", "web-7d4b9-2"]
    assert [p.name for p in index.live_selected_pods(web)] == ["web-7d4b9-0", "web-7d4b9-1"]
    assert [p.name for p in index.backing_pods(headless)] == ["db-7d4b9-0"]
    assert index.live_selected_pods(headless) == []
    assert [p.name for p in index.pods_of_workload(WEB)] == ["web-7d4b9-1", "web-7d4b9-0", "web-7d4b9-2"]
    assert len(index.live_pods_of(WEB)) == 2
    assert index.services_of(WEB) == ["web"]
    assert index.services_of_pod(pods[0]) == ["web"]
    assert index.services_of_pod(pods[2]) == []  # named by hand-managed Endpoints, not selected
    assert index.backing_workloads(web) == [DEPLOYMENT]
    assert index.workloads_selected_by(web) == [DEPLOYMENT]
    assert [p.name for p in index.pods_on("n2")] == ["web-7d4b9-1"]
    assert index.hpa_for(WEB) is hpa


# -- carried-over joins equal a full build, whatever pods were added, removed or relabelled in between --


def _cluster() -> ClusterSnapshot:
    """Three namespaces × four apps × three pods, a Service per app, and a selector-less Service."""
    pods = [_pod(ns, app, i) for ns in ("a", "b", "c") for app in ("w", "x", "y", "z") for i in range(3)]
    services = [Service(ns, app, "ClusterIP", None, (ServicePort(80, 80),), {"app": app})
                for ns in ("a", "b", "c") for app in ("w", "x", "y", "z")]  # fmt: skip
    services.append(Service("a", "manual", "ClusterIP", None, (ServicePort(80, 80),), None))
    workloads = [_workload("Deployment", ns, app) for ns in ("a", "b", "c") for app in ("w", "x", "y", "z")]
    endpoints = {("a", "manual"): Endpoints("a", "manual", (EndpointAddress("10.0.0.1", True, "w-7d4b9-9"),), ())}
    return dataclasses.replace(_snapshot(pods, workloads, services), endpoints=endpoints)


def _joins(index: Topology) -> tuple[object, ...]:
    return (
        index.pod_owner,
        {k: [id(p) for p in v] for k, v in index.workload_pods.items()},
        {k: [id(p) for p in v] for k, v in index.service_pods.items()},
        index.workload_services,
        index.pod_services,
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
    index = Topology.build(snapshot)
    for _ in range(8):
        snapshot = _mutate(snapshot, rng)
        assert topology.carry_over(index, Topology(snapshot)) is True  # patched, not rebuilt
        patched = Topology.build(snapshot, index)
        assert _joins(patched) == _joins(Topology.build(snapshot))
        index = patched


def test_unchanged_pods_share_the_previous_joins() -> None:
    snapshot = _cluster()
    first = Topology.build(snapshot)
    second = Topology.build(dataclasses.replace(snapshot, pods=dict(snapshot.pods)), first)
    assert second.service_pods is first.service_pods


def test_changed_services_ownership_or_too_many_pods_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = _cluster()
    first = Topology.build(snapshot)
    services = {**snapshot.services, ("a", "w"): dataclasses.replace(snapshot.services[("a", "w")], selector={})}
    assert topology.carry_over(first, Topology(dataclasses.replace(snapshot, services=services))) is False
    manual = {("a", "manual"): Endpoints("a", "manual", (EndpointAddress("10.0.0.2", True, "w-7d4b9-0"),), ())}
    assert topology.carry_over(first, Topology(dataclasses.replace(snapshot, endpoints=manual))) is False
    rollout = {**snapshot.endpoints, ("a", "w"): Endpoints("a", "w", (), ())}  # a selector Service's endpoints
    assert topology.carry_over(first, Topology(dataclasses.replace(snapshot, endpoints=rollout))) is True
    replica_set = _workload("ReplicaSet", "a", "w-7d4b9", OwnerRef("Deployment", "w", "u", True))
    owned = {**snapshot.workloads, replica_set.ref(): replica_set}
    assert topology.carry_over(first, Topology(dataclasses.replace(snapshot, workloads=owned))) is False
    monkeypatch.setattr(topology, "MAX_PATCHED_PODS", 1)
    fewer = dict(snapshot.pods)
    del fewer[("a", "w-7d4b9-0")], fewer[("a", "w-7d4b9-1")]
    assert topology.carry_over(first, Topology(dataclasses.replace(snapshot, pods=fewer))) is False
