"""Kubelet, scheduler and the round-two controllers failing and finishing as real ones do (issue 17, item 6).

Each test runs the in-process EmbeddedCluster (demo: a tainted control plane and two workers) and steps
simulated time, so waits are exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from k8s_sim import resources as r
from k8s_sim.store import ApiError, Obj
from tests.sim.embedded import deployment, events_for, running_cluster

NGINX: Obj = {"name": "app", "image": "nginx:1.27.2", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}


def _pod(name: str, **spec: Any) -> Obj:
    containers = spec.pop("containers", [dict(NGINX)])
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"containers": containers, **spec},
    }


def _get(cluster: Any, name: str, rt: Any = r.PODS, namespace: str = "default") -> Obj:
    found = cluster.store.get(rt, namespace, name)
    assert found is not None, name
    return dict(found)


def _waiting(pod: Obj) -> tuple[str, str]:
    waiting = pod["status"]["containerStatuses"][0]["state"].get("waiting") or {}
    return waiting.get("reason", ""), waiting.get("message", "")


def _scheduled(pod: Obj) -> Obj:
    return next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")


async def test_daemonset_runs_only_on_nodes_matching_its_node_selector() -> None:
    async with running_cluster("demo") as cluster:
        body = deployment("default", "agent", replicas=1, container=dict(NGINX))
        del body["spec"]["replicas"]
        body["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "k8s-optimizer-worker2"}
        cluster.store.create(r.DAEMONSETS, body)
        await cluster.advance(5)
        pods = [
            p for p in cluster.store.list_objects(r.PODS, "default") if p["metadata"]["labels"].get("app") == "agent"
        ]
        assert [p["spec"]["nodeName"] for p in pods] == ["k8s-optimizer-worker2"]
        status = _get(cluster, "agent", r.DAEMONSETS)["status"]
        assert (status["desiredNumberScheduled"], status["numberReady"]) == (1, 1)


async def test_scheduling_gates_hold_a_pod_until_they_are_removed() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.PODS, _pod("gated", schedulingGates=[{"name": "example.com/wait"}]))
        await cluster.advance(40)
        pod = _get(cluster, "gated")
        assert pod["spec"].get("nodeName") is None
        assert {k: _scheduled(pod)[k] for k in ("status", "reason", "message")} == {
            "status": "False",
            "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates",
        }
        assert events_for(cluster, "gated", "FailedScheduling") == []
        cluster.store.mutate(r.PODS, "default", "gated", lambda p: p["spec"].pop("schedulingGates"))
        await cluster.advance(3)
        assert _get(cluster, "gated")["status"]["phase"] == "Running"


async def test_required_pod_anti_affinity_spreads_and_then_refuses_a_third_pod() -> None:
    async with running_cluster("demo") as cluster:
        anti = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "spread"}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
        body = deployment("default", "spread", replicas=3, container=dict(NGINX))
        body["spec"]["template"]["spec"]["affinity"] = anti
        cluster.store.create(r.DEPLOYMENTS, body)
        await cluster.advance(5)
        pods = [
            p for p in cluster.store.list_objects(r.PODS, "default") if p["metadata"]["labels"].get("app") == "spread"
        ]
        nodes = sorted(p["spec"].get("nodeName") or "" for p in pods)
        assert nodes == ["", "k8s-optimizer-worker", "k8s-optimizer-worker2"]
        pending = next(p for p in pods if not p["spec"].get("nodeName"))
        assert _scheduled(pending)["message"] == (
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
            "2 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling."
        )


async def test_required_pod_affinity_follows_the_first_pod() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.PODS, _pod("leader"))
        await cluster.advance(3)
        affinity = {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "leader"}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
        cluster.store.create(r.PODS, _pod("follower", affinity=affinity))
        await cluster.advance(3)
        assert _get(cluster, "follower")["spec"]["nodeName"] == _get(cluster, "leader")["spec"]["nodeName"]


async def test_missing_secret_key_is_create_container_config_error_until_it_exists() -> None:
    async with running_cluster("demo") as cluster:
        env = [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
        cluster.store.create(r.PODS, _pod("needs-secret", containers=[{**NGINX, "env": env}]))
        await cluster.advance(3)
        pod = _get(cluster, "needs-secret")
        assert (pod["status"]["phase"], _waiting(pod)) == (
            "Pending",
            ("CreateContainerConfigError", 'secret "db" not found'),
        )
        assert [e["message"] for e in events_for(cluster, "needs-secret", "Failed")] == ['Error: secret "db" not found']
        cluster.store.create(
            r.SECRETS, {"metadata": {"name": "db", "namespace": "default"}, "stringData": {"user": "x"}}
        )
        await cluster.advance(11)
        assert _waiting(_get(cluster, "needs-secret")) == (
            "CreateContainerConfigError",
            "couldn't find key password in Secret default/db",
        )
        cluster.store.mutate(r.SECRETS, "default", "db", lambda s: s["data"].update(password="cHc="))
        await cluster.advance(11)
        assert _get(cluster, "needs-secret")["status"]["phase"] == "Running"


async def test_missing_configmap_volume_keeps_the_pod_container_creating() -> None:
    async with running_cluster("demo") as cluster:
        volumes = [{"name": "config", "configMap": {"name": "settings"}}]
        cluster.store.create(r.PODS, _pod("needs-config", volumes=volumes))
        await cluster.advance(3)
        pod = _get(cluster, "needs-config")
        assert _waiting(pod) == ("ContainerCreating", "")
        assert [e["message"] for e in events_for(cluster, "needs-config", "FailedMount")] == [
            'MountVolume.SetUp failed for volume "config" : configmap "settings" not found'
        ]


async def test_pod_on_an_unbound_claim_is_pending_and_on_a_missing_claim_too() -> None:
    async with running_cluster("demo") as cluster:
        claim = {
            "metadata": {"name": "fast-data", "namespace": "default"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "fast",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
        cluster.store.create(r.PVCS, claim)
        volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "fast-data"}}]
        cluster.store.create(r.PODS, _pod("unbound", volumes=volumes))
        missing = [{"name": "data", "persistentVolumeClaim": {"claimName": "nowhere"}}]
        cluster.store.create(r.PODS, _pod("no-claim", volumes=missing))
        await cluster.advance(3)
        tail = ". preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        assert _scheduled(_get(cluster, "unbound"))["message"] == (
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims" + tail
        )
        assert _scheduled(_get(cluster, "no-claim"))["message"] == (
            '0/3 nodes are available: persistentvolumeclaim "nowhere" not found' + tail
        )
        assert _get(cluster, "fast-data", r.PVCS)["status"]["phase"] == "Pending"
        assert [e["message"] for e in events_for(cluster, "fast-data", "ProvisioningFailed")] == [
            'storageclass.storage.k8s.io "fast" not found'
        ]


async def test_default_class_claim_binds_for_its_first_consumer() -> None:
    async with running_cluster("demo") as cluster:
        claim = {
            "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
        }
        created = cluster.store.create(r.PVCS, claim)
        assert created["spec"]["storageClassName"] == "standard"
        await cluster.advance(2)
        assert _get(cluster, "data", r.PVCS)["status"]["phase"] == "Pending"
        volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
        cluster.store.create(r.PODS, _pod("consumer", volumes=volumes))
        await cluster.advance(3)
        bound = _get(cluster, "data", r.PVCS)
        assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}}
        volume = _get(cluster, bound["spec"]["volumeName"], r.PVS, "")
        assert (volume["status"]["phase"], volume["spec"]["persistentVolumeReclaimPolicy"]) == ("Bound", "Delete")
        assert _get(cluster, "consumer")["status"]["phase"] == "Running"
        cluster.store.delete(r.PODS, "default", "consumer")
        cluster.store.delete(r.PVCS, "default", "data")
        await cluster.advance(1)
        assert cluster.store.get(r.PVS, "", bound["spec"]["volumeName"]) is None


async def test_unpullable_image_is_err_image_pull_then_image_pull_back_off() -> None:
    async with running_cluster("demo") as cluster:
        cluster.kubelet.unpullable = frozenset({"registry.example/missing:*"})
        image = "registry.example/missing:1.0"
        cluster.store.create(r.PODS, _pod("no-image", containers=[{**NGINX, "image": image}]))
        await cluster.advance(2)
        reason, message = _waiting(_get(cluster, "no-image"))
        assert (reason, message) == (
            "ErrImagePull",
            f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": {image}: not found',
        )
        await cluster.advance(11)
        assert _waiting(_get(cluster, "no-image"))[0] == "ImagePullBackOff"
        assert [e["message"] for e in events_for(cluster, "no-image", "BackOff")] == [
            f'Back-off pulling image "{image}"'
        ]
        cluster.kubelet.unpullable = frozenset()
        await cluster.advance(21)
        assert _get(cluster, "no-image")["status"]["phase"] == "Running"


async def test_job_pods_run_to_completion_and_the_job_completes_and_expires() -> None:
    async with running_cluster("demo") as cluster:
        job = {
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {
                "completions": 2,
                "parallelism": 1,
                "ttlSecondsAfterFinished": 60,
                "template": {"spec": {"restartPolicy": "Never", "containers": [dict(NGINX)]}},
            },
        }
        cluster.store.create(r.JOBS, job)
        await cluster.advance(3)
        assert _get(cluster, "pi", r.JOBS)["status"]["active"] == 1
        await cluster.advance(12)
        status = _get(cluster, "pi", r.JOBS)["status"]
        assert (status["succeeded"], [c["type"] for c in status["conditions"]]) == (
            2,
            ["SuccessCriteriaMet", "Complete"],
        )
        pods = [
            p for p in cluster.store.list_objects(r.PODS, "default") if p["metadata"]["labels"].get("job-name") == "pi"
        ]
        assert [p["status"]["phase"] for p in pods] == ["Succeeded", "Succeeded"]
        terminated = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["reason"], terminated["exitCode"]) == ("Completed", 0)
        assert [e["message"] for e in events_for(cluster, "pi", "Completed")] == ["Job completed"]
        await cluster.advance(61)
        assert cluster.store.get(r.JOBS, "default", "pi") is None
        assert [
            p for p in cluster.store.list_objects(r.PODS, "default") if p["metadata"]["labels"].get("job-name") == "pi"
        ] == []


async def test_failing_job_reaches_its_backoff_limit() -> None:
    async with running_cluster("demo") as cluster:
        pod_template = {
            "metadata": {"annotations": {"sim.k8s-optimizer.io/exit-after-seconds": "2"}},
            "spec": {"restartPolicy": "Never", "containers": [dict(NGINX)]},
        }
        cluster.store.create(
            r.JOBS,
            {
                "metadata": {"name": "flaky", "namespace": "default"},
                "spec": {"backoffLimit": 1, "template": pod_template},
            },
        )
        for _ in range(6):
            await cluster.advance(4)
        status = _get(cluster, "flaky", r.JOBS)["status"]
        failed = next(c for c in status["conditions"] if c["type"] == "Failed")
        assert (status["failed"], failed["reason"]) == (2, "BackoffLimitExceeded")


async def test_cronjob_creates_a_job_each_scheduled_minute_and_keeps_its_history() -> None:
    async with running_cluster("demo") as cluster:
        template = {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [dict(NGINX)]}}}}
        body = {
            "metadata": {"name": "tick", "namespace": "default"},
            "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 2, "jobTemplate": template},
        }
        cluster.store.create(r.CRONJOBS, body)
        await cluster.advance(4 * 60 + 30)
        jobs = [j for j in cluster.store.list_objects(r.JOBS, "default") if j["metadata"]["name"].startswith("tick-")]
        completed = [j for j in jobs if j["status"].get("succeeded") == 1]
        assert len(completed) == 2  # successfulJobsHistoryLimit; older completed Jobs were deleted
        assert len(jobs) - len(completed) <= 1  # at most this minute's Job still running
        status = _get(cluster, "tick", r.CRONJOBS)["status"]
        assert status["lastScheduleTime"].endswith(":00Z")
        assert "lastSuccessfulTime" in status


async def test_service_type_change_to_cluster_ip_drops_its_node_ports() -> None:
    async with running_cluster("demo") as cluster:
        body = {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
        created = cluster.store.create(r.SERVICES, body)
        node_port = created["spec"]["ports"][0]["nodePort"]
        changed = cluster.store.mutate(r.SERVICES, "default", "web", lambda s: s["spec"].update(type="ClusterIP"))
        assert changed is not None
        assert changed["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
        assert "externalTrafficPolicy" not in changed["spec"]
        ports = [{"port": 80, "nodePort": node_port}]
        again = {"metadata": {"name": "web2", "namespace": "default"}, "spec": {"type": "NodePort", "ports": ports}}
        assert cluster.store.create(r.SERVICES, again)["spec"]["ports"][0]["nodePort"] == node_port


async def test_quota_tracks_usage_and_refuses_what_exceeds_it() -> None:
    async with running_cluster("demo") as cluster:
        quota = {
            "metadata": {"name": "compute", "namespace": "default"},
            "spec": {"hard": {"pods": "2", "requests.cpu": "25m"}},
        }
        cluster.store.create(r.RESOURCEQUOTAS, quota)
        await cluster.advance(1)
        before = len(list(cluster.store.list_objects(r.PODS, "default")))
        assert before == 0
        cluster.store.create(r.PODS, _pod("one"))
        cluster.store.create(r.PODS, _pod("two"))
        await cluster.advance(1)
        assert _get(cluster, "compute", r.RESOURCEQUOTAS)["status"] == {
            "hard": {"pods": "2", "requests.cpu": "25m"},
            "used": {"pods": "2", "requests.cpu": "20m"},
        }
        with pytest.raises(ApiError) as refused:
            cluster.store.create(r.PODS, _pod("three"))
        assert (refused.value.code, refused.value.message) == (
            403,
            'pods "three" is forbidden: exceeded quota: compute, requested: pods=1,requests.cpu=10m, '
            "used: pods=2,requests.cpu=20m, limited: pods=2,requests.cpu=25m",
        )


async def test_limit_range_defaults_containers_at_admission() -> None:
    async with running_cluster("demo") as cluster:
        limits = {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}, "defaultRequest": {"cpu": "100m"}}
        cluster.store.create(
            r.LIMITRANGES, {"metadata": {"name": "defaults", "namespace": "default"}, "spec": {"limits": [limits]}}
        )
        created = cluster.store.create(r.PODS, _pod("bare", containers=[{"name": "app", "image": "nginx:1.27.2"}]))
        assert created["spec"]["containers"][0]["resources"] == {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "256Mi"},
        }
        assert created["status"]["qosClass"] == "Burstable"


async def test_replication_controller_manages_its_pods() -> None:
    async with running_cluster("demo") as cluster:
        template = {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [dict(NGINX)]}}
        cluster.store.create(
            r.RCS,
            {"metadata": {"name": "legacy", "namespace": "default"}, "spec": {"replicas": 2, "template": template}},
        )
        await cluster.advance(3)
        rc = _get(cluster, "legacy", r.RCS)
        assert (rc["spec"]["selector"], rc["status"]["readyReplicas"]) == ({"app": "legacy"}, 2)
        cluster.store.mutate(r.RCS, "default", "legacy", lambda o: o["spec"].update(replicas=1))
        await cluster.advance(2)
        pods = [
            p for p in cluster.store.list_objects(r.PODS, "default") if p["metadata"]["labels"].get("app") == "legacy"
        ]
        assert len(pods) == 1
        assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"


async def test_logs_carry_the_requests_each_echo_pod_served() -> None:
    async with running_cluster("demo") as cluster:
        await cluster.advance(60)
        echo = [
            p
            for p in cluster.store.list_objects(r.PODS, "k8s-optimizer")
            if p["metadata"]["labels"].get("app") == "echo-demo"
        ]
        pod = echo[0]
        runs = cluster.logs.runs("k8s-optimizer", pod["metadata"]["name"], "echo")
        assert runs is not None
        assert runs[0] is not None
        lines = cluster.logs.lines(
            "k8s-optimizer", pod["metadata"]["name"], "echo", runs[0], cluster.clock.now_seconds()
        )
        load_gen = _get(cluster, "load-gen", namespace="k8s-optimizer")
        access = [text for _, text in lines[1:]]
        assert lines[0][1] == (
            "echo: listening on port 8080 (ealen/echo-server:0.9.2@sha256:"
            "006b92e1d6682442e29d1d0d73c34a61166d42f8a5bf1ea10c318f07ad4790e2)"
        )
        assert access
        assert all(text.startswith(f"{load_gen['status']['podIP']} - - [") for text in access)
        assert all('"GET / HTTP/1.1" 200 ' in text for text in access)
        assert [at for at, _ in lines] == sorted(at for at, _ in lines)
