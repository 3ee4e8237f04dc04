"""Admission: API-server defaults, ClusterIP/NodePort allocation and 422 validation with field paths."""

from __future__ import annotations

import pytest

from k8s_sim import resources as r
from k8s_sim.admission import Admission
from k8s_sim.clock import SimClock
from k8s_sim.store import ApiError, Obj, ObjectStore
from tests.sim.embedded import deployment


@pytest.fixture
def store() -> ObjectStore:
    store = ObjectStore(SimClock())
    for rt in r.ALL:
        store.register(rt)
    store.add_admission(Admission(store))
    return store


def _service(name: str, **spec: object) -> Obj:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec},
    }


def test_pod_defaults(store: ObjectStore) -> None:
    pod = store.create(
        r.PODS,
        {
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {
                "containers": [
                    {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
                    {"name": "b", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                ]
            },
        },
    )
    spec = pod["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    assert spec["terminationGracePeriodSeconds"] == 30
    a, b = spec["containers"]
    assert (a["imagePullPolicy"], b["imagePullPolicy"]) == ("Always", "IfNotPresent")
    assert a["terminationMessagePath"] == "/dev/termination-log"
    assert a["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert b["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}  # requests default to limits
    assert pod["status"] == {"phase": "Pending", "qosClass": "Burstable"}


def test_deployment_defaults(store: ObjectStore) -> None:
    body = deployment("default", "bare", replicas=1, container={"name": "web", "image": "nginx:1"})
    del body["spec"]["replicas"]
    spec = store.create(r.DEPLOYMENTS, body)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)


def test_selector_must_match_template_labels(store: ObjectStore) -> None:
    body = deployment("default", "web", replicas=1, container={"name": "web", "image": "nginx:1"})
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiError) as caught:
        store.create(r.DEPLOYMENTS, body)
    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"
    assert [c["field"] for c in caught.value.details["causes"]] == ["spec.template.metadata.labels"]
    assert caught.value.message.startswith('Deployment.apps "web" is invalid: spec.template.metadata.labels')


def test_invalid_name_and_missing_image(store: ObjectStore) -> None:
    with pytest.raises(ApiError) as caught:
        store.create(r.SERVICES, _service("Bad_Name"))
    assert caught.value.details["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiError) as missing:
        store.create(
            r.PODS, {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "a"}]}}
        )
    assert [c["field"] for c in missing.value.details["causes"]] == ["spec.containers[0].image"]


def test_cluster_ip_allocation_honours_requests_and_rejects_duplicates(store: ObjectStore) -> None:
    first = store.create(r.SERVICES, _service("first"))
    assert first["spec"]["clusterIP"] == "10.96.0.11"
    assert first["spec"]["clusterIPs"] == ["10.96.0.11"]
    assert (first["spec"]["type"], first["spec"]["sessionAffinity"]) == ("ClusterIP", "None")
    assert first["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert first["spec"]["ipFamilies"] == ["IPv4"]
    dns = store.create(r.SERVICES, _service("kube-dns", clusterIP="10.96.0.10"))
    assert dns["spec"]["clusterIP"] == "10.96.0.10"
    with pytest.raises(ApiError) as caught:
        store.create(r.SERVICES, _service("again", clusterIP="10.96.0.10"))
    assert caught.value.code == 422
    assert "provided IP is already allocated" in caught.value.message
    with pytest.raises(ApiError):
        store.create(r.SERVICES, _service("outside", clusterIP="192.168.0.1"))


def test_node_ports(store: ObjectStore) -> None:
    fixed = store.create(r.SERVICES, _service("fixed", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert fixed["spec"]["ports"][0]["nodePort"] == 30080
    auto = store.create(r.SERVICES, _service("auto", type="LoadBalancer"))
    assert auto["spec"]["ports"][0]["nodePort"] == 30000
    with pytest.raises(ApiError) as caught:
        store.create(r.SERVICES, _service("clash", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert caught.value.details["causes"][0]["field"] == "spec.ports[0].nodePort"
    store.delete(r.SERVICES, "default", "fixed")
    again = store.create(r.SERVICES, _service("clash", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert again["spec"]["ports"][0]["nodePort"] == 30080


def test_dry_run_reserves_nothing(store: ObjectStore) -> None:
    store.create(r.SERVICES, _service("probe", clusterIP="10.96.0.50"), dry_run=True)
    real = store.create(r.SERVICES, _service("real", clusterIP="10.96.0.50"))
    assert real["spec"]["clusterIP"] == "10.96.0.50"


def test_cluster_ip_is_immutable(store: ObjectStore) -> None:
    created = store.create(r.SERVICES, _service("web"))
    changed = {**created, "spec": {**created["spec"], "clusterIP": "10.96.0.99"}}
    with pytest.raises(ApiError) as caught:
        store.update(r.SERVICES, changed)
    assert "field is immutable" in caught.value.message
    kept = {**created, "spec": {k: v for k, v in created["spec"].items() if k not in ("clusterIP", "clusterIPs")}}
    assert store.update(r.SERVICES, kept)["spec"]["clusterIP"] == created["spec"]["clusterIP"]


def test_hpa_defaults_and_validation(store: ObjectStore) -> None:
    hpa = store.create(
        r.HPAS,
        {
            "metadata": {"name": "h", "namespace": "default"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, "behavior": {}},
        },
    )
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]
    assert hpa["spec"]["behavior"]["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]
    assert hpa["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    with pytest.raises(ApiError) as caught:
        store.create(
            r.HPAS,
            {
                "metadata": {"name": "bad", "namespace": "default"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 3, "maxReplicas": 2},
            },
        )
    assert [c["field"] for c in caught.value.details["causes"]] == ["spec.maxReplicas"]


def test_hpa_tolerance_is_a_quantity(store: ObjectStore) -> None:
    spec = {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    good = {**spec, "behavior": {"scaleUp": {"tolerance": "50m"}, "scaleDown": {"tolerance": 0.2}}}
    created = store.create(r.HPAS, {"metadata": {"name": "ok", "namespace": "default"}, "spec": good})
    assert created["spec"]["behavior"]["scaleUp"]["tolerance"] == "50m"
    bad = {**spec, "behavior": {"scaleDown": {"tolerance": "ten percent"}}}
    with pytest.raises(ApiError) as caught:
        store.create(r.HPAS, {"metadata": {"name": "bad", "namespace": "default"}, "spec": bad})
    assert [c["field"] for c in caught.value.details["causes"]] == ["spec.behavior.scaleDown.tolerance"]
