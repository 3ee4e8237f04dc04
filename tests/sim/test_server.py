"""The API server, driven by kubernetes_asyncio (the backend's own client) and raw HTTP where clients hide details."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from k8s_sim import watch as sim_watch
from k8s_sim.faults import parse_faults
from k8s_sim.resources import DEPLOYMENTS, NODES, PODS, REPLICASETS
from tests.sim.builders import deployment, pod, seed_namespaces
from tests.sim.conftest import Served


async def _http(served: Served, method: str, path: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.request(method, served.url + path, **kwargs) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None, dict(response.headers)


def _untyped(api: object) -> Any:
    """The generated client's stubs call optional parameters required (and lack `_content_type`)."""
    return api


def _body(error: ApiException) -> Any:
    return json.loads(error.body or b"null")


async def _drain(stream: watch.Watch) -> None:
    async with stream:
        async for _ in stream:
            pass


def _seed_pods(served: Served, count: int, ns: str = "default") -> None:
    seed_namespaces(served.store, ns)
    for index in range(count):
        served.store.create(PODS, pod(f"p{index:03d}", ns, {"app": "web" if index % 2 else "api"}))


# -- discovery -----------------------------------------------------------------------------------------
async def test_version_is_complete_for_kubernetes_asyncio(kube: client.ApiClient) -> None:
    info = await _untyped(client.VersionApi(kube)).get_code()
    assert (info.major, info.minor, info.git_version, info.build_date) == (
        "1",
        "31",
        "v1.31.4",
        "2024-12-10T18:44:26Z",
    )


async def test_discovery_lists_groups_resources_and_subresources(served: Served) -> None:
    status, groups, _ = await _http(served, "GET", "/apis")
    assert status == 200
    assert {g["name"] for g in groups["groups"]} >= {"apps", "autoscaling", "metrics.k8s.io", "policy"}
    _, core, _ = await _http(served, "GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"]
    assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
    _, apps, _ = await _http(served, "GET", "/apis/apps/v1")
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    _, metrics, _ = await _http(served, "GET", "/apis/metrics.k8s.io/v1beta1")
    assert [r["verbs"] for r in metrics["resources"]] == [["get", "list"], ["get", "list"]]


# -- list ----------------------------------------------------------------------------------------------
async def test_paginated_list_returns_every_pod_once_in_order(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 25)
    core = _untyped(client.CoreV1Api(kube))
    names: list[str] = []
    remaining: list[int | None] = []
    token = None
    while True:
        page = await core.list_namespaced_pod("default", limit=10, _continue=token)
        names += [p.metadata.name for p in page.items]
        remaining.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"p{i:03d}" for i in range(25)]
    assert remaining == [15, 5, None]


async def test_pages_stay_consistent_while_objects_are_added(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 6)
    core = _untyped(client.CoreV1Api(kube))
    first = await core.list_pod_for_all_namespaces(limit=3)
    served.store.create(PODS, pod("a-new", "default"))  # sorts before the continue key: not repeated
    second = await core.list_pod_for_all_namespaces(limit=3, _continue=first.metadata._continue)
    assert [p.metadata.name for p in second.items] == ["p003", "p004", "p005"]
    assert second.metadata.resource_version == first.metadata.resource_version


async def test_continue_token_older_than_compaction_is_410(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 4)
    core = _untyped(client.CoreV1Api(kube))
    first = await core.list_namespaced_pod("default", limit=2)
    served.store.create(PODS, pod("zz", "default"))
    served.store.compact()
    with pytest.raises(ApiException) as raised:
        await core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert raised.value.status == 410


@pytest.mark.parametrize(
    ("selector", "count"),
    [("app=web", 5), ("app in (web,api)", 10), ("app notin (web)", 5), ("!app", 0), ("app", 10)],
)
async def test_label_selectors(served: Served, kube: client.ApiClient, selector: str, count: int) -> None:
    _seed_pods(served, 10)
    pods = await _untyped(client.CoreV1Api(kube)).list_pod_for_all_namespaces(label_selector=selector)
    assert len(pods.items) == count


