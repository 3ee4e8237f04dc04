"""Deployment revisions: the `deployment.kubernetes.io/revision` bookkeeping `kubectl rollout` relies on.

Why this exists: `kubectl rollout history` lists a Deployment's ReplicaSets by their revision annotation,
and `kubectl rollout undo` copies an old ReplicaSet's template back into the Deployment. As the real
deployment controller does, the ReplicaSet that becomes current again (after an undo, or a template that
returns to an earlier state) takes the next revision number, the Deployment carries its current revision,
and the `kubernetes.io/change-cause` annotation travels from the Deployment to the new ReplicaSet.
"""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.base import key_of
from k8s_sim.store import Obj, ObjectStore

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"


def revision_of(obj: Obj) -> int:
    text = (obj["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0")
    return int(text) if str(text).isdigit() else 0


def sync_revision(store: ObjectStore, deployment: Obj, new: Obj, old: list[Obj]) -> tuple[Obj, bool]:
    """Give `new` a revision above every old one, copy the change cause, stamp the Deployment; (new, wrote)."""
    wanted = max((revision_of(rs) for rs in old), default=0) + 1
    revision = revision_of(new) if revision_of(new) >= wanted else wanted
    cause = (deployment["metadata"].get("annotations") or {}).get(CHANGE_CAUSE_ANNOTATION)

    def stamp_set(rs: Obj) -> None:
        annotations = rs["metadata"].setdefault("annotations", {})
        annotations[REVISION_ANNOTATION] = str(revision)
        if cause is not None:
            annotations[CHANGE_CAUSE_ANNOTATION] = cause

    def stamp_deployment(obj: Obj) -> None:
        obj["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(revision)

    set_annotations = new["metadata"].get("annotations") or {}
    wrote = False
    # mutate() deep-copies: check first, so 2,000 settled Deployments cost nothing per sync
    if set_annotations.get(REVISION_ANNOTATION) != str(revision) or (
        cause is not None and set_annotations.get(CHANGE_CAUSE_ANNOTATION) != cause
    ):
        new = store.mutate(r.REPLICASETS, *key_of(new), stamp_set) or new
        wrote = True
    if (deployment["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION) != str(revision):
        store.mutate(r.DEPLOYMENTS, *key_of(deployment), stamp_deployment)
        wrote = True
    return new, wrote
