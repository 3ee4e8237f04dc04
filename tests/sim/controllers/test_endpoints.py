"""Endpoints/EndpointSlices: ready vs notReady, named targetPort resolved per pod, unmatched ports."""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.base import is_pod_ready
from tests.sim.embedded import deployment, pods_of, running_cluster


def _container(port: int) -> dict[str, object]:
    return {
        "name": "web",
        "image": "nginx:1.27.2",
        "ports": [{"name": "http", "containerPort": port}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }


async def test_named_target_port_is_resolved_per_pod() -> None:
    async with running_cluster("demo") as cluster:
        for name, port in (("blue", 8080), ("green", 9090)):
            body = deployment("default", name, replicas=1, container=_container(port))
            body["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
            cluster.store.create(r.DEPLOYMENTS, body)
        cluster.store.create(
            r.SERVICES,
            {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"selector": {"tier": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            },
        )
        await cluster.advance(5)
        ip = {app: pods_of(cluster, "default", app)[0]["status"]["podIP"] for app in ("blue", "green")}
        subsets = cluster.store.require(r.ENDPOINTS, "default", "web")["subsets"]
        assert [(s["ports"], [a["ip"] for a in s["addresses"]]) for s in subsets] == [
            ([{"name": "http", "port": 8080, "protocol": "TCP"}], [ip["blue"]]),
            ([{"name": "http", "port": 9090, "protocol": "TCP"}], [ip["green"]]),
        ]
        address = subsets[0]["addresses"][0]
        assert address["targetRef"]["kind"] == "Pod"
        assert address["nodeName"].startswith("k8s-optimizer-worker")
        slices = [
            s
            for s in cluster.store.list_objects(r.ENDPOINTSLICES, "default")
            if s["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
        ]
        assert sorted(s["ports"][0]["port"] for s in slices) == [8080, 9090]
        assert all(s["endpoints"][0]["conditions"]["ready"] for s in slices)


async def test_broken_services_get_no_or_not_ready_addresses() -> None:
    async with running_cluster("broken") as cluster:
        await cluster.advance(30)
        assert "subsets" not in cluster.store.require(r.ENDPOINTS, "broken", "orphan-svc")
        misport = cluster.store.require(r.ENDPOINTS, "broken", "web-misport")
        assert "subsets" not in misport
        assert all(is_pod_ready(p) for p in pods_of(cluster, "broken", "web-misport"))
        never = cluster.store.require(r.ENDPOINTS, "broken", "never-ready")["subsets"]
        assert len(never) == 1
        assert "addresses" not in never[0]
        assert len(never[0]["notReadyAddresses"]) == 2


async def test_echo_demo_endpoints_follow_its_pods() -> None:
    async with running_cluster("demo") as cluster:
        pods = [p for p in pods_of(cluster, "k8s-optimizer", "echo-demo") if is_pod_ready(p)]
        subsets = cluster.store.require(r.ENDPOINTS, "k8s-optimizer", "echo-demo")["subsets"]
        assert subsets[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        assert sorted(a["ip"] for a in subsets[0]["addresses"]) == sorted(p["status"]["podIP"] for p in pods)
        cluster.store.delete(r.SERVICES, "k8s-optimizer", "echo-demo")
        await cluster.advance(1)
        assert cluster.store.get(r.ENDPOINTS, "k8s-optimizer", "echo-demo") is None
        slices = cluster.store.list_objects(r.ENDPOINTSLICES, "k8s-optimizer")
        assert all(s["metadata"]["labels"]["kubernetes.io/service-name"] != "echo-demo" for s in slices)
