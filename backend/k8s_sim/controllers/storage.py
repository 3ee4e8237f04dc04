"""The PersistentVolume controller: claims bind to volumes, by StorageClass, as kind's local-path provisioner does.

A claim whose class has a provisioner gets a dynamically provisioned volume `pvc-<claim uid>` (at once for
`Immediate` classes; for `WaitForFirstConsumer`, such as kind's default `standard`, once a pod uses the
claim). A claim without a class (`storageClassName: ""`) binds to an Available static volume that fits
(capacity, access modes). A claim that cannot bind stays Pending with the real controller's event
(`ProvisioningFailed`, `WaitForFirstConsumer`, `FailedBinding`); the scheduler keeps pods on such a
claim Pending. Deleting a claim deletes (reclaimPolicy Delete) or releases (Retain) its volume.
"""

from __future__ import annotations

from k8s_optimizer.domain.quantities import QuantityError, parse_memory_bytes
from k8s_sim import resources as r
from k8s_sim.controllers.base import Key, Recorder, key_of
from k8s_sim.store import ApiError, Obj, ObjectStore, WatchEvent

NO_PROVISIONER = "kubernetes.io/no-provisioner"
DEFAULT_CLASS = "standard"
DEFAULT_PROVISIONER = "rancher.io/local-path"