async def test_field_selectors_on_node_and_phase(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    served.store.create(PODS, pod("a", node="w1", phase="Running"))
    served.store.create(PODS, pod("b", node="w2", phase="Pending"))
    served.store.create(PODS, pod("c", node="w1", phase="Failed"))
    core = _untyped(client.CoreV1Api(kube))
    on_w1 = await core.list_pod_for_all_namespaces(field_selector="spec.nodeName=w1,status.phase!=Failed")
    assert [p.metadata.name for p in on_w1.items] == ["a"]
    by_name = await core.list_namespaced_pod("default", field_selector="metadata.name=b")
    assert [p.metadata.name for p in by_name.items] == ["b"]


async def test_selector_errors_are_400_naming_the_term(served: Served) -> None:
    status, body, _ = await _http(served, "GET", "/api/v1/pods", params={"fieldSelector": "spec.image=x"})
    assert (status, body["reason"]) == (400, "BadRequest")
    assert '"spec.image" is not a known field selector' in body["message"]
    status, body, _ = await _http(served, "GET", "/api/v1/pods", params={"limit": "many"})
    assert (status, body["message"]) == (400, "limit: invalid value 'many': must be an integer")


# -- watch ---------------------------------------------------------------------------------------------
async def test_watch_without_rv_starts_with_added_events_then_streams(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 2)
    core = _untyped(client.CoreV1Api(kube))
    seen: list[tuple[str, str]] = []
    async with watch.Watch().stream(core.list_namespaced_pod, "default", timeout_seconds=5) as stream:
        async for event in stream:
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 2:
                served.store.delete(PODS, "default", "p000")
            if len(seen) == 3:
                break
    assert seen == [("ADDED", "p000"), ("ADDED", "p001"), ("DELETED", "p000")]


async def test_watch_resumes_from_a_resource_version(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 2)
    core = _untyped(client.CoreV1Api(kube))
    listed = await core.list_namespaced_pod("default")
    served.store.create(PODS, pod("later", labels={"app": "web"}))
    served.store.create(PODS, pod("other", labels={"app": "db"}))
    events = []
    stream = watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        label_selector="app=web",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
    )
    async with stream:
        events = [(e["type"], e["object"].metadata.name) async for e in stream]
    assert events == [("ADDED", "later")]


async def test_selector_watch_reports_objects_leaving_and_joining_the_selection(
    served: Served, kube: client.ApiClient
) -> None:
    _seed_pods(served, 2)  # p000 app=api, p001 app=web
    rv = str(served.store.revision)

    def relabel(app: str) -> None:
        served.store.mutate(PODS, "default", "p001", lambda obj: obj["metadata"]["labels"].update(app=app))

    relabel("api")
    relabel("web")
    relabel("web2")
    core = _untyped(client.CoreV1Api(kube))
    stream = watch.Watch().stream(
        core.list_namespaced_pod, "default", label_selector="app=web", resource_version=rv, timeout_seconds=1
    )
    async with stream:
        events = [(e["type"], e["object"].metadata.labels["app"]) async for e in stream]
    assert events == [("DELETED", "api"), ("ADDED", "web"), ("DELETED", "web2")]


async def test_watch_from_a_compacted_rv_gets_410_expired(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 1)
    rv = served.store.revision
    served.store.create(PODS, pod("x"))
    served.store.compact()
    status, _, _ = await _http(served, "GET", "/api/v1/pods", params={"watch": "1", "resourceVersion": str(rv)})
    assert status == 200
    async with aiohttp.ClientSession() as session:
        query = {"watch": "true", "resourceVersion": str(rv)}
        async with session.get(f"{served.url}/api/v1/pods", params=query) as response:
            line = json.loads(await response.content.readline())
    assert line["type"] == "ERROR"
    assert (line["object"]["code"], line["object"]["reason"]) == (410, "Expired")
    core = _untyped(client.CoreV1Api(kube))
    stream = watch.Watch().stream(core.list_pod_for_all_namespaces, resource_version=str(rv))
    with pytest.raises(ApiException) as raised:
        await _drain(stream)
    assert raised.value.status == 410


