"""The ReplicationController manager: the ReplicaSet controller's logic over the core/v1 kind.

ReplicationControllers are the legacy form of ReplicaSets (a plain label map as selector); the real
kube-controller-manager runs the same code for both, so this reuses the ReplicaSet controller with the
ReplicationController type and the `replication-controller` event source.
"""

from __future__ import annotations

import random

from k8s_sim import resources as r
from k8s_sim.controllers.base import Recorder, is_pod_ready
from k8s_sim.controllers.workloads import DirtyOwners, ReplicaSetController
from k8s_sim.store import Obj, ObjectStore


class ReplicationManager(ReplicaSetController):
    def __init__(self, store: ObjectStore, recorder: Recorder, rng: random.Random) -> None:
        self.store = store
        self.recorder = recorder
        self.rng = rng
        self.tracking = DirtyOwners(r.RCS, r.PODS)
        self.pods = self.tracking.children
        self.dirty = self.tracking.dirty
        store.add_listener(self.tracking.observe)

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        for key in work:
            rc = self.store.get(r.RCS, *key)
            if rc is not None:
                wrote |= self._sync(rc)
        return wrote

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
