"""The embedded cluster's storage: what etcd + the API server's registry are to a real cluster.

Objects are plain JSON-ready dicts, stored copy-on-write: a stored dict is never mutated after it is
stored, so readers (HTTP lists of 10,000 pods, controllers) share it without copying. Every write bumps
one cluster-wide resourceVersion counter, as etcd's revision does, and appends an event to a bounded
log; watches resume from any resourceVersion still in that log and get 410 Gone otherwise.

Controllers subscribe with `add_listener` and are called synchronously after each write, so they see
every change in order; they must only schedule work (never write back from inside the callback).
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from k8s_sim.clock import SimClock

Obj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str  # '' for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )  # fmt: skip
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Unique storage key, e.g. 'apps/deployments' or 'pods'."""
        return f"{self.group}/{self.plural}" if self.group else self.plural


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    resource: ResourceType
    object: Obj
    resource_version: int


class ApiError(Exception):
    """An API error that the HTTP layer renders as a Kubernetes `Status` object."""

    def __init__(self, code: int, reason: str, message: str, *, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(rt: ResourceType, name: str) -> ApiError:
    group = f".{rt.group}" if rt.group else ""
    return ApiError(
        404,
        "NotFound",
        f'{rt.plural}{group} "{name}" not found',
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


def conflict(rt: ResourceType, name: str, why: str) -> ApiError:
    group = f".{rt.group}" if rt.group else ""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.plural}{group} "{name}": {why}',
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


Listener = Callable[[WatchEvent], None]
# Mutating + validating admission, as the API server's registry strategies do it (defaults, ClusterIP and
# NodePort allocation, validation): called with (type, new object to edit in place, old object or None);
# raise ApiError to reject. Runs on create and update, dry-run included, before anything is stored.
Admission = Callable[[ResourceType, Obj, Obj | None], None]
_STALE = "the object has been modified; please apply your changes to the latest version and try again"


class ObjectStore:
    """Versioned object storage with a bounded event log, watch queues and controller listeners."""

    def __init__(self, clock: SimClock, *, event_log_size: int = 200_000) -> None:
        self.clock = clock
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._types: dict[str, ResourceType] = {}
        self._revision = 0
        self._log: deque[WatchEvent] = deque(maxlen=event_log_size)
        self._compacted_before = 1  # the oldest resourceVersion a watch may still resume after
        self._listeners: list[Listener] = []
        self._watchers: set[asyncio.Queue[WatchEvent | None]] = set()
        self._admission: list[Admission] = []
        # Sorted keys per type, rebuilt only when that type's key set changes (create/delete), so a
        # paginated list of 10,000 pods does not re-sort on every page while controllers update statuses.
        self._key_generation: dict[str, int] = {}
        self._sorted_keys: dict[str, tuple[int, list[tuple[str, str]]]] = {}
        # owner uid → {(type key, object key)} of its dependents, kept current on every write, so garbage
        # collection never scans the whole store (deleting 1,000 pods must not mean 1,000 full scans).
        self._owned: dict[str, set[tuple[str, tuple[str, str]]]] = {}

    # -- registry -------------------------------------------------------------------------------------
    def register(self, rt: ResourceType) -> None:
        self._types[rt.key] = rt
        self._objects.setdefault(rt.key, {})

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def type_for(self, group: str, plural: str) -> ResourceType | None:
        return self._types.get(f"{group}/{plural}" if group else plural)

    def type_of_kind(self, kind: str, group: str | None = None) -> ResourceType | None:
        for rt in self._types.values():
            if rt.kind == kind and (group is None or rt.group == group):
                return rt
        return None

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def oldest_resumable(self) -> int:
        return self._compacted_before

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        return self._objects[rt.key].get((namespace if rt.namespaced else "", name))

    def require(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise not_found(rt, name)
        return obj

    def list_objects(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        """Objects sorted by (namespace, name), as etcd's key order gives them."""
        items = self._objects[rt.key]
        keys = self.sorted_keys(rt)
        if namespace is not None:
            keys = keys[bisect.bisect_left(keys, (namespace, "")) : bisect.bisect_left(keys, (namespace + "\0", ""))]
        return [items[k] for k in keys]

    def sorted_keys(self, rt: ResourceType) -> list[tuple[str, str]]:
        """(namespace, name) keys of a type in etcd order; cached until the key set changes. Do not mutate."""
        generation = self._key_generation.get(rt.key, 0)
        cached = self._sorted_keys.get(rt.key)
        if cached is None or cached[0] != generation:
            cached = (generation, sorted(self._objects[rt.key]))
            self._sorted_keys[rt.key] = cached
        return cached[1]

    def iter_objects(self, rt: ResourceType) -> Iterator[Obj]:
        """Unordered iteration for controllers (no sort cost)."""
        return iter(list(self._objects[rt.key].values()))

    def count(self, rt: ResourceType) -> int:
        return len(self._objects[rt.key])

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise ApiError(422, "Invalid", f"{rt.kind} is invalid: metadata.name: Required value: name is required")
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        key = (namespace, name)
        if key in self._objects[rt.key]:
            group = f".{rt.group}" if rt.group else ""
            raise ApiError(
                409,
                "AlreadyExists",
                f'{rt.plural}{group} "{name}" already exists',
                details={"name": name, "group": rt.group, "kind": rt.plural},
            )
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock.rfc3339()
        if "spec" in obj:
            meta.setdefault("generation", 1)
        if not rt.namespaced:
            meta.pop("namespace", None)
        self._admit(rt, obj, None)
        if dry_run:
            meta["resourceVersion"] = str(self._revision)
            return obj
        return self._commit(rt, key, obj, "ADDED")

    def update(self, rt: ResourceType, obj: Obj, *, expect_rv: str | None = None, dry_run: bool = False) -> Obj:
        """Replace a stored object. A non-empty stale `expect_rv` is a 409 Conflict."""
        meta = obj.setdefault("metadata", {})
        name = meta.get("name", "")
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        current = self.require(rt, namespace, name)
        current_meta = current["metadata"]
        if expect_rv and expect_rv != current_meta["resourceVersion"]:
            raise conflict(rt, name, _STALE)
        for preserved in ("uid", "creationTimestamp"):
            meta[preserved] = current_meta[preserved]
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        if "spec" in obj:
            spec_changed = obj.get("spec") != current.get("spec")
            meta["generation"] = int(current_meta.get("generation", 1)) + int(spec_changed)
        self._admit(rt, obj, current)
        if dry_run:
            meta["resourceVersion"] = current_meta["resourceVersion"]
            return obj
        if obj == current:
            return current  # a no-op write does not bump the resourceVersion (as the API server)
        return self._commit(rt, (namespace, name), obj, "MODIFIED")

    def mutate(self, rt: ResourceType, namespace: str, name: str, change: Callable[[Obj], None]) -> Obj | None:
        """Read-modify-write for controllers: `change` edits a deep copy; no-ops are skipped."""
        current = self.get(rt, namespace, name)
        if current is None:
            return None
        updated = copy.deepcopy(current)
        change(updated)
        if updated == current:
            return current
        return self.update(rt, updated)

    def delete(self, rt: ResourceType, namespace: str, name: str, *, dry_run: bool = False) -> Obj:
        key = (namespace if rt.namespaced else "", name)
        current = self._objects[rt.key].get(key)
        if current is None:
            raise not_found(rt, name)
        if dry_run:
            return current
        del self._objects[rt.key][key]
        self._index_owners(rt, key, current, None)
        self._key_generation[rt.key] = self._key_generation.get(rt.key, 0) + 1
        self._revision += 1
        gone = copy.copy(current)
        gone["metadata"] = {**current["metadata"], "resourceVersion": str(self._revision)}
        self._publish(WatchEvent("DELETED", rt, gone, self._revision))
        return gone

    def delete_cascade(
        self, rt: ResourceType, namespace: str, name: str, *, propagation: str = "Background", dry_run: bool = False
    ) -> Obj:
        """Delete an object and garbage-collect its dependents by ownerReferences, as the real GC does.

        "Background"/"Foreground" delete the dependents (transitively: Deployment → ReplicaSets → Pods);
        "Orphan" strips the owner's reference from them instead. Deleting a Namespace deletes its contents.
        Controllers may call this too, so owner deletion behaves the same whichever side triggers it.
        """
        gone = self.delete(rt, namespace, name, dry_run=dry_run)
        if dry_run:
            return gone
        if rt.kind == "Namespace" and not rt.group:
            self._delete_namespace_contents(name)
        pending = [gone["metadata"].get("uid", "")]
        while pending:
            uid = pending.pop()
            for type_key, key in sorted(self._owned.get(uid, ())):
                dependent_rt = self._types[type_key]
                dependent = self._objects[type_key].get(key)
                if dependent is None:
                    continue
                if propagation == "Orphan":
                    self._orphan(dependent_rt, dependent, uid)
                else:
                    pending.append(dependent["metadata"].get("uid", ""))
                    self.delete(dependent_rt, *key)
        return gone

    def _index_owners(self, rt: ResourceType, key: tuple[str, str], old: Obj | None, new: Obj | None) -> None:
        def owners(obj: Obj | None) -> set[str]:
            if obj is None:
                return set()
            return {ref.get("uid", "") for ref in obj["metadata"].get("ownerReferences") or ()}

        before, after = owners(old), owners(new)
        entry = (rt.key, key)
        for uid in before - after:
            dependents = self._owned.get(uid)
            if dependents is not None:
                dependents.discard(entry)
                if not dependents:
                    del self._owned[uid]
        for uid in after - before:
            self._owned.setdefault(uid, set()).add(entry)

    def _orphan(self, rt: ResourceType, obj: Obj, owner_uid: str) -> None:
        updated = copy.deepcopy(obj)
        refs = [ref for ref in updated["metadata"].get("ownerReferences") or () if ref.get("uid") != owner_uid]
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        self.update(rt, updated)

    def _delete_namespace_contents(self, namespace: str) -> None:
        for rt in self._types.values():
            if rt.namespaced:
                for key in [key for key in self._objects[rt.key] if key[0] == namespace]:
                    self.delete(rt, *key)

    def _commit(self, rt: ResourceType, key: tuple[str, str], obj: Obj, kind: EventType) -> Obj:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        if kind == "ADDED":
            self._key_generation[rt.key] = self._key_generation.get(rt.key, 0) + 1
        self._index_owners(rt, key, self._objects[rt.key].get(key), obj)
        self._objects[rt.key][key] = obj
        self._publish(WatchEvent(kind, rt, obj, self._revision))
        return obj

    def add_admission(self, admission: Admission) -> None:
        self._admission.append(admission)

    def _admit(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        for admission in self._admission:
            admission(rt, obj, old)

    # -- change propagation ---------------------------------------------------------------------------
    def _publish(self, event: WatchEvent) -> None:
        if len(self._log) == self._log.maxlen:
            self._compacted_before = self._log[0].resource_version + 1
        self._log.append(event)
        for listener in list(self._listeners):
            listener(event)
        for queue in list(self._watchers):
            queue.put_nowait(event)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def compact(self) -> None:
        """Forget the event log (fault injection: every resume after this gets 410 Gone)."""
        self._log.clear()
        self._compacted_before = self._revision + 1

    def events_since(self, resource_version: int) -> list[WatchEvent] | None:
        """Events after `resource_version`, or None if that version is older than the log (410)."""
        if resource_version + 1 < self._compacted_before and resource_version < self._revision:
            return None
        return [event for event in self._log if event.resource_version > resource_version]

    def open_watch(self) -> asyncio.Queue[WatchEvent | None]:
        """An unbounded queue of every future event; close it with `close_watch`."""
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._watchers.add(queue)
        return queue

    def close_watch(self, queue: asyncio.Queue[WatchEvent | None]) -> None:
        self._watchers.discard(queue)

    def drop_all_watches(self) -> None:
        """Fault injection: end every open watch stream (clients must resume)."""
        for queue in list(self._watchers):
            queue.put_nowait(None)
