"""Who owns what in a snapshot: pods → workloads, services → pods/workloads, HPAs and PDBs → workloads.

Every part of the optimizer asks these questions, and answering them per object would make analyze()
quadratic on a 10,000-pod cluster, so the index is built once per snapshot. It also works on a snapshot
built from manifests alone (no pods): services and PDBs then match workloads by their selectors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from k8s_optimizer.domain.objects import HPA, ObjectRef, Pod, PodDisruptionBudget, Service, Workload
from k8s_optimizer.domain.snapshot import ClusterSnapshot

TOP_LEVEL_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def workload_ref_of_pod(pod: Pod, snapshot: ClusterSnapshot) -> ObjectRef | None:
    """Pod → ReplicaSet → Deployment (falls back to the pod-template-hash naming when RS objects are absent)."""
    owner = pod.owner
    if owner is None:
        return None
    if owner.kind != "ReplicaSet":
        return ObjectRef(owner.kind, pod.namespace, owner.name)
    replica_set = snapshot.workloads.get(("ReplicaSet", pod.namespace, owner.name))
    if replica_set is not None and replica_set.owner is not None:
        return ObjectRef(replica_set.owner.kind, pod.namespace, replica_set.owner.name)
    deployment_name = owner.name.rsplit("-", 1)[0]
    if ("Deployment", pod.namespace, deployment_name) in snapshot.workloads:
        return ObjectRef("Deployment", pod.namespace, deployment_name)
    return ObjectRef("ReplicaSet", pod.namespace, owner.name)


def selector_covers(service_selector: dict[str, str], workload: Workload) -> bool:
    """Manifest-only matching: the service selects the workload's pods if its labels are in the selector."""
    workload_labels = dict(workload.selector.match_labels)
    return bool(service_selector) and all(workload_labels.get(key) == value for key, value in service_selector.items())


def service_selects(service: Service, pod: Pod) -> bool:
    if not service.selector:
        return False
    return all(pod.labels.get(key) == value for key, value in service.selector.items())


@dataclass
class Topology:
    snapshot: ClusterSnapshot
    pods_by_workload: dict[ObjectRef, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    hpa_by_target: dict[ObjectRef, HPA] = field(default_factory=dict)
    pods_by_namespace: dict[str, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    pods_by_label: dict[tuple[str, str, str], list[Pod]] = field(default_factory=lambda: defaultdict(list))
    _service_pods: dict[tuple[str, str], list[Pod]] = field(default_factory=dict)

    @classmethod
    def build(cls, snapshot: ClusterSnapshot) -> Topology:
        topology = cls(snapshot)
        for pod in snapshot.pods.values():
            topology.pods_by_namespace[pod.namespace].append(pod)
            for key, value in pod.labels.items():
                topology.pods_by_label[(pod.namespace, key, value)].append(pod)
            ref = workload_ref_of_pod(pod, snapshot)
            if ref is not None:
                topology.pods_by_workload[ref].append(pod)
        for hpa in snapshot.hpas.values():
            topology.hpa_by_target[ObjectRef(hpa.target.kind, hpa.namespace, hpa.target.name)] = hpa
        return topology

    def top_level_workloads(self) -> list[Workload]:
        return [
            workload
            for workload in self.snapshot.workloads.values()
            if workload.kind in TOP_LEVEL_KINDS or (workload.kind == "ReplicaSet" and workload.owner is None)
        ]

    def pods_of(self, ref: ObjectRef) -> list[Pod]:
        return [pod for pod in self.pods_by_workload.get(ref, ()) if not pod.deleting]

    def hpa_for(self, ref: ObjectRef) -> HPA | None:
        return self.hpa_by_target.get(ref)

    def pods_of_service(self, service: Service) -> list[Pod]:
        """Selected pods, via the label index (the rarest selector label narrows the scan); memoised."""
        key = (service.namespace, service.name)
        cached = self._service_pods.get(key)
        if cached is not None:
            return cached
        selector = service.selector or {}
        candidates = min(
            (self.pods_by_label.get((service.namespace, label, value), []) for label, value in selector.items()),
            key=len,
            default=[],
        )
        pods = [pod for pod in candidates if not pod.deleting and service_selects(service, pod)]
        self._service_pods[key] = pods
        return pods

    def workloads_of_service(self, service: Service) -> list[Workload]:
        """Workloads whose pods the service selects; by selector when the snapshot has no pods for them."""
        refs = {workload_ref_of_pod(pod, self.snapshot) for pod in self.pods_of_service(service)}
        found = [
            self.snapshot.workloads[(ref.kind, ref.namespace, ref.name)]
            for ref in refs
            if ref is not None and (ref.kind, ref.namespace, ref.name) in self.snapshot.workloads
        ]
        if found or service.selector is None:
            return sorted(found, key=lambda workload: workload.name)
        return sorted(
            (
                workload
                for workload in self.top_level_workloads()
                if workload.namespace == service.namespace and selector_covers(service.selector, workload)
            ),
            key=lambda workload: workload.name,
        )

    def pdbs_for(self, workload: Workload) -> list[PodDisruptionBudget]:
        """PDBs selecting the workload's pods (or, without pods, whose matchLabels its selector implies)."""
        pods = self.pods_of(workload.ref())
        matching: list[PodDisruptionBudget] = []
        for pdb in self.snapshot.pdbs.values():
            if pdb.namespace != workload.namespace:
                continue
            if pods:
                if any(pdb.selector.matches(pod.labels) for pod in pods):
                    matching.append(pdb)
            elif pdb.selector.matches(dict(workload.selector.match_labels)):
                matching.append(pdb)
        return matching
