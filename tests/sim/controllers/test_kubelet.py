"""Kubelet: lifecycle, readiness delay, OOMKilled restarts with back-off, CrashLoopBackOff."""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.base import is_pod_ready
from k8s_sim.load import PREFIX
from tests.sim.embedded import deployment, events_for, pods_of, running_cluster


def _container(memory_limit: str) -> dict[str, object]:
    return {
        "name": "app",
        "image": "busybox:1.36.1",
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": memory_limit}},
    }


async def test_readiness_waits_for_initial_delay() -> None:
    async with running_cluster("demo") as cluster:
        container = {**_container("64Mi"), "readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 20}}
        cluster.store.create(r.DEPLOYMENTS, deployment("default", "slow", replicas=1, container=container))
        await cluster.advance(5)
        (pod,) = pods_of(cluster, "default", "slow")
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIP"].startswith("10.244.")
        assert not is_pod_ready(pod)
        await cluster.advance(20)
        (pod,) = pods_of(cluster, "default", "slow")
        assert is_pod_ready(pod)


async def test_memory_over_limit_is_oomkilled_and_restarted_with_backoff() -> None:
    async with running_cluster("demo") as cluster:
        annotations = {PREFIX + "memory-baseline-mib": "100", PREFIX + "noise": "0"}
        body = deployment("default", "hog", replicas=1, container=_container("64Mi"), annotations=annotations)
        cluster.store.create(r.DEPLOYMENTS, body)
        seen = []
        for _ in range(20):
            await cluster.advance(5)
            (pod,) = pods_of(cluster, "default", "hog")
            status = pod["status"]["containerStatuses"][0]
            seen.append((status["restartCount"], next(iter(status["state"]))))
            if "waiting" in status["state"]:
                break
        # first OOM kill: restarted at once (still running); the second one waits 10 s in CrashLoopBackOff
        assert (1, "running") in seen
        assert seen[-1] == (2, "waiting")
        terminated = status["lastState"]["terminated"]
        assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
        assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert status["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=app pod=hog-")
        node = pod["spec"]["nodeName"]
        messages = [e["message"] for e in events_for(cluster, node, "SystemOOM")]
        assert any(m.startswith("System OOM encountered, victim process: app, pid: ") for m in messages)
        assert events_for(cluster, pod["metadata"]["name"], "BackOff")[0]["type"] == "Warning"
        await cluster.advance(60)
        (pod,) = pods_of(cluster, "default", "hog")
        status = pod["status"]["containerStatuses"][0]
        assert status["restartCount"] >= 3
        assert status["lastState"]["terminated"]["reason"] == "OOMKilled"


async def test_crashing_container_backs_off_exponentially() -> None:
    async with running_cluster("broken") as cluster:
        restarts = []
        for _ in range(8):
            await cluster.advance(15)
            (pod,) = pods_of(cluster, "broken", "crashloop")
            restarts.append(pod["status"]["containerStatuses"][0]["restartCount"])
        status = pod["status"]["containerStatuses"][0]
        assert status["lastState"]["terminated"]["reason"] == "Error"
        assert status["lastState"]["terminated"]["exitCode"] == 1
        # exits 5 s after each start; restarts at once, then after 10, 20, 40, 80 s: at ~5, 10, 25, 50, 95, 180 s
        assert restarts == sorted(restarts)
        assert 4 <= restarts[-1] <= 6
        assert pod["status"]["phase"] == "Running"
        assert not is_pod_ready(pod)
