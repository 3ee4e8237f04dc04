"""Integer ids for workloads, containers and nodes, cached in memory.

Samples reference their series by a small integer so the sample tables stay narrow and their primary
keys short; the catalog resolves (namespace, pod, container) and workload refs to those ids without
a query per sample, and knows which containers (across every pod, past and present) belong to a
workload. A container's workload is what the collector resolved at scrape time (Pod -> ReplicaSet ->
Deployment); a bare pod is its own workload (kind "Pod").
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import ContainerKey


@dataclass(slots=True)
class ContainerEntry:
    id: int
    key: ContainerKey
    workload_id: int
    memory_request_bytes: int | None = None  # the latest seen; sizes the OOM bump


def _key_order(key: ContainerKey) -> tuple[str, str, str]:
    return key.namespace, key.pod, key.container


def pod_workload(key: ContainerKey) -> ObjectRef:
    """The workload of a pod whose owner is unknown: the pod itself."""
    return ObjectRef("Pod", key.namespace, key.pod)


class Catalog:
    """The id maps; every method that may create a row runs inside the caller's transaction."""

    def __init__(self) -> None:
        self.workload_ids: dict[ObjectRef, int] = {}
        self.workload_refs: dict[int, ObjectRef] = {}
        self.containers: dict[ContainerKey, ContainerEntry] = {}
        self.containers_by_id: dict[int, ContainerEntry] = {}
        self.containers_by_workload: dict[int, list[ContainerEntry]] = defaultdict(list)
        self.node_ids: dict[str, int] = {}

    def load(self, connection: sqlite3.Connection) -> None:
        for workload_id, kind, namespace, name in connection.execute("SELECT id, kind, namespace, name FROM workloads"):
            self._remember_workload(ObjectRef(kind, namespace, name), workload_id)
        rows = connection.execute("SELECT id, namespace, pod, container, workload_id FROM containers")
        for container_id, namespace, pod, container, workload_id in rows:
            self._remember_container(ContainerEntry(container_id, ContainerKey(namespace, pod, container), workload_id))
        for node_id, name in connection.execute("SELECT id, name FROM nodes"):
            self.node_ids[name] = node_id

    def workload_id(self, connection: sqlite3.Connection, ref: ObjectRef) -> int:
        known = self.workload_ids.get(ref)
        if known is not None:
            return known
        row = connection.execute(
            "INSERT INTO workloads (kind, namespace, name) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, namespace, name) DO UPDATE SET kind = excluded.kind RETURNING id",
            (ref.kind, ref.namespace, ref.name),
        ).fetchone()
        self._remember_workload(ref, int(row[0]))
        return int(row[0])

    def container(
        self, connection: sqlite3.Connection, key: ContainerKey, workload: ObjectRef | None
    ) -> ContainerEntry:
        """The container's entry; `workload` None keeps the known owner (or makes the pod its own workload)."""
        entry = self.containers.get(key)
        if entry is not None:
            if workload is not None and self.workload_refs[entry.workload_id] != workload:
                self._move(connection, entry, self.workload_id(connection, workload))
            return entry
        workload_id = self.workload_id(connection, workload or pod_workload(key))
        row = connection.execute(
            "INSERT INTO containers (namespace, pod, container, workload_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (namespace, pod, container) DO UPDATE SET workload_id = excluded.workload_id RETURNING id",
            (key.namespace, key.pod, key.container, workload_id),
        ).fetchone()
        entry = ContainerEntry(int(row[0]), key, workload_id)
        self._remember_container(entry)
        return entry

    def resolve(
        self, connection: sqlite3.Connection, items: Sequence[tuple[ContainerKey, ObjectRef | None]]
    ) -> list[ContainerEntry]:
        """`container()` for a whole scrape: new ids are created with one statement per table, not per row."""
        missing: dict[ContainerKey, ObjectRef] = {}
        for key, workload in items:
            if key not in self.containers and key not in missing:
                missing[key] = workload or pod_workload(key)
        wanted = set(missing.values()) | {workload for _, workload in items if workload is not None}
        self._create_workloads(connection, sorted((ref for ref in wanted if ref not in self.workload_ids), key=str))
        self._create_containers(connection, missing)
        return [self.container(connection, key, workload) for key, workload in items]

    def _create_workloads(self, connection: sqlite3.Connection, refs: list[ObjectRef]) -> None:
        if not refs:
            return
        floor = connection.execute("SELECT COALESCE(MAX(id), 0) FROM workloads").fetchone()[0]
        connection.executemany(
            "INSERT OR IGNORE INTO workloads (kind, namespace, name) VALUES (?, ?, ?)",
            [(ref.kind, ref.namespace, ref.name) for ref in refs],
        )
        rows = connection.execute("SELECT id, kind, namespace, name FROM workloads WHERE id > ?", (floor,))
        for workload_id, kind, namespace, name in rows:
            self._remember_workload(ObjectRef(kind, namespace, name), workload_id)

    def _create_containers(self, connection: sqlite3.Connection, missing: dict[ContainerKey, ObjectRef]) -> None:
        if not missing:
            return
        floor = connection.execute("SELECT COALESCE(MAX(id), 0) FROM containers").fetchone()[0]
        connection.executemany(
            "INSERT OR IGNORE INTO containers (namespace, pod, container, workload_id) VALUES (?, ?, ?, ?)",
            [
                (key.namespace, key.pod, key.container, self.workload_ids[ref])
                for key, ref in sorted(missing.items(), key=lambda item: _key_order(item[0]))
            ],
        )
        rows = connection.execute(
            "SELECT id, namespace, pod, container, workload_id FROM containers WHERE id > ?", (floor,)
        )
        for container_id, namespace, pod, container, workload_id in rows:
            self._remember_container(ContainerEntry(container_id, ContainerKey(namespace, pod, container), workload_id))

    def node_id(self, connection: sqlite3.Connection, name: str) -> int:
        known = self.node_ids.get(name)
        if known is not None:
            return known
        row = connection.execute(
            "INSERT INTO nodes (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
            (name,),
        ).fetchone()
        self.node_ids[name] = int(row[0])
        return int(row[0])

    def forget_container_ids(self, container_ids: set[int]) -> None:
        """Drop cache entries whose rows a rollback or a prune removed."""
        for container_id in container_ids:
            entry = self.containers_by_id.pop(container_id, None)
            if entry is not None:
                self.containers.pop(entry.key, None)
                self.containers_by_workload[entry.workload_id].remove(entry)

    def _move(self, connection: sqlite3.Connection, entry: ContainerEntry, workload_id: int) -> None:
        connection.execute("UPDATE containers SET workload_id = ? WHERE id = ?", (workload_id, entry.id))
        self.containers_by_workload[entry.workload_id].remove(entry)
        entry.workload_id = workload_id
        self.containers_by_workload[workload_id].append(entry)

    def _remember_workload(self, ref: ObjectRef, workload_id: int) -> None:
        self.workload_ids[ref] = workload_id
        self.workload_refs[workload_id] = ref

    def _remember_container(self, entry: ContainerEntry) -> None:
        self.containers[entry.key] = entry
        self.containers_by_id[entry.id] = entry
        self.containers_by_workload[entry.workload_id].append(entry)
