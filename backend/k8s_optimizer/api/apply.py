"""Dry-run, apply and rollback of recommendations: the safe path to the only cluster writes we make.

Apply reads the live object first and computes the undo patch from it, then sends the recommendation's
patch plus two annotations in one request: `k8s-optimizer.io/previous` (the undo patch as JSON, so
anyone with kubectl can see and restore the previous values) and `k8s-optimizer.io/change-id`. The
audit log keeps the same undo patch with who (token id), when and the before/after diff. Rollback
sends the undo patch and clears the annotations; it is itself audited and can be applied once.

Rollback first checks that every field it would restore still holds the value the apply wrote: if
someone changed it since (scaled 2 → 5 by hand), restoring the old value would silently undo their
change, so it answers 409 with both values unless the caller passes `force`. Every write is confined
to the apply scope (recommend/confine.py), checked on the live object's namespace and labels.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.patching import diff_paths, inverse_patch, unified_diff
from k8s_optimizer.api.ports import ObjectWriter
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.views import PATCHABLE_KINDS, ref_out
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.recommend.confine import ApplyScope
from k8s_optimizer.recommend.model import Recommendation
from k8s_optimizer.settings import Settings

ANNOTATION_PREVIOUS = "k8s-optimizer.io/previous"
ANNOTATION_CHANGE = "k8s-optimizer.io/change-id"

Json = dict[str, Any]


def _writer(state: ApiState) -> ObjectWriter:
    if state.writer is None:
        raise ApiError(503, "no cluster writer: the backend is not connected to a cluster")
    return state.writer


def apply_scope(settings: Settings) -> ApplyScope:
    """The namespaces apply may write, from OPTIMIZER_APPLY_NAMESPACES (empty: all but the system ones)."""
    return ApplyScope(frozenset(settings.apply_namespaces))


def _check_scope(state: ApiState, target: ObjectRef, live: Json) -> None:
    labels = (live.get("metadata") or {}).get("labels") or {}
    reason = apply_scope(state.settings).refusal(target, labels)
    if reason is not None:
        raise ApiError(403, reason)


def _check_unchanged(original: s.ChangeRecord, live: Json) -> None:
    """409 when a field the rollback restores no longer holds the value the apply wrote."""
    changed = diff_paths(original.after, _values(live, original.patch), original.patch)
    if not changed:
        return
    what = "; ".join(f"{line.path} is {line.after!r} now, the apply set {line.before!r}" for line in changed)
    raise ApiError(
        409,
        f"changed since change {original.id} was applied: {what}; roll back with force=true to overwrite",
        errors=[{"path": line.path, "applied": line.before, "current": line.after} for line in changed],
    )


def _patch_of(rec: Recommendation) -> Json:
    if not rec.patch or rec.target.kind not in PATCHABLE_KINDS:
        raise ApiError(422, f"recommendation {rec.id} has no patch that can be applied to a {rec.target.kind}")
    return rec.patch


def _with_annotations(patch: Json, annotations: dict[str, str | None]) -> Json:
    metadata = dict(patch.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
    return {**patch, "metadata": metadata}


async def dry_run(state: ApiState, rec: Recommendation) -> s.DryRunResult:
    """Server-side dryRun=All of the patch; the diff of the live object and what the server would store."""
    patch = _patch_of(rec)
    writer = _writer(state)
    before = await writer.read(rec.target)
    _check_scope(state, rec.target, before)
    after = await writer.patch(rec.target, patch, dry_run=True)
    return s.DryRunResult(
        recommendation_id=rec.id,
        target=ref_out(rec.target),
        diff=diff_paths(before, after, patch),
        unified_diff=unified_diff(before, after, rec.target.key()),
    )


def _new_change_id() -> str:
    return f"chg-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


async def apply(state: ApiState, rec: Recommendation, token_id: str) -> s.ChangeRecord:
    """Apply the patch, keeping the undo patch on the object and in the audit log."""
    patch = _patch_of(rec)
    writer = _writer(state)
    before = await writer.read(rec.target)
    _check_scope(state, rec.target, before)
    undo = inverse_patch(before, patch)
    change_id = _new_change_id()
    body = _with_annotations(
        patch, {ANNOTATION_PREVIOUS: json.dumps(undo, sort_keys=True), ANNOTATION_CHANGE: change_id}
    )
    after = await writer.patch(rec.target, body, dry_run=False)
    record = s.ChangeRecord(
        id=change_id,
        action="apply",
        recommendation_id=rec.id,
        target=ref_out(rec.target),
        token_id=token_id,
        at=datetime.now(UTC),
        patch=patch,
        before=_values(before, patch),
        after=_values(after, patch),
        diff=diff_paths(before, after, patch),
        rolled_back_by=None,
        rollback_of=None,
    )
    await asyncio.to_thread(state.audit.add, record, undo)
    return record


async def rollback(state: ApiState, change_id: str, token_id: str, *, force: bool = False) -> s.ChangeRecord:
    """Restore what change `change_id` replaced (once); unless `force`, only if nobody changed it since."""
    found = await asyncio.to_thread(state.audit.get, change_id)
    if found is None:
        raise ApiError(404, f"change {change_id} not found")
    original, undo = found
    if original.action != "apply":
        raise ApiError(409, f"change {change_id} is a rollback; only applies can be rolled back")
    if original.rolled_back_by is not None:
        raise ApiError(409, f"change {change_id} was already rolled back by {original.rolled_back_by}")
    target = ObjectRef(original.target.kind, original.target.namespace, original.target.name)
    writer = _writer(state)
    before = await writer.read(target)
    _check_scope(state, target, before)
    if not force:
        _check_unchanged(original, before)
    rollback_id = _new_change_id()
    body = _with_annotations(undo, {ANNOTATION_PREVIOUS: None, ANNOTATION_CHANGE: None})
    after = await writer.patch(target, body, dry_run=False)
    record = s.ChangeRecord(
        id=rollback_id,
        action="rollback",
        recommendation_id=original.recommendation_id,
        target=original.target,
        token_id=token_id,
        at=datetime.now(UTC),
        patch=undo,
        before=_values(before, undo),
        after=_values(after, undo),
        diff=diff_paths(before, after, undo),
        rolled_back_by=None,
        rollback_of=change_id,
    )
    await asyncio.to_thread(state.audit.add, record, {})
    await asyncio.to_thread(state.audit.replace, original.model_copy(update={"rolled_back_by": rollback_id}))
    return record


def _values(document: Any, patch: Any) -> Json:
    """The parts of `document` the patch touches, in the patch's shape (for the audit log)."""
    picked = _pick(document, patch)
    return picked if isinstance(picked, dict) else {}


def _pick(document: Any, patch: Any) -> Any:
    if isinstance(patch, dict):
        source = document if isinstance(document, dict) else {}
        return {key: _pick(source.get(key), value) for key, value in patch.items() if not key.startswith("$")}
    if isinstance(patch, list) and all(isinstance(item, dict) and "name" in item for item in patch):
        named = {i.get("name"): i for i in document if isinstance(i, dict)} if isinstance(document, list) else {}
        return [{**_pick(named.get(item["name"]), item), "name": item["name"]} for item in patch]
    return document
