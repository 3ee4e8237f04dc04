"""Deployment and ReplicaSet controllers (kube-controller-manager's), incremental and in simulated time.

Deployment → ReplicaSet named `<deployment>-<pod-template-hash>` → Pods named `<replicaset>-<5 chars>`.
A changed pod template gets a new ReplicaSet and a rolling update that honours maxSurge (never more than
replicas + maxSurge pods) and maxUnavailable (never fewer than replicas − maxUnavailable available);
`Recreate` scales the old ReplicaSets to zero first. Status (replicas, updated, ready, available,
unavailable, observedGeneration, Available/Progressing conditions) and the ScalingReplicaSet /
SuccessfulCreate / SuccessfulDelete events follow the real controllers.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import zlib
from collections import defaultdict

from k8s_sim import resources as r
from k8s_sim.controllers import revisions
from k8s_sim.controllers.base import (
    Key,
    Recorder,
    controller_of,
    is_pod_active,
    is_pod_ready,
    isolated,
    key_of,
    owner_reference,
    random_suffix,
    safe_encode,
    set_condition,
)
from k8s_sim.store import ApiError, Obj, ObjectStore, ResourceType, WatchEvent

HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def template_hash(template: Obj) -> str:
    """A stable hash of a pod template, rendered like the real pod-template-hash."""
    body = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    return safe_encode(zlib.crc32(body) * 2654435761 % (2**40))


def resolve_int_or_percent(value: int | str | None, total: int, *, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


class OwnedIndex:
    """uid of a controller → keys of the objects it controls, for one dependent type."""

    def __init__(self) -> None:
        self.children: dict[str, set[Key]] = defaultdict(set)
        self.owner_of: dict[Key, str] = {}

    def observe(self, event: WatchEvent) -> str | None:
        """Update the index; return the owner uid affected (if any)."""
        key = key_of(event.object)
        previous = self.owner_of.pop(key, None)
        if previous is not None:
            self.children[previous].discard(key)
        if event.type == "DELETED":
            return previous
        owner = controller_of(event.object)
        if owner is None:
            return previous
        self.owner_of[key] = owner["uid"]
        self.children[owner["uid"]].add(key)
        return str(owner["uid"])


class DirtyOwners:
    """Owners of one type that need a sync: the owner itself changed, or an object it controls did."""

    def __init__(self, owner_type: ResourceType, child_type: ResourceType) -> None:
        self.owner_type = owner_type
        self.child_type = child_type
        self.children = OwnedIndex()
        self.keys_by_uid: dict[str, Key] = {}
        self.dirty: set[Key] = set()

    def observe(self, event: WatchEvent) -> None:
        if event.resource == self.owner_type:
            key, uid = key_of(event.object), event.object["metadata"]["uid"]
            if event.type == "DELETED":
                self.keys_by_uid.pop(uid, None)
                self.dirty.discard(key)
            else:
                self.keys_by_uid[uid] = key
                self.dirty.add(key)
        elif event.resource == self.child_type:
            owner = self.children.observe(event)
            if owner is not None and owner in self.keys_by_uid:
                self.dirty.add(self.keys_by_uid[owner])


class ReplicaSetController:
    owner_type: ResourceType = r.REPLICASETS  # ReplicationManager runs the same loop over ReplicationControllers

    def __init__(self, store: ObjectStore, recorder: Recorder, rng: random.Random) -> None:
        self.store = store
        self.recorder = recorder
        self.rng = rng
        self.tracking = DirtyOwners(self.owner_type, r.PODS)
        self.pods = self.tracking.children
        self.dirty = self.tracking.dirty
        store.add_listener(self.tracking.observe)

    def active_pods(self, rs: Obj) -> list[Obj]:
        pods = (self.store.get(r.PODS, *key) for key in self.pods.children.get(rs["metadata"]["uid"], ()))
        return [pod for pod in pods if pod is not None and is_pod_active(pod)]

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        for key in work:
            rs = self.store.get(self.owner_type, *key)
            if rs is not None:
                wrote |= isolated(self.recorder, "replicaset-controller", rs, functools.partial(self._sync, rs))
        return wrote

    def _sync(self, rs: Obj) -> bool:
        pods = self.active_pods(rs)
        wanted = int(rs["spec"].get("replicas", 1))
        wrote = False
        if len(pods) < wanted:
            for _ in range(wanted - len(pods)):
                self._create_pod(rs)
            wrote = True
        elif len(pods) > wanted:
            for pod in _deletion_order(pods)[: len(pods) - wanted]:
                self._delete_pod(rs, pod)
            wrote = True
        pods = self.active_pods(rs)
        wrote |= self._write_status(rs, pods)
        return wrote

    def _create_pod(self, rs: Obj) -> None:
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        meta.pop("creationTimestamp", None)
        base = rs["metadata"]["name"]
        for _ in range(10):
            name = f"{base}-{random_suffix(self.rng)}"
            if self.store.get(r.PODS, rs["metadata"]["namespace"], name) is None:
                break
        pod: Obj = {
            "metadata": {
                **meta,
                "name": name,
                "generateName": f"{base}-",
                "namespace": rs["metadata"]["namespace"],
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template.get("spec", {}),
        }
        try:
            self.store.create(r.PODS, pod)
        except ApiError as error:
            self.recorder.record(
                rs, "Warning", "FailedCreate", f"Error creating: {error.message}", "replicaset-controller"
            )
            return
        self.recorder.record(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}", "replicaset-controller")

    def _delete_pod(self, rs: Obj, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            self.store.delete(r.PODS, pod["metadata"]["namespace"], name)
        except ApiError:
            return
        self.recorder.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}", "replicaset-controller")

    def _write_status(self, rs: Obj, pods: list[Obj]) -> bool:
        ready = sum(1 for pod in pods if is_pod_ready(pod))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,  # minReadySeconds 0: ready is available
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if not ready:
            del status["readyReplicas"], status["availableReplicas"]

        def change(updated: Obj) -> None:
            updated["status"] = status

        before = rs["metadata"]["resourceVersion"]
        after = self.store.mutate(r.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
        return after is not None and after["metadata"]["resourceVersion"] != before


def _deletion_order(pods: list[Obj]) -> list[Obj]:
    """Unscheduled, then pending, then not-ready, then the newest first (the real controller's ranking)."""

    def rank(pod: Obj) -> tuple[int, int, int, str]:
        status = pod.get("status", {})
        return (
            0 if not pod["spec"].get("nodeName") else 1,
            0 if status.get("phase") == "Pending" else 1,
            0 if not is_pod_ready(pod) else 1,
            _invert(pod["metadata"].get("creationTimestamp", "")),
        )

    return sorted(pods, key=rank)


def _invert(text: str) -> str:
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)


