"""The ReplicationController manager: the ReplicaSet controller's logic over the core/v1 kind.

ReplicationControllers are the legacy form of ReplicaSets (a plain label map as selector); the real
kube-controller-manager runs the same code for both, so this reuses the ReplicaSet controller with the
ReplicationController type; only the status it writes differs (`fullyLabeledReplicas`).
"""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.base import is_pod_ready
from k8s_sim.controllers.workloads import ReplicaSetController
from k8s_sim.store import Obj


class ReplicationManager(ReplicaSetController):
    owner_type = r.RCS

    def _write_status(self, rs: Obj, pods: list[Obj]) -> bool:
        ready = sum(1 for pod in pods if is_pod_ready(pod))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if not ready:
            del status["readyReplicas"], status["availableReplicas"]

        def change(updated: Obj) -> None:
            updated["status"] = status

        before = rs["metadata"]["resourceVersion"]
        after = self.store.mutate(r.RCS, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
        return after is not None and after["metadata"]["resourceVersion"] != before
