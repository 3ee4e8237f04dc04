"""Shared pieces of the controllers: object keys, owner references and the Event recorder.

The recorder writes core/v1 Events the way client-go's EventRecorder does: one Event object per
(involved object, reason, message), counted up and re-stamped when the same thing happens again, and
forgotten after the API server's default event TTL of one hour.

`isolated` is every controller loop's guard: kube-controller-manager's workers hand a failed key to
utilruntime.HandleError and move on to the next, so one object a controller cannot reconcile (a spec
this version cannot read) is reported — a Warning Event `FailedSync` on it — and never blocks the rest.
"""

from __future__ import annotations

import functools
import logging
import random
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from k8s_sim import resources as r
from k8s_sim.clock import SimClock
from k8s_sim.store import ApiError, Obj, ObjectStore, ResourceType

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
EVENT_TTL_SECONDS = 3600.0  # kube-apiserver --event-ttl default
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery rand.String / SafeEncodeString alphabet


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def controller_of(obj: Obj) -> Obj | None:
    """The ownerReference with controller=true, if any."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def safe_encode(value: int, length: int = 10) -> str:
    """An integer rendered in the alphabet Kubernetes uses for generated suffixes (no vowels)."""
    chars = []
    for _ in range(length):
        chars.append(_SAFE_ALPHABET[value % len(_SAFE_ALPHABET)])
        value //= len(_SAFE_ALPHABET)
    return "".join(chars).rstrip(_SAFE_ALPHABET[0]) or _SAFE_ALPHABET[0]


def random_suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(_SAFE_ALPHABET) for _ in range(length))


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return _parse_time(text)


@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> float:
    """Cached: 10,000 pods created in the same second share a handful of timestamps."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def condition(conditions: list[Obj], kind: str) -> Obj | None:
    for item in conditions:
        if item.get("type") == kind:
            return item
    return None


def set_condition(conditions: list[Obj], new: Obj, now_text: str, *, heartbeat: str | None = None) -> None:
    """Upsert a condition; lastTransitionTime changes only when the status does (as the API conventions say)."""
    current = condition(conditions, new["type"])
    if current is None:
        conditions.append({**new, "lastTransitionTime": now_text, **({heartbeat: now_text} if heartbeat else {})})
        return
    if current.get("status") != new["status"]:
        current["lastTransitionTime"] = now_text
    current.update(new)
    if heartbeat:
        current[heartbeat] = now_text


def is_pod_ready(pod: Obj) -> bool:
    found = condition(pod.get("status", {}).get("conditions") or [], "Ready")
    return found is not None and found.get("status") == "True"


def is_pod_active(pod: Obj) -> bool:
    """Not finished and not being deleted (what ReplicaSets count)."""
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed") and not pod["metadata"].get(
        "deletionTimestamp"
    )


class Recorder:
    """client-go's EventRecorder + the API server's event TTL, in simulated time."""

    def __init__(self, store: ObjectStore, clock: SimClock, rng: random.Random) -> None:
        self.store = store
        self.clock = clock
        self.rng = rng
        self._by_key: dict[tuple[str, str, str, str], Key] = {}
        self._expiry: deque[tuple[float, tuple[str, str, str, str]]] = deque()
        self._last_seen: dict[tuple[str, str, str, str], float] = {}
        self.enabled = True

    def record(self, obj: Obj, type_: str, reason: str, message: str, component: str, host: str = "") -> None:
        if not self.enabled:
            return
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        dedupe = (meta.get("uid", ""), reason, message, namespace)
        now_text = self.clock.rfc3339()
        existing = self._by_key.get(dedupe)
        self._last_seen[dedupe] = self.clock.now_seconds()
        if existing is not None and self._bump(existing, now_text):
            self._expiry.append((self.clock.now_seconds(), dedupe))
            return
        name = f"{meta['name']}.{int(self.clock.now_seconds() * 1e9):x}{random_suffix(self.rng, 3)}"
        event: Obj = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": _involved(obj),
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": now_text,
            "lastTimestamp": now_text,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        try:
            self.store.create(r.EVENTS, event)
        except ApiError:
            return
        self._by_key[dedupe] = (namespace, name)
        self._expiry.append((self.clock.now_seconds(), dedupe))

    def _bump(self, key: Key, now_text: str) -> bool:
        def change(event: Obj) -> None:
            event["count"] = int(event.get("count", 1)) + 1
            event["lastTimestamp"] = now_text

        return self.store.mutate(r.EVENTS, key[0], key[1], change) is not None

    def expire(self, now_seconds: float) -> None:
        """Delete events not seen for an hour (each sighting re-arms its entry)."""
        while self._expiry and self._expiry[0][0] < now_seconds - EVENT_TTL_SECONDS:
            stamp, dedupe = self._expiry.popleft()
            if self._last_seen.get(dedupe, 0.0) > stamp:
                continue  # seen again since; a later entry will expire it
            self._last_seen.pop(dedupe, None)
            key = self._by_key.pop(dedupe, None)
            if key is not None and self.store.get(r.EVENTS, *key) is not None:
                self.store.delete(r.EVENTS, *key)


def isolated(recorder: Recorder | None, component: str, obj: Obj | None, sync: Callable[[], bool]) -> bool:
    """Run one object's reconcile; a failure is logged and recorded on the object, and the loop goes on."""
    try:
        return sync()
    except Exception as error:  # noqa: BLE001 - any bug in one object's reconcile must not starve the others
        report_failure(recorder, component, obj, error)
        return False


def report_failure(recorder: Recorder | None, component: str, obj: Obj | None, error: Exception) -> None:
    meta = (obj or {}).get("metadata") or {}
    where = f"{meta.get('namespace', '')}/{meta.get('name', '?')}".lstrip("/")
    message = f"error syncing {obj.get('kind', 'object') if obj else 'object'} {where}: {type(error).__name__}: {error}"
    logger.warning("%s: %s", component, message)
    if recorder is None or obj is None or not meta.get("name"):
        return
    try:
        recorder.record(obj, "Warning", "FailedSync", message, component)
    except Exception:  # reporting must not be what fails the loop
        logger.exception("%s: cannot record the failure of %s", component, where)


def _involved(obj: Obj) -> dict[str, Any]:
    meta = obj["metadata"]
    involved = {
        "kind": obj.get("kind", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if meta.get("namespace"):
        involved["namespace"] = meta["namespace"]
    return involved


def types_by_kind() -> dict[str, ResourceType]:
    return {rt.kind: rt for rt in r.ALL}