class DeploymentController:
    def __init__(self, store: ObjectStore, recorder: Recorder, replicasets: ReplicaSetController) -> None:
        self.store = store
        self.recorder = recorder
        self.replicasets = replicasets
        self.tracking = DirtyOwners(r.DEPLOYMENTS, r.REPLICASETS)
        self.owned = self.tracking.children
        self.dirty = self.tracking.dirty
        store.add_listener(self.tracking.observe)

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        for key in work:
            deployment = self.store.get(r.DEPLOYMENTS, *key)
            if deployment is not None:
                sync = functools.partial(self._sync, deployment)
                wrote |= isolated(self.recorder, "deployment-controller", deployment, sync)
        return wrote

    def _owned_sets(self, deployment: Obj) -> list[Obj]:
        keys = self.owned.children.get(deployment["metadata"]["uid"], ())
        found = (self.store.get(r.REPLICASETS, *key) for key in keys)
        return sorted((rs for rs in found if rs is not None), key=lambda rs: rs["metadata"]["creationTimestamp"])

    def _sync(self, deployment: Obj) -> bool:
        sets = self._owned_sets(deployment)
        wanted_hash = template_hash(deployment["spec"]["template"])
        new = next((rs for rs in sets if rs["metadata"].get("labels", {}).get(HASH_LABEL) == wanted_hash), None)
        old = [rs for rs in sets if rs is not new]
        wrote = False
        if deployment["spec"].get("paused"):
            return self._write_status(deployment, new, old)
        if new is None:
            new = self._create_set(deployment, wanted_hash, old)
            wrote = True
        new, revised = revisions.sync_revision(self.store, deployment, new, old)
        wrote |= revised
        if deployment["spec"].get("strategy", {}).get("type") == "Recreate":
            wrote |= self._recreate(deployment, new, old)
        else:
            wrote |= self._rolling(deployment, new, old)
        wrote |= self._cleanup(deployment, old)
        wrote |= self._write_status(deployment, new, [rs for rs in old if self._exists(rs)])
        return wrote

    def _exists(self, rs: Obj) -> bool:
        return self.store.get(r.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]) is not None

    def _create_set(self, deployment: Obj, wanted_hash: str, old: list[Obj]) -> Obj:
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = wanted_hash
        selector = copy.deepcopy(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = wanted_hash
        revision = 1 + max(
            (int(rs["metadata"].get("annotations", {}).get(REVISION_ANNOTATION, 0)) for rs in old), default=0
        )
        replicas = int(deployment["spec"].get("replicas", 1))
        surge = resolve_int_or_percent(_rolling(deployment).get("maxSurge"), replicas, round_up=True)
        rs: Obj = {
            "metadata": {
                "name": f"{meta['name']}-{wanted_hash}",
                "namespace": meta["namespace"],
                "labels": {**(template["metadata"].get("labels") or {})},
                "annotations": {
                    REVISION_ANNOTATION: str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(replicas),
                    "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                },
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        created = self.store.create(r.REPLICASETS, rs)
        self.owned.children[meta["uid"]].add(key_of(created))
        self.owned.owner_of[key_of(created)] = meta["uid"]
        return created

    def _scale(self, deployment: Obj, rs: Obj, replicas: int) -> bool:
        current = int(rs["spec"].get("replicas", 0))
        if current == replicas:
            return False

        def change(updated: Obj) -> None:
            updated["spec"]["replicas"] = replicas
            annotations = updated["metadata"].setdefault("annotations", {})
            annotations["deployment.kubernetes.io/desired-replicas"] = str(deployment["spec"].get("replicas", 1))

        self.store.mutate(r.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], change)
        direction = "up" if replicas > current else "down"
        message = f"Scaled {direction} replica set {rs['metadata']['name']} from {current} to {replicas}"
        self.recorder.record(deployment, "Normal", "ScalingReplicaSet", message, "deployment-controller")
        return True

    def _recreate(self, deployment: Obj, new: Obj, old: list[Obj]) -> bool:
        wrote = False
        for rs in old:
            wrote |= self._scale(deployment, rs, 0)
        if any(int(rs.get("status", {}).get("replicas", 0)) for rs in old if self._exists(rs)):
            return wrote
        return self._scale(deployment, new, int(deployment["spec"].get("replicas", 1))) or wrote

    def _rolling(self, deployment: Obj, new: Obj, old: list[Obj]) -> bool:
        replicas = int(deployment["spec"].get("replicas", 1))
        surge = resolve_int_or_percent(_rolling(deployment).get("maxSurge"), replicas, round_up=True)
        unavailable = resolve_int_or_percent(_rolling(deployment).get("maxUnavailable"), replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        active_old = [rs for rs in old if int(rs["spec"].get("replicas", 0)) > 0]
        if not active_old:  # not rolling: plain scaling of the current set
            return self._scale(deployment, new, replicas)
        wrote = self._scale_new_up(deployment, new, old, replicas, surge)
        new = self.store.get(r.REPLICASETS, new["metadata"]["namespace"], new["metadata"]["name"]) or new
        return self._scale_old_down(deployment, new, active_old, replicas, unavailable) or wrote

    def _scale_new_up(self, deployment: Obj, new: Obj, old: list[Obj], replicas: int, surge: int) -> bool:
        current = int(new["spec"].get("replicas", 0))
        if current >= replicas:
            return self._scale(deployment, new, replicas) if current > replicas else False
        total = current + sum(int(rs["spec"].get("replicas", 0)) for rs in old)
        room = replicas + surge - total
        if room <= 0:
            return False
        return self._scale(deployment, new, current + min(room, replicas - current))

    def _scale_old_down(self, deployment: Obj, new: Obj, old: list[Obj], replicas: int, unavailable: int) -> bool:
        min_available = replicas - unavailable
        all_sets = [new, *old]
        available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in all_sets)
        budget = available - min_available
        wrote = False
        # first the old sets' unavailable pods (they don't count against availability), oldest first
        for rs in old:
            spec = int(rs["spec"].get("replicas", 0))
            unhealthy = spec - int(rs.get("status", {}).get("availableReplicas", 0))
            if unhealthy > 0:
                wrote |= self._scale(deployment, rs, spec - unhealthy)
        for rs in old:
            if budget <= 0:
                break
            fresh = self.store.get(r.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs
            spec = int(fresh["spec"].get("replicas", 0))
            step = min(spec, budget)
            if step > 0:
                wrote |= self._scale(deployment, fresh, spec - step)
                budget -= step
        return wrote

    def _cleanup(self, deployment: Obj, old: list[Obj]) -> bool:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in old
            if not int(rs["spec"].get("replicas", 0)) and not int(rs.get("status", {}).get("replicas", 0))
        ]
        wrote = False
        for rs in idle[: max(len(idle) - limit, 0)]:
            try:
                self.store.delete(r.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])
                wrote = True
            except ApiError:
                continue
        return wrote

    def _write_status(self, deployment: Obj, new: Obj | None, old: list[Obj]) -> bool:
        fresh_new = self.store.get(r.REPLICASETS, *key_of(new)) if new is not None else None
        sets = [rs for rs in (fresh_new, *[self.store.get(r.REPLICASETS, *key_of(o)) for o in old]) if rs is not None]
        counts = {
            field: sum(int(rs.get("status", {}).get(field, 0)) for rs in sets)
            for field in ("replicas", "readyReplicas", "availableReplicas")
        }
        wanted = int(deployment["spec"].get("replicas", 1))
        updated = int((fresh_new or {}).get("status", {}).get("replicas", 0))
        unavailable_allowed = resolve_int_or_percent(_rolling(deployment).get("maxUnavailable"), wanted, round_up=False)
        now_text = self.store.clock.rfc3339()
        complete = updated == wanted and counts["replicas"] == wanted and counts["availableReplicas"] >= wanted
        name = (fresh_new or {}).get("metadata", {}).get("name", "")

        def change(obj: Obj) -> None:
            status = obj.setdefault("status", {})
            status["observedGeneration"] = obj["metadata"].get("generation", 1)
            status["replicas"] = counts["replicas"]
            status["updatedReplicas"] = updated
            status["readyReplicas"] = counts["readyReplicas"]
            status["availableReplicas"] = counts["availableReplicas"]
            status["unavailableReplicas"] = max(wanted - counts["availableReplicas"], 0)
            for zero in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
                if not status[zero]:
                    del status[zero]
            conditions = status.setdefault("conditions", [])
            _deployment_conditions(
                conditions, counts["availableReplicas"] >= wanted - unavailable_allowed, complete, name, now_text
            )

        before = deployment["metadata"]["resourceVersion"]
        after = self.store.mutate(r.DEPLOYMENTS, *key_of(deployment), change)
        return after is not None and after["metadata"]["resourceVersion"] != before


def _rolling(deployment: Obj) -> Obj:
    strategy = deployment["spec"].get("strategy") or {}
    return dict(strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"})


def _deployment_conditions(conditions: list[Obj], available: bool, complete: bool, rs_name: str, now: str) -> None:
    if available:
        avail = {
            "type": "Available",
            "status": "True",
            "reason": "MinimumReplicasAvailable",
            "message": "Deployment has minimum availability.",
        }
    else:
        avail = {
            "type": "Available",
            "status": "False",
            "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability.",
        }
    if complete:
        progress = {
            "type": "Progressing",
            "status": "True",
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
        }
    else:
        progress = {
            "type": "Progressing",
            "status": "True",
            "reason": "ReplicaSetUpdated",
            "message": f'ReplicaSet "{rs_name}" is progressing.',
        }
    for new in (avail, progress):
        existing = next((c for c in conditions if c["type"] == new["type"]), None)
        if existing is None or existing.get("reason") != new["reason"] or existing.get("status") != new["status"]:
            set_condition(conditions, {**new, "lastUpdateTime": now}, now)
    conditions.sort(key=lambda c: 0 if c["type"] == "Available" else 1)