async def test_watch_from_a_future_rv_gets_504_too_large_resource_version(
    served: Served, kube: client.ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kube-apiserver's watch cache: wait for freshness, then NewTooLargeResourceVersionError (504, Timeout)."""
    monkeypatch.setattr(sim_watch, "FRESHNESS_WAIT_SECONDS", 0.3)
    _seed_pods(served, 1)
    current = served.store.revision
    future = current + 1000
    status, body, headers = await _http(
        served, "GET", "/api/v1/pods", params={"watch": "1", "resourceVersion": str(future)}
    )
    assert (status, headers["Retry-After"]) == (504, "1")
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"Timeout: Too large resource version: {future}, current: {current}",
        "reason": "Timeout",
        "details": {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
        "code": 504,
    }
    core = _untyped(client.CoreV1Api(kube))
    stream = watch.Watch().stream(core.list_pod_for_all_namespaces, resource_version=str(future), timeout_seconds=1)
    with pytest.raises(ApiException) as raised:
        await _drain(stream)
    assert raised.value.status == 504


async def test_watch_from_an_rv_reached_while_waiting_is_served(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim_watch, "FRESHNESS_WAIT_SECONDS", 5.0)
    _seed_pods(served, 1)
    soon = served.store.revision + 1
    query = {"watch": "1", "resourceVersion": str(soon), "timeoutSeconds": "1"}

    async def create_later() -> None:
        await asyncio.sleep(0.2)
        served.store.create(PODS, pod("late"))
        await asyncio.sleep(0.05)
        served.store.create(PODS, pod("later"))

    creating = asyncio.create_task(create_later())
    async with aiohttp.ClientSession() as session, session.get(f"{served.url}/api/v1/pods", params=query) as response:
        assert response.status == 200
        lines = [json.loads(line) async for line in response.content if line.strip()]
    await creating
    assert [(line["type"], line["object"]["metadata"]["name"]) for line in lines] == [("ADDED", "later")]


async def test_watch_sends_bookmarks_and_ends_at_timeout_seconds(served: Served) -> None:
    seed_namespaces(served.store, "default")
    rv = served.store.revision
    query = {"watch": "True", "resourceVersion": str(rv), "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with aiohttp.ClientSession() as session, session.get(f"{served.url}/api/v1/pods", params=query) as response:
        lines = [json.loads(line) async for line in response.content if line.strip()]
    elapsed = loop.time() - started
    assert 0.9 < elapsed < 3
    assert lines
    assert {line["type"] for line in lines} == {"BOOKMARK"}
    assert lines[0]["object"] == {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}}


async def test_watch_drop_fault_ends_streams_early(served: Served) -> None:
    served.faults.set(parse_faults("watch-drop=0.3"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, _ = await _http(served, "GET", "/api/v1/pods", params={"watch": "1", "timeoutSeconds": "30"})
    assert status == 200
    assert loop.time() - started < 2


# -- writes --------------------------------------------------------------------------------------------
async def test_create_then_duplicate_is_409_already_exists(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    apps = _untyped(client.AppsV1Api(kube))
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    assert created.metadata.uid
    assert created.metadata.resource_version == str(served.store.revision)
    with pytest.raises(ApiException) as raised:
        await apps.create_namespaced_deployment("default", deployment("web"))
    assert raised.value.status == 409
    assert _body(raised.value)["reason"] == "AlreadyExists"


async def test_create_in_a_missing_namespace_is_404(served: Served) -> None:
    status, body, _ = await _http(served, "POST", "/api/v1/namespaces/nope/pods", json=pod("x", "nope"))
    assert (status, body["message"]) == (404, 'namespaces "nope" not found')


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", "application/json", 400),
        (b"[1]", "application/json", 400),
        (b"\x0a\x02", "application/vnd.kubernetes.protobuf", 415),
        (json.dumps({"metadata": {"name": "Bad_Name"}}).encode(), "application/json", 422),
        (json.dumps({"kind": "Service", "metadata": {"name": "x"}}).encode(), "application/json", 400),
    ],
)
async def test_bad_create_bodies_get_status_errors(served: Served, body: bytes, content_type: str, code: int) -> None:
    seed_namespaces(served.store, "default")
    headers = {"Content-Type": content_type}
    status, answer, _ = await _http(served, "POST", "/api/v1/namespaces/default/pods", data=body, headers=headers)
    assert (status, answer["kind"], answer["code"]) == (code, "Status", code)


async def test_stale_update_is_409_conflict(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    apps = _untyped(client.AppsV1Api(kube))
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    created.spec.replicas = 3
    await apps.replace_namespaced_deployment("web", "default", created)
    created.spec.replicas = 4
    with pytest.raises(ApiException) as raised:
        await apps.replace_namespaced_deployment("web", "default", created)
    assert raised.value.status == 409
    assert _body(raised.value)["reason"] == "Conflict"


async def test_dry_run_writes_validate_but_store_nothing(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    apps = _untyped(client.AppsV1Api(kube))
    before = served.store.revision
    dry = await apps.create_namespaced_deployment("default", deployment("web"), dry_run="All")
    assert dry.metadata.name == "web"
    assert served.store.revision == before
    await apps.create_namespaced_deployment("default", deployment("web"))
    rv = served.store.revision
    await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 9}}, dry_run="All")
    await apps.delete_namespaced_deployment("web", "default", dry_run="All")
    assert served.store.revision == rv
    assert served.store.require(DEPLOYMENTS, "default", "web")["spec"]["replicas"] == 2
    with pytest.raises(ApiException) as raised:
        await apps.create_namespaced_deployment("default", deployment("web"), dry_run="All")
    assert raised.value.status == 409


async def test_each_patch_type_through_the_client(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    apps = _untyped(client.AppsV1Api(kube))
    await apps.create_namespaced_deployment("default", deployment("web"))
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}
    patched = await apps.patch_namespaced_deployment("web", "default", strategic)
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [
        ("app", "nginx:1.28"),
        ("sidecar", "envoy:1.30"),
    ]
    assert patched.metadata.generation == 2
    merge = {"metadata": {"labels": {"team": "a"}}}
    patched = await apps.patch_namespaced_deployment(
        "web", "default", merge, _content_type="application/merge-patch+json"
    )
    assert patched.metadata.labels == {"app": "web", "team": "a"}
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
    ]
    patched = await apps.patch_namespaced_deployment("web", "default", ops)
    assert patched.spec.replicas == 4


