"""The optimizer's connectivity diagnosis names the cause of pods the embedded cluster's kubelet and scheduler
hold back: a missing Secret (CreateContainerConfigError) and an unbound PersistentVolumeClaim (Pending).

The objects come from a running EmbeddedCluster and go through the backend's own translation, so the
test covers the whole path: kubelet/scheduler status → k8s/translate.py → recommend/diagnose.py.
"""

from __future__ import annotations

from k8s_optimizer.domain.snapshot import ClusterSnapshot, NetworkSettings
from k8s_optimizer.domain.topology import Topology
from k8s_optimizer.k8s.translate import translate_deployment, translate_endpoints, translate_pod, translate_service
from k8s_optimizer.recommend.diagnose import diagnose_service
from k8s_sim import resources as r
from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.store import Obj
from tests.recommend.factories import NOW
from tests.sim.embedded import deployment, running_cluster


def _app(name: str, *, env: list[Obj] | None = None, volumes: list[Obj] | None = None) -> tuple[Obj, Obj]:
    container: Obj = {"name": "app", "image": "nginx:1.27.2", "ports": [{"containerPort": 80}]}
    if env:
        container["env"] = env
    body = deployment("shop", name, replicas=1, container=container)
    if volumes:
        body["spec"]["template"]["spec"]["volumes"] = volumes
    service = {
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    }
    return body, service


def _snapshot(cluster: EmbeddedCluster) -> ClusterSnapshot:
    store = cluster.store
    pods = [translate_pod(p) for p in store.list_objects(r.PODS, "shop")]
    services = [translate_service(s) for s in store.list_objects(r.SERVICES, "shop")]
    endpoints = [translate_endpoints(e) for e in store.list_objects(r.ENDPOINTS, "shop")]
    workloads = [translate_deployment(d) for d in store.list_objects(r.DEPLOYMENTS, "shop")]
    return ClusterSnapshot(
        taken_at=NOW,
        namespaces={},
        nodes={},
        pods={(p.namespace, p.name): p for p in pods},
        services={(s.namespace, s.name): s for s in services},
        endpoints={(e.namespace, e.name): e for e in endpoints},
        workloads={w.ref(): w for w in workloads},
        hpas={},
        pdbs={},
        events={},
        network=NetworkSettings(host_port_mappings={}),
    )


async def test_diagnosis_names_the_missing_secret_and_the_unbound_claim() -> None:
    async with running_cluster("demo") as cluster:
        cluster.store.create(r.NAMESPACES, {"metadata": {"name": "shop"}})
        env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}}}]
        api, api_service = _app("api", env=env)
        claim = {
            "metadata": {"name": "db-data", "namespace": "shop"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "fast",
                "resources": {"requests": {"storage": "5Gi"}},
            },
        }
        db, db_service = _app("db", volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}])
        cluster.store.create(r.PVCS, claim)
        for rt, obj in ((r.DEPLOYMENTS, api), (r.SERVICES, api_service), (r.DEPLOYMENTS, db), (r.SERVICES, db_service)):
            cluster.store.create(rt, obj)
        await cluster.advance(5)
        snapshot = _snapshot(cluster)
        topology = Topology.build(snapshot)
        findings = {
            name: [(f.id, f.message) for f in diagnose_service(snapshot.services[("shop", name)], topology)]
            for name in ("api", "db")
        }
        api_pod = next(p.name for p in snapshot.pods.values() if p.labels.get("app") == "api")
        db_pod = next(p.name for p in snapshot.pods.values() if p.labels.get("app") == "db")
        assert findings["api"] == [
            (
                "podsNotReady",
                f"1/1 pods not Ready ({api_pod}: container waiting: CreateContainerConfigError: "
                'secret "db-credentials" not found); no ready endpoints: connections are refused',
            )
        ]
        assert findings["db"] == [
            (
                "podsUnschedulable",
                f"1/1 pods not Ready ({db_pod}: Pending, unschedulable: 0/3 nodes are available: pod has unbound "
                "immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful "
                "for scheduling.); no ready endpoints: connections are refused",
            )
        ]
