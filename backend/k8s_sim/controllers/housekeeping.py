"""The small loops: garbage collection, node heartbeats and Leases, PodDisruptionBudget status.

- Garbage collector: when an owner disappears (however it was deleted: the API, a controller, a
  namespace deletion), its dependents by ownerReferences are deleted in the background — Deployment →
  ReplicaSets → Pods, Service → EndpointSlices — as the real garbage collector does.
- Node lifecycle: each kubelet renews its Lease in kube-node-lease every 10 s and refreshes the node's
  condition heartbeats every 5 minutes (nodeStatusReportFrequency), so `kubectl get leases` and node
  conditions look alive.
- Disruption controller: PDB status (expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed).
"""

from __future__ import annotations

import math
from collections import defaultdict

from k8s_sim import resources as r
from k8s_sim.admission import selector_matches
from k8s_sim.controllers.base import Key, is_pod_ready, key_of, set_condition
from k8s_sim.store import ApiError, Obj, ObjectStore, ResourceType, WatchEvent

LEASE_RENEW_SECONDS = 10.0
NODE_STATUS_SECONDS = 300.0
PDB_SYNC_SECONDS = 15.0
_DEPENDENT_TYPES = (r.REPLICASETS, r.PODS, r.ENDPOINTSLICES, r.LEASES)  # what our controllers give owners


class GarbageCollector:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._dependents: dict[str, set[tuple[ResourceType, Key]]] = defaultdict(set)
        self._gone: list[str] = []
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        obj = event.object
        if event.resource in _DEPENDENT_TYPES:
            entry = (event.resource, key_of(obj))
            for ref in obj["metadata"].get("ownerReferences") or ():
                if event.type == "DELETED":
                    self._dependents[ref["uid"]].discard(entry)
                else:
                    self._dependents[ref["uid"]].add(entry)
        if event.type == "DELETED" and obj["metadata"].get("uid") in self._dependents:
            self._gone.append(obj["metadata"]["uid"])

    def run(self, now_seconds: float) -> bool:
        wrote = False
        while self._gone:
            uid = self._gone.pop()
            for rt, key in sorted(self._dependents.pop(uid, set()), key=lambda item: (item[0].key, item[1])):
                current = self.store.get(rt, *key)
                if current is None or not any(
                    ref.get("uid") == uid for ref in current["metadata"].get("ownerReferences") or ()
                ):
                    continue
                try:
                    self.store.delete(rt, *key)
                    wrote = True
                except ApiError:
                    continue
        return wrote


class NodeLifecycle:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._next_lease = 0.0
        self._next_status = 0.0

    def run(self, now_seconds: float) -> bool:
        wrote = False
        if now_seconds >= self._next_lease:
            self._next_lease = now_seconds + LEASE_RENEW_SECONDS
            wrote |= self._renew_leases()
        if now_seconds >= self._next_status:
            self._next_status = now_seconds + NODE_STATUS_SECONDS
            wrote |= self._heartbeat()
        return wrote

    def next_due(self) -> float:
        return min(self._next_lease, self._next_status)

    def _renew_leases(self) -> bool:
        now_text = self.store.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for node in self.store.list_objects(r.NODES):
            name = node["metadata"]["name"]
            lease = self.store.get(r.LEASES, "kube-node-lease", name)
            if lease is None:
                self._create_lease(node, now_text)
                continue

            def change(obj: Obj) -> None:
                obj["spec"]["renewTime"] = now_text

            self.store.mutate(r.LEASES, "kube-node-lease", name, change)
        return True

    def _create_lease(self, node: Obj, now_text: str) -> None:
        name = node["metadata"]["name"]
        lease = {
            "metadata": {
                "name": name,
                "namespace": "kube-node-lease",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}],
            },
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_text},
        }
        try:
            self.store.create(r.LEASES, lease)
        except ApiError:
            return

    def _heartbeat(self) -> bool:
        now_text = self.store.clock.rfc3339()

        def change(node: Obj) -> None:
            for item in node.get("status", {}).get("conditions") or ():
                item["lastHeartbeatTime"] = now_text

        for node in self.store.list_objects(r.NODES):
            self.store.mutate(r.NODES, "", node["metadata"]["name"], change)
        return True


class DisruptionController:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._next = 0.0

    def run(self, now_seconds: float) -> bool:
        if now_seconds < self._next:
            return False
        self._next = now_seconds + PDB_SYNC_SECONDS
        wrote = False
        for pdb in self.store.list_objects(r.PDBS):
            wrote |= self._sync(pdb)
        return wrote

    def _sync(self, pdb: Obj) -> bool:
        namespace = pdb["metadata"]["namespace"]
        selector = pdb["spec"].get("selector")
        pods = [
            pod
            for pod in self.store.list_objects(r.PODS, namespace)
            if selector_matches(selector, pod["metadata"].get("labels") or {})
            and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ]
        expected = len(pods)
        healthy = sum(1 for pod in pods if is_pod_ready(pod))
        desired = _desired_healthy(pdb["spec"], expected)
        allowed = max(healthy - desired, 0)
        now_text = self.store.clock.rfc3339()

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status.update(
                {
                    "observedGeneration": obj["metadata"].get("generation", 1),
                    "expectedPods": expected,
                    "currentHealthy": healthy,
                    "desiredHealthy": desired,
                    "disruptionsAllowed": allowed,
                }
            )
            new = (
                {"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": ""}
                if allowed
                else {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": ""}
            )
            set_condition(
                status.setdefault("conditions", []),
                {**new, "observedGeneration": status["observedGeneration"]},
                now_text,
            )

        before = pdb["metadata"]["resourceVersion"]
        after = self.store.mutate(r.PDBS, namespace, pdb["metadata"]["name"], change)
        return after is not None and after["metadata"]["resourceVersion"] != before


def _desired_healthy(spec: Obj, expected: int) -> int:
    if "minAvailable" in spec:
        return _resolve(spec["minAvailable"], expected, round_up=True)
    if "maxUnavailable" in spec:
        return max(expected - _resolve(spec["maxUnavailable"], expected, round_up=True), 0)
    return expected


def _resolve(value: int | str, total: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value)
