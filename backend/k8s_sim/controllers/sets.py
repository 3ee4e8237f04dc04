"""StatefulSet and DaemonSet controllers: simple, but with the real naming, ordering and status.

StatefulSet pods are `<set>-0 … <set>-(N-1)`, created one at a time in order (OrderedReady: the next only
when the previous is Running and Ready; Parallel: all at once) and removed from the highest ordinal; a
template change replaces pods from the highest ordinal down, one at a time, once all are ready.
DaemonSet pods go one per node whose taints the template tolerates, bound to their node directly.
"""

from __future__ import annotations

import copy
import functools
import random

from k8s_sim import resources as r
from k8s_sim.controllers.base import (
    Recorder,
    is_pod_active,
    is_pod_ready,
    isolated,
    key_of,
    owner_reference,
    random_suffix,
)
from k8s_sim.controllers.placement import node_fits
from k8s_sim.controllers.scheduler import Scheduler, _tolerates
from k8s_sim.controllers.workloads import DirtyOwners, template_hash
from k8s_sim.store import ApiError, Obj, ObjectStore, WatchEvent

REVISION_LABEL = "controller-revision-hash"


class _SetController:
    """Shared bookkeeping: a dirty set of owners, an index of their pods."""

    resource = r.STATEFULSETS

    def __init__(self, store: ObjectStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self.tracking = DirtyOwners(self.resource, r.PODS)
        self.pods = self.tracking.children
        self.dirty = self.tracking.dirty
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        self.tracking.observe(event)
        if event.resource == r.NODES:
            self._on_node_change()

    def _on_node_change(self) -> None:
        return None

    def owned_pods(self, owner: Obj) -> list[Obj]:
        found = (self.store.get(r.PODS, *key) for key in self.pods.children.get(owner["metadata"]["uid"], ()))
        return [pod for pod in found if pod is not None and is_pod_active(pod)]

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        component = f"{self.resource.kind.lower()}-controller"
        for key in work:
            owner = self.store.get(self.resource, *key)
            if owner is not None:
                wrote |= isolated(self.recorder, component, owner, functools.partial(self.sync, owner))
        return wrote

    def sync(self, owner: Obj) -> bool:
        raise NotImplementedError

    def _pod_from_template(self, owner: Obj, name: str, labels: dict[str, str]) -> Obj:
        template = copy.deepcopy(owner["spec"]["template"])
        meta = template.get("metadata") or {}
        meta.pop("creationTimestamp", None)
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
        return {
            "metadata": {
                **meta,
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "ownerReferences": [owner_reference(owner)],
            },
            "spec": template.get("spec", {}),
        }

    def _write_status(self, owner: Obj, status: Obj) -> bool:
        def change(obj: Obj) -> None:
            obj["status"] = status

        before = owner["metadata"]["resourceVersion"]
        after = self.store.mutate(self.resource, *key_of(owner), change)
        return after is not None and after["metadata"]["resourceVersion"] != before


class StatefulSetController(_SetController):
    resource = r.STATEFULSETS

    def sync(self, owner: Obj) -> bool:
        name = owner["metadata"]["name"]
        revision = f"{name}-{template_hash(owner['spec']['template'])}"
        pods = {pod["metadata"]["name"]: pod for pod in self.owned_pods(owner)}
        wanted = int(owner["spec"].get("replicas", 1))
        ordered = owner["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        wrote = self._create_missing(owner, pods, wanted, revision, ordered)
        wrote |= self._delete_extra(owner, pods, wanted)
        if not wrote:
            wrote |= self._roll(owner, pods, wanted, revision)
        return self._status(owner, revision, wanted) or wrote

    def _create_missing(self, owner: Obj, pods: dict[str, Obj], wanted: int, revision: str, ordered: bool) -> bool:
        name = owner["metadata"]["name"]
        for ordinal in range(wanted):
            pod_name = f"{name}-{ordinal}"
            existing = pods.get(pod_name)
            if existing is not None:
                if ordered and not (existing["status"].get("phase") == "Running" and is_pod_ready(existing)):
                    return False  # OrderedReady: wait for this one before creating the next
                continue
            labels = {
                REVISION_LABEL: revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(ordinal),
            }
            pod = self._pod_from_template(owner, pod_name, labels)
            pod["spec"]["hostname"] = pod_name
            if owner["spec"].get("serviceName"):
                pod["spec"]["subdomain"] = owner["spec"]["serviceName"]
            try:
                self.store.create(r.PODS, pod)
            except ApiError:
                return False
            message = f"create Pod {pod_name} in StatefulSet {name} successful"
            self.recorder.record(owner, "Normal", "SuccessfulCreate", message, "statefulset-controller")
            if ordered:
                return True
        return False

    def _delete_extra(self, owner: Obj, pods: dict[str, Obj], wanted: int) -> bool:
        name = owner["metadata"]["name"]
        extra = sorted((p for p in pods.values() if _ordinal(p, name) >= wanted), key=lambda p: -_ordinal(p, name))
        if not extra:
            return False
        victim = extra[0]["metadata"]["name"]
        self.store.delete(r.PODS, owner["metadata"]["namespace"], victim)
        message = f"delete Pod {victim} in StatefulSet {name} successful"
        self.recorder.record(owner, "Normal", "SuccessfulDelete", message, "statefulset-controller")
        return True

    def _roll(self, owner: Obj, pods: dict[str, Obj], wanted: int, revision: str) -> bool:
        if len(pods) < wanted or not all(is_pod_ready(p) for p in pods.values()):
            return False
        name = owner["metadata"]["name"]
        stale = [p for p in pods.values() if p["metadata"].get("labels", {}).get(REVISION_LABEL) != revision]
        if not stale:
            return False
        victim = max(stale, key=lambda p: _ordinal(p, name))["metadata"]["name"]
        self.store.delete(r.PODS, owner["metadata"]["namespace"], victim)
        return True

    def _status(self, owner: Obj, revision: str, wanted: int) -> bool:
        pods = self.owned_pods(owner)
        ready = sum(1 for pod in pods if is_pod_ready(pod))
        updated = sum(1 for pod in pods if pod["metadata"].get("labels", {}).get(REVISION_LABEL) == revision)
        current_revision = (owner.get("status") or {}).get("currentRevision") or revision
        if updated == len(pods) == wanted:
            current_revision = revision
        status: Obj = {
            "observedGeneration": owner["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": updated if current_revision == revision else len(pods) - updated,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        return self._write_status(owner, status)


def _ordinal(pod: Obj, set_name: str) -> int:
    suffix = pod["metadata"]["name"][len(set_name) + 1 :]
    return int(suffix) if suffix.isdigit() else -1


class DaemonSetController(_SetController):
    resource = r.DAEMONSETS

    def __init__(self, store: ObjectStore, recorder: Recorder, scheduler: Scheduler, rng: random.Random) -> None:
        super().__init__(store, recorder)
        self.scheduler = scheduler
        self.rng = rng

    def _on_node_change(self) -> None:
        self.dirty.update(self.tracking.keys_by_uid.values())

    def sync(self, owner: Obj) -> bool:
        pods = self.owned_pods(owner)
        by_node = {pod["spec"].get("nodeName"): pod for pod in pods}
        template_spec = owner["spec"]["template"].get("spec", {})
        eligible = [
            name
            for name, info in sorted(self.scheduler.nodes.items())
            if all(
                t.get("effect") not in ("NoSchedule", "NoExecute") or _tolerates(template_spec, t) for t in info.taints
            )
            and node_fits(template_spec, info.labels, info.name)
        ]
        wrote = False
        revision = template_hash(owner["spec"]["template"])
        for node in eligible:
            if node not in by_node:
                self._create_on(owner, node, revision)
                wrote = True
        for node, pod in by_node.items():
            if node not in eligible:
                self.store.delete(r.PODS, *key_of(pod))
                wrote = True
        return self._status(owner, eligible, revision) or wrote

    def _create_on(self, owner: Obj, node: str, revision: str) -> None:
        name = f"{owner['metadata']['name']}-{random_suffix(self.rng)}"
        pod = self._pod_from_template(owner, name, {REVISION_LABEL: revision, "pod-template-generation": "1"})
        pod["metadata"]["generateName"] = f"{owner['metadata']['name']}-"
        spec = pod["spec"]
        spec["nodeName"] = node
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        }
        tolerations = spec.setdefault("tolerations", [])
        for key in ("not-ready", "unreachable", "disk-pressure", "memory-pressure", "pid-pressure", "unschedulable"):
            effect = "NoExecute" if key in ("not-ready", "unreachable") else "NoSchedule"
            tolerations.append({"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": effect})
        try:
            self.store.create(r.PODS, pod)
        except ApiError:
            return
        self.recorder.record(owner, "Normal", "SuccessfulCreate", f"Created pod: {name}", "daemonset-controller")

    def _status(self, owner: Obj, eligible: list[str], revision: str) -> bool:
        pods = self.owned_pods(owner)
        ready = sum(1 for pod in pods if is_pod_ready(pod))
        updated = sum(1 for pod in pods if pod["metadata"].get("labels", {}).get(REVISION_LABEL) == revision)
        status: Obj = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": len(eligible),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": updated,
            "observedGeneration": owner["metadata"].get("generation", 1),
        }
        if len(eligible) - ready > 0:
            status["numberUnavailable"] = len(eligible) - ready
        return self._write_status(owner, status)
