"""One object a controller cannot reconcile never blocks the others (issue 14, finding 8).

The poison is put straight into the store, as etcd can hold an object an older API server accepted and
this version cannot read: an HPA whose maxReplicas is not a number, a Deployment whose replicas is not
one. Before the fix the exception escaped the controller's loop on every pass, so the HPAs (and
Deployments) that sort after the poisoned one were never reconciled.
"""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.load import PREFIX
from k8s_sim.store import Obj
from tests.sim.embedded import deployment, events_for, running_cluster

STEADY = {
    PREFIX + "rps": "40",
    PREFIX + "cpu-per-request-millicores": "5",
    PREFIX + "cpu-baseline-millicores": "0",
    PREFIX + "noise": "0",
    PREFIX + "diurnal-amplitude": "0",
}
CONTAINER = {"name": "app", "image": "busybox:1.36.1", "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}}}


def _hpa(name: str) -> Obj:
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
    }
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [metric],
        },
    }


def _poison(stored: Obj | None, change: dict[str, object]) -> None:
    """Edit the stored object in place: no admission, as if etcd held it."""
    assert stored is not None
    stored["spec"].update(change)


async def test_a_poisoned_hpa_is_reported_and_the_others_still_scale() -> None:
    async with running_cluster("demo") as cluster:
        for name in ("aaa-poisoned", "cpu-app"):
            cluster.store.create(
                r.DEPLOYMENTS, deployment("default", name, replicas=1, container=CONTAINER, annotations=STEADY)
            )
            cluster.store.create(r.HPAS, _hpa(name))
        _poison(cluster.store.get(r.HPAS, "default", "aaa-poisoned"), {"maxReplicas": "many"})
        await cluster.advance(120)
        # the healthy HPA sorts after the poisoned one and scales exactly as it does alone (test_hpa.py)
        assert cluster.store.require(r.DEPLOYMENTS, "default", "cpu-app")["spec"]["replicas"] == 4
        (failed,) = events_for(cluster, "aaa-poisoned", "FailedSync")
        assert (failed["type"], failed["source"]["component"], failed["involvedObject"]["kind"]) == (
            "Warning",
            "horizontal-pod-autoscaler",
            "HorizontalPodAutoscaler",
        )
        assert failed["message"] == (
            "error syncing HorizontalPodAutoscaler default/aaa-poisoned: "
            'ApiError: HorizontalPodAutoscaler.autoscaling "aaa-poisoned" is invalid: '
            "spec.maxReplicas: Invalid value: 'many': must be greater than 0"
        )
        assert failed["count"] >= 2  # every pass fails again and is counted on the same Event
        assert cluster.store.require(r.DEPLOYMENTS, "default", "aaa-poisoned")["spec"]["replicas"] == 1


async def test_a_poisoned_deployment_is_reported_and_the_others_still_roll_out() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.DEPLOYMENTS, deployment("default", "aaa-poisoned", replicas=1, container=CONTAINER))
        _poison(cluster.store.get(r.DEPLOYMENTS, "default", "aaa-poisoned"), {"replicas": "two"})
        cluster.store.create(r.DEPLOYMENTS, deployment("default", "web", replicas=3, container=CONTAINER))
        await cluster.advance(30)
        web = cluster.store.require(r.DEPLOYMENTS, "default", "web")
        assert (web["spec"]["replicas"], web["status"].get("readyReplicas")) == (3, 3)
        failures = events_for(cluster, "aaa-poisoned", "FailedSync")
        assert [(e["type"], e["source"]["component"]) for e in failures] == [("Warning", "deployment-controller")]
        assert failures[0]["message"].startswith("error syncing Deployment default/aaa-poisoned: ValueError: ")
