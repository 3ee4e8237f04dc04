"""The live model against the embedded cluster: caches converge and survive what real servers do.

Each test works in its own namespace of one module-wide sim, changes the cluster with kubectl (a real
client), and compares the model's caches with what kubectl reads back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from k8s_optimizer.live.model import ClusterModel
from k8s_optimizer.settings import Settings
from tests.live.conftest import ModelFactory, eventually, fast_backoff
from tests.simcluster import SimCluster


def manifest(namespace: str, replicas: int = 2) -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{containerPort: 8080, name: http}}]
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: solo, namespace: {namespace}, labels: {{app: solo}}}}
spec: {{containers: [{{name: solo, image: busybox:1.36}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def kubectl_json(sim: SimCluster, *args: str) -> Any:
    result = sim.kubectl(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def truth(sim: SimCluster, namespace: str) -> dict[str, Any]:
    """What kubectl says: pod names, deployment replicas, service names in the namespace."""
    pods = kubectl_json(sim, "get", "pods", "-n", namespace)["items"]
    deployments = kubectl_json(sim, "get", "deployments", "-n", namespace)["items"]
    services = kubectl_json(sim, "get", "services", "-n", namespace)["items"]
    return {
        "pods": sorted(p["metadata"]["name"] for p in pods),
        "deployments": {d["metadata"]["name"]: d["spec"]["replicas"] for d in deployments},
        "services": sorted(s["metadata"]["name"] for s in services),
    }


def cached(model: ClusterModel, namespace: str) -> dict[str, Any]:
    snapshot = model.snapshot()
    return {
        "pods": sorted(pod.name for pod in snapshot.pods_in(namespace)),
        "deployments": {
            ref.name: workload.replicas
            for ref, workload in snapshot.workloads.items()
            if ref.kind == "Deployment" and ref.namespace == namespace
        },
        "services": sorted(name for (ns, name) in snapshot.services if ns == namespace),
    }


def apply(sim: SimCluster, text: str) -> None:
    result = sim.kubectl("apply", "-f", "-", stdin=text)
    assert result.returncode == 0, result.stderr


async def converged(sim: SimCluster, model: ClusterModel, namespace: str, timeout_seconds: float = 5.0) -> None:
    expected = await asyncio.to_thread(truth, sim, namespace)
    what = f"caches == kubectl for {namespace}"
    await eventually(lambda: cached(model, namespace) == expected, timeout_seconds, what)


async def test_caches_converge_after_create_scale_delete(sim: SimCluster, make_model: ModelFactory) -> None:
    model = await make_model()
    apply(sim, manifest("conv"))
    await converged(sim, model, "conv")
    assert cached(model, "conv")["deployments"] == {"web": 2}
    assert sim.kubectl("scale", "deployment/web", "-n", "conv", "--replicas=5").returncode == 0
    await converged(sim, model, "conv")
    assert cached(model, "conv")["deployments"] == {"web": 5}
    assert sim.kubectl("delete", "pod", "solo", "-n", "conv").returncode == 0
    await converged(sim, model, "conv")
    assert "solo" not in cached(model, "conv")["pods"]
    assert model.health()["watches"].status == "ok"


async def test_change_feed_reports_every_change_in_order(sim: SimCluster, make_model: ModelFactory) -> None:
    model = await make_model()
    subscription = model.subscribe()
    start_seq = model.seq
    apply(sim, manifest("feed"))
    await converged(sim, model, "feed")
    assert sim.kubectl("delete", "service", "web", "-n", "feed").returncode == 0
    await eventually(lambda: ("feed", "web") not in model.snapshot().services, what="service deleted")
    changes = model.changes_since(start_seq)
    assert changes is not None
    assert [c.seq for c in changes] == list(range(start_seq + 1, model.seq + 1))
    own = [(c.type, c.kind, c.name) for c in changes if c.namespace == "feed" and not c.derived]
    assert ("added", "Deployment", "web") in own
    assert ("added", "Pod", "solo") in own
    assert own.index(("added", "Service", "web")) < own.index(("deleted", "Service", "web"))
    received = []
    while subscription.pending():
        received.append(await anext(subscription))
    assert [c.seq for c in received] == [c.seq for c in changes]
    subscription.close()


async def test_dropped_watches_resume_without_relisting(sim: SimCluster, make_model: ModelFactory) -> None:
    sim.set_faults("watch-drop=0.3")  # applies to streams opened from now on
    model = await make_model()
    await asyncio.sleep(1.0)
    apply(sim, manifest("drop"))
    await converged(sim, model, "drop")
    assert sim.kubectl("scale", "deployment/web", "-n", "drop", "--replicas=3").returncode == 0
    await converged(sim, model, "drop")
    pods = next(informer for informer in model.informers if informer.name == "Pod")
    assert pods.watch_count >= 3
    assert {informer.list_count for informer in model.informers if not informer.not_served} == {1}


async def test_compaction_410_relists_and_converges(sim: SimCluster, make_model: ModelFactory) -> None:
    sim.set_faults("watch-drop=0.4,expire-rv=0.2")
    model = await make_model()
    for round_number in range(3):
        apply(sim, manifest("gone", replicas=round_number + 1))
        await asyncio.sleep(0.6)
    await eventually(lambda: any(i.list_count >= 2 for i in model.informers), 5.0, "a relist after 410")
    sim.set_faults("")
    await converged(sim, model, "gone")
    assert cached(model, "gone")["deployments"] == {"web": 3}


async def test_backoff_under_injected_errors_then_recovery(sim: SimCluster, make_model: ModelFactory) -> None:
    sim.set_faults("watch-drop=0.2")
    model = await make_model()
    sim.set_faults("error-rate=1.0,error-code=500,watch-drop=0.2")
    await eventually(lambda: model.health()["watches"].status == "degraded", 5.0, "degraded watches")
    reason = model.health()["watches"].reason or ""
    assert "500" in reason
    errors = sum(informer.error_count for informer in model.informers)
    await asyncio.sleep(0.5)
    # Backoff grows: over 0.5 s twelve informers retry a bounded number of times, not in a hot loop.
    retried = sum(informer.error_count for informer in model.informers) - errors
    assert 0 < retried < 12 * 20
    sim.set_faults("")
    apply(sim, manifest("storm"))
    await converged(sim, model, "storm")
    await eventually(lambda: model.health()["watches"].status == "ok", 5.0, "recovered watches")


async def test_retry_after_is_honoured(sim: SimCluster, make_model: ModelFactory) -> None:
    sim.set_faults("watch-drop=0.2")
    model = await make_model()
    sim.set_faults("error-rate=1.0,retry-after=1,watch-drop=0.2")
    await eventually(lambda: any(i.error_count for i in model.informers), 5.0, "a throttled request")
    counts = [informer.error_count for informer in model.informers]
    await asyncio.sleep(2.0)
    # Retry-After: 1 s ⇒ at most 3 attempts per informer in 2 s; our own backoff (cap 0.4 s) would make ≥ 5.
    increases = [informer.error_count - before for informer, before in zip(model.informers, counts, strict=True)]
    assert max(increases) <= 3
    assert sum(increases) > 0
    sim.set_faults("")


async def test_metrics_outage_degrades_then_recovers(sim: SimCluster, make_model: ModelFactory) -> None:
    model = await make_model(metrics_interval_seconds=0.1)
    await eventually(lambda: model.health()["metrics"].status == "ok", 5.0, "first scrape")
    sim.set_faults("metrics-outage=1.0")
    await eventually(lambda: model.health()["metrics"].status == "degraded", 3.0, "metrics degraded")
    assert "metrics.k8s.io unavailable" in (model.health()["metrics"].reason or "")
    assert model.health()["watches"].status == "ok"  # the rest of the backend carries on
    await eventually(lambda: model.health()["metrics"].status == "ok", 5.0, "metrics recovered")


async def test_namespace_scoping_sees_only_its_namespaces(sim: SimCluster, make_model: ModelFactory) -> None:
    apply(sim, manifest("scope-a"))
    apply(sim, manifest("scope-b"))
    model = await make_model(namespaces=["scope-a"])
    await converged(sim, model, "scope-a")
    snapshot = model.snapshot()
    assert {ns for ns, _ in snapshot.pods} == {"scope-a"}
    assert list(snapshot.namespaces) == ["scope-a"]


def kubectl_retrying(sim: SimCluster, *args: str, stdin: str | None = None) -> None:
    """kubectl under a 20 % error storm: retry like a person would."""
    for _ in range(20):
        if sim.kubectl(*args, stdin=stdin).returncode == 0:
            return
    raise AssertionError(f"kubectl {' '.join(args)} kept failing")


async def test_fault_storm_ends_with_caches_equal_to_the_cluster(sim: SimCluster, make_model: ModelFactory) -> None:
    sim.set_faults("watch-drop=0.5")
    model = await make_model(metrics_interval_seconds=0.2)
    sim.set_faults("watch-drop=0.5,error-rate=0.2,metrics-outage=1.0@0.5")
    await asyncio.to_thread(kubectl_retrying, sim, "apply", "-f", "-", stdin=manifest("storm2"))
    await asyncio.to_thread(kubectl_retrying, sim, "scale", "deployment/web", "-n", "storm2", "--replicas=4")
    await asyncio.to_thread(kubectl_retrying, sim, "delete", "pod", "solo", "-n", "storm2", "--ignore-not-found")
    await eventually(lambda: model.health()["metrics"].status == "degraded", 5.0, "the metrics outage seen")
    await asyncio.sleep(1.5)
    sim.set_faults("")
    for namespace in ("storm2", "k8s-optimizer", "kube-system"):
        await converged(sim, model, namespace)
    assert cached(model, "storm2")["deployments"] == {"web": 4}
    await eventually(lambda: model.health()["metrics"].status == "ok", 5.0, "metrics recovered")
    await eventually(lambda: model.health()["watches"].status == "ok", 5.0, "watches recovered")
    assert model.stopped_tasks() == []  # no informer or collector died


async def test_the_synced_hook_runs_once_before_synced_turns_true(sim: SimCluster) -> None:
    """The application's interpreter tuning runs there (k8s_optimizer/interpreter.py), before /ready."""
    seen: list[bool] = []
    model = ClusterModel(
        Settings(kubeconfig=sim.kubeconfig), backoff_factory=fast_backoff, on_synced=lambda: seen.append(model.synced)
    )
    await model.start()
    try:
        assert await model.wait_synced(10.0), model.health()
        model.informer_synced(model.informers[0])  # a later relist: the hook does not run again
        assert seen == [False]
    finally:
        await model.stop()