async def test_custom_objects_dict_patch_pitfall_is_400(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    served.store.create(DEPLOYMENTS, deployment("web"))
    custom = _untyped(client.CustomObjectsApi(kube))
    with pytest.raises(ApiException) as raised:
        await custom.patch_namespaced_custom_object("apps", "v1", "default", "deployments", "web", {"spec": {}})
    assert raised.value.status == 400
    fixed = await custom.patch_namespaced_custom_object(
        "apps",
        "v1",
        "default",
        "deployments",
        "web",
        {"spec": {"replicas": 1}},
        _content_type="application/merge-patch+json",
    )
    assert fixed["spec"]["replicas"] == 1


async def test_unknown_patch_types_are_415_and_apply_needs_a_field_manager(served: Served) -> None:
    seed_namespaces(served.store, "default")
    served.store.create(DEPLOYMENTS, deployment("web"))
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    status, body, _ = await _http(served, "PATCH", path, data=b"{}", headers={"Content-Type": "text/plain"})
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    apply_type = {"Content-Type": "application/apply-patch+yaml"}
    status, body, _ = await _http(served, "PATCH", path, data=b"{}", headers=apply_type)
    assert (status, body["message"]) == (
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    )


async def test_scale_subresource_reads_and_writes_replicas(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    served.store.create(DEPLOYMENTS, deployment("web"))
    apps = _untyped(client.AppsV1Api(kube))
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=web")
    await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
    assert served.store.require(DEPLOYMENTS, "default", "web")["spec"]["replicas"] == 6
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    scale.spec.replicas = 1
    replaced = await apps.replace_namespaced_deployment_scale("web", "default", scale)
    assert replaced.spec.replicas == 1
    status, body, _ = await _http(
        served,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
        json={"spec": {"replicas": -1}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert (status, body["reason"]) == (422, "Invalid")
    assert "spec.replicas" in body["message"]


async def test_status_subresource_changes_only_status(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    served.store.create(DEPLOYMENTS, deployment("web"))
    apps = _untyped(client.AppsV1Api(kube))
    body = {"spec": {"replicas": 7}, "status": {"replicas": 2, "readyReplicas": 2}}
    await apps.patch_namespaced_deployment_status("web", "default", body)
    stored = served.store.require(DEPLOYMENTS, "default", "web")
    assert (stored["spec"]["replicas"], stored["status"]["readyReplicas"]) == (2, 2)
    await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}, "status": {"readyReplicas": 0}})
    stored = served.store.require(DEPLOYMENTS, "default", "web")
    assert (stored["spec"]["replicas"], stored["status"]["readyReplicas"]) == (3, 2)


async def test_deleting_a_deployment_collects_its_replicasets_and_pods(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    owner = served.store.create(DEPLOYMENTS, deployment("web"))
    rs = served.store.create(
        REPLICASETS,
        {
            "metadata": {
                "name": "web-1",
                "namespace": "default",
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner["metadata"]["uid"]}
                ],
            },
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {}},
        },
    )
    served.store.create(PODS, pod("web-1-a", uid_owner=rs["metadata"]["uid"]))
    served.store.create(PODS, pod("unrelated"))
    await _untyped(client.AppsV1Api(kube)).delete_namespaced_deployment(
        "web", "default", propagation_policy="Foreground"
    )
    assert served.store.get(REPLICASETS, "default", "web-1") is None
    assert [p["metadata"]["name"] for p in served.store.list_objects(PODS)] == ["unrelated"]


