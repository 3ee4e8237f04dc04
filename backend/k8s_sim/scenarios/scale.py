"""The `scale` scenario: N pods behind M Services across many namespaces and ~N/100 worker nodes.

It must come up in seconds for 10,000 pods, so objects are created directly in their final state
(Deployments and ReplicaSets with status, Pods bound, Running and Ready with IPs), exactly as the
controllers would have left them: the controllers then adopt them without rewriting anything, and the
endpoints controller fills in the Endpoints/EndpointSlices in one pass. No per-pod sleeps, no events.

Layout: M Deployments (`svc-NNNN`, one Service each, namespaces `scale-NN` with 40 Services each), pods
spread round-robin over the workers `k8s-optimizer-worker`, `k8s-optimizer-worker2`, ...
"""

from __future__ import annotations

import math
import random

from k8s_sim import resources as r
from k8s_sim.controllers.base import owner_reference, random_suffix
from k8s_sim.controllers.workloads import HASH_LABEL, REVISION_ANNOTATION, template_hash
from k8s_sim.load import PREFIX
from k8s_sim.scenarios.common import CLUSTER_NAME, NodeSpec, create_namespaces
from k8s_sim.store import Obj, ObjectStore

SERVICES_PER_NAMESPACE = 40
PODS_PER_NODE = 100


def scale_nodes(pods: int) -> list[NodeSpec]:
    workers = max(2, math.ceil(pods / PODS_PER_NODE))
    nodes = [NodeSpec(f"{CLUSTER_NAME}-control-plane", "172.20.0.2", "10.244.0.0/24", control_plane=True)]
    for index in range(1, workers + 1):
        suffix = "" if index == 1 else str(index)
        third, fourth = divmod(index + 2, 256)
        nodes.append(
            NodeSpec(
                f"{CLUSTER_NAME}-worker{suffix}",
                f"172.20.{third}.{fourth}",
                f"10.{244 + index // 256}.{index % 256}.0/24",
                cpu="32",
                memory="131072Mi",
                pods="250",
            )
        )
    return nodes


def _template(name: str, index: int) -> Obj:
    return {
        "metadata": {
            "labels": {"app": name},
            "annotations": {PREFIX + "rps": str(1 + index % 7), PREFIX + "cpu-per-request-millicores": "2"},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example/app:1.0",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {
                        "requests": {"cpu": "20m", "memory": "32Mi"},
                        "limits": {"cpu": "200m", "memory": "128Mi"},
                    },
                }
            ]
        },
    }


class _Builder:
    def __init__(self, store: ObjectStore, nodes: list[NodeSpec], rng: random.Random) -> None:
        self.store = store
        self.workers = [n for n in nodes if not n.control_plane]
        self.rng = rng
        self.next_pod = 0
        self.now = store.clock.rfc3339()

    def workload(self, namespace: str, name: str, index: int, replicas: int) -> None:
        template = _template(name, index)
        deployment = self.store.create(
            r.DEPLOYMENTS,
            {
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {"app": name},
                    "annotations": {REVISION_ANNOTATION: "1"},  # in its final state, as its ReplicaSet
                },
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template},
            },
        )
        pod_hash = template_hash(deployment["spec"]["template"])
        rs_template = {**deployment["spec"]["template"]}
        rs_template["metadata"] = {**rs_template["metadata"], "labels": {"app": name, HASH_LABEL: pod_hash}}
        rs = self.store.create(
            r.REPLICASETS,
            {
                "metadata": {
                    "name": f"{name}-{pod_hash}",
                    "namespace": namespace,
                    "labels": {"app": name, HASH_LABEL: pod_hash},
                    "annotations": {
                        REVISION_ANNOTATION: "1",
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                    },
                    "ownerReferences": [owner_reference(deployment)],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": name, HASH_LABEL: pod_hash}},
                    "template": rs_template,
                },
            },
        )
        for _ in range(replicas):
            self.pod(rs, rs_template)
        self.store.create(
            r.SERVICES,
            {
                "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            },
        )

    def pod(self, rs: Obj, template: Obj) -> None:
        node = self.workers[self.next_pod % len(self.workers)]
        slot = self.next_pod // len(self.workers) + 2
        self.next_pod += 1
        ip = f"{node.pod_cidr.rsplit('.', 1)[0]}.{slot}"  # PODS_PER_NODE keeps slot inside the node's /24
        name = f"{rs['metadata']['name']}-{random_suffix(self.rng)}"
        ready = [
            {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": self.now}
            for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        container = template["spec"]["containers"][0]
        self.store.create(
            r.PODS,
            {
                "metadata": {
                    **template["metadata"],
                    "name": name,
                    "namespace": rs["metadata"]["namespace"],
                    "ownerReferences": [owner_reference(rs)],
                },
                "spec": {**template["spec"], "nodeName": node.name},
                "status": {
                    "phase": "Running",
                    "conditions": ready,
                    "hostIP": node.ip,
                    "hostIPs": [{"ip": node.ip}],
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                    "startTime": self.now,
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "state": {"running": {"startedAt": self.now}},
                            "lastState": {},
                            "ready": True,
                            "restartCount": 0,
                            "image": container["image"],
                            "imageID": f"{container['image'].split(':')[0]}@sha256:{'0' * 64}",
                            "containerID": f"containerd://{self.rng.getrandbits(256):064x}",
                            "started": True,
                        }
                    ],
                },
            },
        )


def create(store: ObjectStore, nodes: list[NodeSpec], *, pods: int, services: int, rng: random.Random) -> None:
    services = max(1, min(services, pods))
    namespaces = [f"scale-{i:02d}" for i in range(math.ceil(services / SERVICES_PER_NAMESPACE))]
    create_namespaces(store, namespaces)
    builder = _Builder(store, nodes, rng)
    base, extra = divmod(pods, services)
    for index in range(services):
        namespace = namespaces[index // SERVICES_PER_NAMESPACE]
        builder.workload(namespace, f"svc-{index:04d}", index, base + (1 if index < extra else 0))
