"""kube-state-metrics through the service proxy: requests/limits, owners, OOM kills, restarts, HPAs, nodes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from k8s_sim import resources as r
from k8s_sim.load import PREFIX
from k8s_sim.scrape.exposition import TEXT_CONTENT_TYPE, render_text
from tests.sim.embedded import deployment, pods_of, running_cluster
from tests.sim.scrape.exposition import Row, parse, select
from tests.sim.scrape.served import served_cluster

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KSM_PATH = "/api/v1/namespaces/kube-system/services/kube-state-metrics:http-metrics/proxy/metrics"


def _rows(cluster: object) -> tuple[list[Row], dict[str, str]]:
    return parse(render_text(cluster.scrape.state.families()))  # type: ignore[attr-defined]


async def test_requests_limits_and_owner_chain() -> None:
    async with running_cluster("demo", start=START) as cluster:
        rows, types = _rows(cluster)
        pod = sorted(pods_of(cluster, "k8s-optimizer", "echo-demo"), key=lambda p: p["metadata"]["name"])[0]
        name, uid, node = pod["metadata"]["name"], pod["metadata"]["uid"], pod["spec"]["nodeName"]
        base = {"namespace": "k8s-optimizer", "pod": name, "uid": uid, "container": "echo", "node": node}
        assert {
            (row.labels["resource"], row.labels["unit"], row.value)
            for row in select(rows, "kube_pod_container_resource_requests", **base)
        } == {("cpu", "core", 0.05), ("memory", "byte", 64 * 1024 * 1024)}
        assert {
            (row.labels["resource"], row.labels["unit"], row.value)
            for row in select(rows, "kube_pod_container_resource_limits", **base)
        } == {("cpu", "core", 0.2), ("memory", "byte", 128 * 1024 * 1024)}
        assert set(select(rows, "kube_pod_container_resource_requests", **base)[0].labels) == {
            "namespace", "pod", "uid", "container", "node", "resource", "unit",
        }  # fmt: skip
        replicaset = pod["metadata"]["ownerReferences"][0]["name"]
        (owner,) = select(rows, "kube_pod_owner", pod=name)
        assert owner.labels == {
            "namespace": "k8s-optimizer",
            "pod": name,
            "uid": uid,
            "owner_kind": "ReplicaSet",
            "owner_name": replicaset,
            "owner_is_controller": "true",
        }
        (rs_owner,) = select(rows, "kube_replicaset_owner", replicaset=replicaset)
        assert rs_owner.labels == {
            "namespace": "k8s-optimizer",
            "replicaset": replicaset,
            "owner_kind": "Deployment",
            "owner_name": "echo-demo",
            "owner_is_controller": "true",
        }
        (static,) = select(rows, "kube_pod_owner", pod="etcd-k8s-optimizer-control-plane")
        assert (static.labels["owner_kind"], static.labels["owner_name"]) == ("<none>", "<none>")
        assert types["kube_pod_container_status_restarts_total"] == "counter"
        assert {row.timestamp_ms for row in rows} == {None}


async def test_hpa_and_deployment_series() -> None:
    async with running_cluster("demo", start=START) as cluster:
        await cluster.advance(60)  # past the first syncs, whose CPU metric is still <unknown>
        rows, _ = _rows(cluster)
        hpa = {"namespace": "k8s-optimizer", "horizontalpodautoscaler": "echo-demo-hpa"}
        prefix = "kube_horizontalpodautoscaler_"
        assert select(rows, prefix + "spec_min_replicas", **hpa)[0].value == 2
        assert select(rows, prefix + "spec_max_replicas", **hpa)[0].value == 10
        (target,) = select(rows, prefix + "spec_target_metric", **hpa)
        assert (target.labels["metric_name"], target.labels["metric_target_type"], target.value) == (
            "cpu",
            "utilization",
            50,
        )
        status = cluster.store.require(r.HPAS, "k8s-optimizer", "echo-demo-hpa")["status"]
        assert select(rows, prefix + "status_current_replicas", **hpa)[0].value == status["currentReplicas"]
        assert select(rows, prefix + "status_desired_replicas", **hpa)[0].value == status["desiredReplicas"]
        (current,) = status["currentMetrics"]
        observed = {
            (row.labels["metric_name"], row.labels["metric_target_type"], row.value)
            for row in select(rows, prefix + "status_target_metric", **hpa)
        }
        utilization = current["resource"]["current"]["averageUtilization"]
        average_millicores = int(current["resource"]["current"]["averageValue"].removesuffix("m"))
        assert observed == {("cpu", "utilization", utilization), ("cpu", "average", average_millicores / 1000)}
        (info,) = select(rows, prefix + "info", **hpa)
        assert info.labels == {
            **hpa,
            "scaletargetref_api_version": "apps/v1",
            "scaletargetref_kind": "Deployment",
            "scaletargetref_name": "echo-demo",
        }
        running = len(pods_of(cluster, "k8s-optimizer", "echo-demo"))
        (replicas,) = select(rows, "kube_deployment_status_replicas", namespace="k8s-optimizer", deployment="echo-demo")
        assert replicas.value == running


async def test_node_capacity_info_and_labels() -> None:
    async with running_cluster("demo", start=START) as cluster:
        rows, _ = _rows(cluster)
        node = "k8s-optimizer-worker"
        capacity = {
            (row.labels["resource"], row.labels["unit"]): row.value
            for row in select(rows, "kube_node_status_capacity", node=node)
        }
        assert capacity == {
            ("cpu", "core"): 4,
            ("ephemeral_storage", "byte"): 102625208 * 1024,
            ("hugepages_1Gi", "byte"): 0,
            ("hugepages_2Mi", "byte"): 0,
            ("memory", "byte"): 8148008 * 1024,
            ("pods", "integer"): 110,
        }
        (info,) = select(rows, "kube_node_info", node=node)
        assert info.labels["internal_ip"] == "172.20.0.2"
        assert info.labels["kubelet_version"] == "v1.31.0"
        assert info.labels["provider_id"] == f"kind://docker/k8s-optimizer/{node}"
        (labels,) = select(rows, "kube_node_labels", node=node)
        assert labels.labels["label_kubernetes_io_hostname"] == node
        assert "label_node_kubernetes_io_instance_type" not in labels.labels  # kind nodes have no instance type

        def typed(obj: dict[str, Any]) -> None:
            obj["metadata"]["labels"]["node.kubernetes.io/instance-type"] = "m5.xlarge"

        cluster.store.mutate(r.NODES, "", node, typed)
        rows, _ = _rows(cluster)
        (labels,) = select(rows, "kube_node_labels", node=node)
        assert labels.labels["label_node_kubernetes_io_instance_type"] == "m5.xlarge"


async def test_oom_kill_reason_and_restarts() -> None:
    async with running_cluster("demo", start=START) as cluster:
        annotations = {PREFIX + "memory-baseline-mib": "100", PREFIX + "noise": "0"}
        container = {
            "name": "app",
            "image": "busybox:1.36.1",
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        }
        cluster.store.create(
            r.DEPLOYMENTS, deployment("default", "hog", replicas=1, container=container, annotations=annotations)
        )
        await cluster.advance(20)
        (pod,) = pods_of(cluster, "default", "hog")
        restarts = pod["status"]["containerStatuses"][0]["restartCount"]
        assert restarts >= 1
        rows, _ = _rows(cluster)
        labels = {"namespace": "default", "pod": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
        (reason,) = select(rows, "kube_pod_container_status_last_terminated_reason", **labels)
        assert reason.labels == {**labels, "container": "app", "reason": "OOMKilled"}
        assert reason.value == 1
        (count,) = select(rows, "kube_pod_container_status_restarts_total", **labels)
        assert count.value == restarts
        (exit_code,) = select(rows, "kube_pod_container_status_last_terminated_exitcode", **labels)
        assert (exit_code.labels, exit_code.value) == ({**labels, "container": "app"}, 137)
        assert not select(rows, "kube_pod_container_status_waiting_reason", **labels)  # restarted at once
        for _ in range(20):  # the second OOM kill waits in CrashLoopBackOff
            await cluster.advance(5)
            (pod,) = pods_of(cluster, "default", "hog")
            if "waiting" in pod["status"]["containerStatuses"][0]["state"]:
                break
        rows, _ = _rows(cluster)
        (waiting,) = select(rows, "kube_pod_container_status_waiting_reason", **labels)
        assert (waiting.labels, waiting.value) == ({**labels, "container": "app", "reason": "CrashLoopBackOff"}, 1)
        assert not select(rows, "kube_pod_container_status_last_terminated_reason", namespace="k8s-optimizer")


async def test_service_proxy_over_http() -> None:
    async with served_cluster(start=START) as (cluster, url), aiohttp.ClientSession() as session:
        assert cluster.store.get(r.SERVICES, "kube-system", "kube-state-metrics") is not None
        async with session.get(url + KSM_PATH) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == TEXT_CONTENT_TYPE
            rows, _ = parse(await response.text())
            assert select(rows, "kube_pod_info", namespace="kube-system")
        # the cached page follows the objects: a new pod is on the next scrape
        cluster.store.create(
            r.PODS,
            {
                "metadata": {"name": "late", "namespace": "default"},
                "spec": {"containers": [{"name": "a", "image": "x"}]},
            },
        )
        async with session.get(url + KSM_PATH) as response:
            rows, _ = parse(await response.text())
            assert select(rows, "kube_pod_info", namespace="default", pod="late")
        for alias in ("http:kube-state-metrics:8080", "kube-state-metrics"):
            async with session.get(f"{url}/api/v1/namespaces/kube-system/services/{alias}/proxy/metrics") as response:
                assert response.status == 200
        async with session.get(
            f"{url}/api/v1/namespaces/kube-system/services/kube-dns:metrics/proxy/metrics"
        ) as response:
            assert response.status == 503
        async with session.get(f"{url}/api/v1/namespaces/kube-system/services/nope/proxy/metrics") as response:
            assert response.status == 404
            assert (await response.json())["message"] == 'services "nope" not found'
