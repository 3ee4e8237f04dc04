"""Cluster-scoped objects every kind cluster has from the start: the default StorageClass and the system
PriorityClasses (so PVCs bind without a manifest of their own and `priorityClassName:
system-cluster-critical` is accepted, as on kind)."""

from __future__ import annotations

from k8s_sim import resources as r
from k8s_sim.controllers.storage import default_storage_class
from k8s_sim.store import ObjectStore

SYSTEM_PRIORITY_CLASSES = (
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
)


def create_defaults(store: ObjectStore) -> None:
    store.create(r.STORAGECLASSES, default_storage_class())
    for name, value, description in SYSTEM_PRIORITY_CLASSES:
        store.create(
            r.PRIORITYCLASSES,
            {"metadata": {"name": name}, "value": value, "description": description, "globalDefault": False},
        )