def default_storage_class() -> Obj:
    """kind's default StorageClass."""
    return {
        "metadata": {
            "name": DEFAULT_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": DEFAULT_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def claim_names(pod_spec: Obj) -> list[str]:
    return [
        str(volume["persistentVolumeClaim"].get("claimName", ""))
        for volume in pod_spec.get("volumes") or ()
        if volume.get("persistentVolumeClaim")
    ]


def _bytes(text: object) -> int:
    try:
        return parse_memory_bytes(str(text))
    except (QuantityError, ValueError):
        return 0


class VolumeBinder:
    def __init__(self, store: ObjectStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self.dirty: set[Key] = set()
        self._consumed: set[Key] = set()  # claims some pod uses
        self._deleted: list[Obj] = []  # claims deleted since the last run (their volumes are reclaimed)
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource is r.PVCS:
            if event.type == "DELETED":
                self._deleted.append(event.object)
            else:
                self.dirty.add(key_of(event.object))
        elif event.resource is r.PODS and event.type != "DELETED":
            namespace = event.object["metadata"].get("namespace", "")
            for claim in claim_names(event.object.get("spec") or {}):
                if (namespace, claim) not in self._consumed:
                    self._consumed.add((namespace, claim))
                    self.dirty.add((namespace, claim))
        elif (event.resource is r.PVS or event.resource is r.STORAGECLASSES) and event.type != "DELETED":
            self.dirty.update(key_of(obj) for obj in self.store.iter_objects(r.PVCS) if _pending(obj))

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = bool(self._deleted)
        deleted, self._deleted = self._deleted, []
        for gone in deleted:
            self._release(gone)
        for key in work:
            claim = self.store.get(r.PVCS, *key)
            if claim is not None and _pending(claim):
                wrote |= self._sync(claim)
        return wrote

    def _sync(self, claim: Obj) -> bool:
        spec = claim.get("spec") or {}
        class_name = spec.get("storageClassName")
        matched = self._static_match(claim)
        if matched is not None:
            return self._bind(claim, matched, provisioned=False)
        if not class_name:
            message = "no persistent volumes available for this claim and no storage class is set"
            self.recorder.record(claim, "Normal", "FailedBinding", message, "persistentvolume-controller")
            return False
        storage_class = self.store.get(r.STORAGECLASSES, "", str(class_name))
        if storage_class is None:
            message = f'storageclass.storage.k8s.io "{class_name}" not found'
            self.recorder.record(claim, "Warning", "ProvisioningFailed", message, "persistentvolume-controller")
            return False
        waiting = storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
        if waiting and key_of(claim) not in self._consumed:
            message = "waiting for first consumer to be created before binding"
            self.recorder.record(claim, "Normal", "WaitForFirstConsumer", message, "persistentvolume-controller")
            return False
        if storage_class.get("provisioner") == NO_PROVISIONER:
            message = "no persistent volumes available for this claim and no storage class is set"
            self.recorder.record(claim, "Normal", "FailedBinding", message, "persistentvolume-controller")
            return False
        return self._bind(claim, self._provision(claim, storage_class), provisioned=True)

    def _static_match(self, claim: Obj) -> Obj | None:
        spec = claim.get("spec") or {}
        wanted = _bytes(((spec.get("resources") or {}).get("requests") or {}).get("storage", "0"))
        modes = set(spec.get("accessModes") or ())
        class_name = spec.get("storageClassName") or ""
        named = spec.get("volumeName")
        candidates = []
        for volume in self.store.iter_objects(r.PVS):
            vspec = volume.get("spec") or {}
            if (volume.get("status") or {}).get("phase") != "Available" or vspec.get("claimRef"):
                continue
            if named and volume["metadata"]["name"] != named:
                continue
            if (vspec.get("storageClassName") or "") != class_name or not modes <= set(vspec.get("accessModes") or ()):
                continue
            size = _bytes((vspec.get("capacity") or {}).get("storage", "0"))
            if size >= wanted:
                candidates.append((size, volume["metadata"]["name"], volume))
        return min(candidates, key=lambda item: item[:2])[2] if candidates else None

    def _provision(self, claim: Obj, storage_class: Obj) -> Obj:
        spec = claim["spec"]
        name = f"pvc-{claim['metadata']['uid']}"
        volume: Obj = {
            "metadata": {
                "name": name,
                "annotations": {"pv.kubernetes.io/provisioned-by": storage_class["provisioner"]},
                "finalizers": ["kubernetes.io/pv-protection"],
            },
            "spec": {
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "capacity": {"storage": spec["resources"]["requests"]["storage"]},
                "hostPath": {
                    "path": f"/var/local-path-provisioner/{name}_{_claim_dir(claim)}",
                    "type": "DirectoryOrCreate",
                },
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
            },
        }
        created = self.store.create(r.PVS, volume)
        message = f"Successfully provisioned volume {name}"
        self.recorder.record(claim, "Normal", "ProvisioningSucceeded", message, storage_class["provisioner"])
        return created

    def _bind(self, claim: Obj, volume: Obj, *, provisioned: bool) -> bool:
        claim_ref = {
            "kind": "PersistentVolumeClaim",
            "namespace": claim["metadata"]["namespace"],
            "name": claim["metadata"]["name"],
            "uid": claim["metadata"]["uid"],
            "apiVersion": "v1",
            "resourceVersion": claim["metadata"]["resourceVersion"],
        }

        def bind_volume(obj: Obj) -> None:
            obj["spec"]["claimRef"] = claim_ref
            obj["status"] = {"phase": "Bound"}

        def bind_claim(obj: Obj) -> None:
            obj["spec"]["volumeName"] = volume["metadata"]["name"]
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
            if provisioned:
                provisioner = (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by", "")
                annotations["volume.kubernetes.io/storage-provisioner"] = provisioner
            obj["status"] = {
                "phase": "Bound",
                "accessModes": list(volume["spec"].get("accessModes") or ()),
                "capacity": dict(volume["spec"].get("capacity") or {}),
            }

        try:
            self.store.mutate(r.PVS, "", volume["metadata"]["name"], bind_volume)
            self.store.mutate(r.PVCS, *key_of(claim), bind_claim)
        except ApiError:
            return False
        return True

    def _release(self, claim: Obj) -> None:
        self._consumed.discard(key_of(claim))
        name = (claim.get("spec") or {}).get("volumeName")
        volume = self.store.get(r.PVS, "", str(name)) if name else None
        if volume is None:
            return
        if volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            self.store.delete(r.PVS, "", volume["metadata"]["name"])
        else:
            self.store.mutate(r.PVS, "", volume["metadata"]["name"], _released)


def _released(volume: Obj) -> None:
    volume["status"] = {"phase": "Released"}


def _pending(claim: Obj) -> bool:
    return bool((claim.get("status") or {}).get("phase", "Pending") == "Pending")


def _claim_dir(claim: Obj) -> str:
    return f"{claim['metadata']['namespace']}_{claim['metadata']['name']}"
