"""The demo scenario: the design's kind cluster, built from the project's own deploy/ manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_sim import resources as r
from k8s_sim.controllers.base import is_pod_ready, parse_time
from k8s_sim.scenarios.demo import builtin_objects, demo_objects
from k8s_sim.scenarios.manifests import ENV_VAR
from tests.sim.embedded import running_cluster


async def test_nodes_system_services_and_workloads() -> None:
    async with running_cluster("demo") as cluster:
        store = cluster.store
        nodes = {
            n["metadata"]["name"]: (n["status"]["addresses"][0]["address"], n["spec"]["podCIDR"])
            for n in store.list_objects(r.NODES)
        }
        assert nodes == {
            "k8s-optimizer-control-plane": ("172.20.0.4", "10.244.0.0/24"),
            "k8s-optimizer-worker": ("172.20.0.2", "10.244.1.0/24"),
            "k8s-optimizer-worker2": ("172.20.0.3", "10.244.2.0/24"),
        }
        assert store.require(r.SERVICES, "default", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"
        assert store.require(r.SERVICES, "kube-system", "kube-dns")["spec"]["clusterIP"] == "10.96.0.10"
        node_ports = {
            s["metadata"]["name"]: [p.get("nodePort") for p in s["spec"]["ports"]]
            for s in store.list_objects(r.SERVICES, "k8s-optimizer")
            if s["spec"]["type"] == "NodePort"
        }
        assert node_ports == {"optimizer-backend": [30081], "optimizer-dashboard": [30080]}
        pods = store.list_objects(r.PODS, "k8s-optimizer")
        apps = {p["metadata"]["labels"].get("app.kubernetes.io/name") for p in pods}
        assert {"echo-demo", "high-cpu-app", "memory-intensive-app", "load-gen", "optimizer-backend"} <= apps
        now = cluster.clock.now_seconds()

        def age(pod: dict[str, Any]) -> float:
            return now - (parse_time(pod["metadata"]["creationTimestamp"]) or 0.0)

        for pod in pods:
            if age(pod) < 2:
                continue  # the HPA may have just added it: still ContainerCreating, as on a real cluster
            assert pod["status"]["phase"] == "Running"
            # memory-intensive-app may be between an OOM kill and its restart (it OOMs in traffic bursts)
            assert is_pod_ready(pod) or pod["metadata"]["labels"]["app"] == "memory-intensive-app"
            assert pod["status"]["podIP"].startswith(("10.244.1.", "10.244.2."))
        coredns = [p for p in store.list_objects(r.PODS, "kube-system") if p["metadata"]["name"].startswith("coredns-")]
        assert len(coredns) == 2
        hpa = store.require(r.HPAS, "k8s-optimizer", "echo-demo-hpa")
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
        with_metrics = {m["metadata"]["name"] for m in cluster.metrics.pod_metrics(None)}
        without = {p["metadata"]["name"] for p in store.list_objects(r.PODS) if age(p) > 17} - with_metrics
        assert all(name.startswith("memory-intensive-app-") for name in without)  # only while OOM-restarting


async def test_echo_demo_hpa_reacts_to_load_gen() -> None:
    async with running_cluster("demo") as cluster:
        await cluster.advance(180)
        hpa = cluster.store.require(r.HPAS, "k8s-optimizer", "echo-demo-hpa")["status"]
        assert hpa["currentReplicas"] >= 3  # load-gen pushes echo-demo above 50 % of its requests at 2 replicas
        cluster.set_load("k8s-optimizer", "load-gen", enabled=False)
        await cluster.advance(600)
        deployment = cluster.store.require(r.DEPLOYMENTS, "k8s-optimizer", "echo-demo")
        assert deployment["spec"]["replicas"] == 2  # back to minReplicas after the stabilisation window


def test_demo_objects_come_from_deploy_and_carry_the_usage_model() -> None:
    objects = demo_objects()
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("StatefulSet", "optimizer-backend") in names
    assert ("Pod", "load-gen") in names
    load_gen = next(o for o in objects if o["kind"] == "Pod")
    assert load_gen["metadata"]["annotations"]["sim.k8s-optimizer.io/drives"] == "echo-demo"
    assert all(
        o["metadata"].get("namespace") == "k8s-optimizer"
        for o in objects
        if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
    )


async def test_missing_manifests_fall_back_to_builtins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    objects = demo_objects()
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        (o["kind"], o["metadata"]["name"]) for o in builtin_objects()
    ]
    async with running_cluster("demo") as cluster:
        echo = cluster.store.require(r.DEPLOYMENTS, "k8s-optimizer", "echo-demo")
        assert echo["status"]["readyReplicas"] >= 2