async def test_gc_follows_owner_references_as_they_change(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    first = served.store.create(DEPLOYMENTS, deployment("first"))
    second = served.store.create(DEPLOYMENTS, deployment("second"))
    served.store.create(PODS, pod("child", uid_owner=first["metadata"]["uid"]))

    def adopt(obj: dict[str, Any]) -> None:
        obj["metadata"]["ownerReferences"][0]["uid"] = second["metadata"]["uid"]

    served.store.mutate(PODS, "default", "child", adopt)
    apps = _untyped(client.AppsV1Api(kube))
    await apps.delete_namespaced_deployment("first", "default")
    assert served.store.get(PODS, "default", "child") is not None
    await apps.delete_namespaced_deployment("second", "default")
    assert served.store.get(PODS, "default", "child") is None


async def test_orphan_deletion_strips_owner_references(served: Served, kube: client.ApiClient) -> None:
    seed_namespaces(served.store, "default")
    owner = served.store.create(DEPLOYMENTS, deployment("web"))
    served.store.create(PODS, pod("child", uid_owner=owner["metadata"]["uid"]))
    await _untyped(client.AppsV1Api(kube)).delete_namespaced_deployment("web", "default", propagation_policy="Orphan")
    assert "ownerReferences" not in served.store.require(PODS, "default", "child")["metadata"]


async def test_delete_collection_with_a_selector_and_404_on_missing(served: Served, kube: client.ApiClient) -> None:
    _seed_pods(served, 6)
    core = _untyped(client.CoreV1Api(kube))
    await core.delete_collection_namespaced_pod("default", label_selector="app=web")
    assert [p["metadata"]["name"] for p in served.store.list_objects(PODS)] == ["p000", "p002", "p004"]
    with pytest.raises(ApiException) as raised:
        await core.read_namespaced_pod("p001", "default")
    assert raised.value.status == 404
    assert _body(raised.value)["message"] == 'pods "p001" not found'


async def test_deleting_a_namespace_deletes_its_contents(served: Served) -> None:
    _seed_pods(served, 2, ns="team")
    status, _, _ = await _http(served, "DELETE", "/api/v1/namespaces/team")
    assert status == 200
    assert served.store.count(PODS) == 0


# -- metrics.k8s.io ------------------------------------------------------------------------------------
async def test_metrics_are_served_from_the_cluster_and_read_only(served: Served, kube: client.ApiClient) -> None:
    pod_metrics = {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "p1", "namespace": "default", "labels": {"app": "web"}},
        "timestamp": "2026-01-01T00:00:00Z",
        "window": "15s",
        "containers": [{"name": "app", "usage": {"cpu": "12m", "memory": "2048Ki"}}],
    }
    served.cluster.metrics.pods.append(pod_metrics)
    custom = _untyped(client.CustomObjectsApi(kube))
    listed = await custom.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "default", "pods", label_selector="app=web"
    )
    assert listed["kind"] == "PodMetricsList"
    assert listed["items"] == [pod_metrics]
    none = await custom.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "default", "pods", label_selector="app=db"
    )
    assert none["items"] == []
    status, _, _ = await _http(served, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/missing")
    assert status == 404
    status, body, _ = await _http(served, "DELETE", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/p1")
    assert (status, body["reason"]) == (405, "MethodNotAllowed")


# -- faults and control --------------------------------------------------------------------------------
async def test_error_rate_with_retry_after_answers_429_but_never_on_control(served: Served) -> None:
    served.faults.set(parse_faults("error-rate=1,retry-after=2"))
    status, body, headers = await _http(served, "GET", "/api/v1/pods")
    assert (status, body["reason"], headers["Retry-After"]) == (429, "TooManyRequests", "2")
    status, body, _ = await _http(served, "GET", "/sim/v1/faults")
    assert (status, body["spec"], body["errorRate"]) == (200, "error-rate=1,retry-after=2", 1.0)
    served.faults.set(parse_faults("error-rate=1"))
    status, body, _ = await _http(served, "GET", "/api/v1/nodes")
    assert (status, body["reason"]) == (500, "InternalError")


async def test_metrics_outage_is_503_for_metrics_only(served: Served) -> None:
    status, _, _ = await _http(served, "POST", "/sim/v1/faults", json={"spec": "metrics-outage=60"})
    assert status == 200
    status, body, _ = await _http(served, "GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    assert (status, body["reason"]) == (503, "ServiceUnavailable")
    status, _, _ = await _http(served, "GET", "/api/v1/nodes")
    assert status == 200
    await _http(served, "POST", "/sim/v1/faults", json={"spec": "metrics-outage=60@30"})
    status, _, _ = await _http(served, "GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    assert status == 200


async def test_expire_rv_fault_compacts_the_log(served: Served) -> None:
    _seed_pods(served, 1)
    served.faults.set(parse_faults("expire-rv=0.2"))
    await asyncio.sleep(0.8)
    assert served.store.events_since(1) is None


async def test_control_endpoints_validate_and_reach_the_cluster(served: Served) -> None:
    status, body, _ = await _http(served, "POST", "/sim/v1/faults", json={"spec": "bogus=1"})
    assert status == 400
    assert "unknown fault 'bogus'" in body["message"]
    status, body, _ = await _http(served, "POST", "/sim/v1/advance", json={"seconds": 3600})
    assert (status, body["advancedSeconds"]) == (200, 3600.0)
    status, body, _ = await _http(served, "POST", "/sim/v1/advance", json={"seconds": "soon"})
    assert (status, body["message"]) == (400, "seconds: required, a non-negative number of simulated seconds")
    status, _, _ = await _http(
        served, "POST", "/sim/v1/load", json={"namespace": "d", "name": "web", "enabled": True, "rps": 5}
    )
    assert served.cluster.loads[("d", "web")] == (True, 5.0)
    status, body, _ = await _http(served, "POST", "/sim/v1/load", json={"namespace": "d", "name": "web"})
    assert (status, body["message"]) == (400, "enabled: required, true or false")
    status, _, _ = await _http(
        served, "POST", "/sim/v1/load", json={"namespace": "d", "name": "missing", "enabled": False}
    )
    assert status == 404
    status, body, _ = await _http(served, "GET", "/sim/v1/status")
    assert (status, body["scenario"], body["faults"]["spec"]) == (200, "fake", "")


# -- tables --------------------------------------------------------------------------------------------
async def test_table_is_served_when_kubectl_asks(served: Served) -> None:
    served.store.create(
        NODES,
        {
            "metadata": {"name": "w1", "labels": {}},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.20.0.2"}]},
        },
    )
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    status, body, _ = await _http(
        served, "GET", "/api/v1/nodes", headers={"Accept": accept}, params={"includeObject": "Object"}
    )
    assert (status, body["kind"]) == (200, "Table")
    assert body["columnDefinitions"][5]["name"] == "Internal-IP"
    assert body["columnDefinitions"][5]["priority"] == 1
    assert body["rows"][0]["cells"][5] == "172.20.0.2"
    assert body["rows"][0]["object"]["kind"] == "Node"
