"""Who owns and who selects what in one ClusterSnapshot: the single answer every part of the backend reads.

Why it exists: the collector keys history by the workload that owns a pod, the core recommends per
workload, and the API and the WebSocket hub show pods under workloads and behind Services. When each
computed ownership with its own fallback, history could be recorded under one workload and
recommendations looked up under another. Here the rules are written once (`owner_of`, `selects`) and
the index (`Topology`) is built once per snapshot — carried over from the previous snapshot's index
when only a few pods changed — and then only looked up.

Ownership (`owner_of`), with one set of fallback rules:

- a pod without an owner reference belongs to no workload;
- a pod owned by anything but a ReplicaSet belongs to that owner (StatefulSet, DaemonSet, Job...);
- a cached ReplicaSet hands its pods to its controller (a Deployment), or keeps them when it has none;
- a ReplicaSet that is not cached (yet: each kind is listed by its own watch, so pods can arrive
  before their ReplicaSet) is resolved as the Deployment controller names it,
  `<deployment>-<pod-template-hash>`: the pod's `pod-template-hash` label, else the name's last
  `-` part when a Deployment of that name is cached; failing both, the ReplicaSet itself.

Selection: a Service with a selector backs the pods its labels match; one without a selector backs
the pods its hand-managed Endpoints name. Pure: no I/O.
"""

from __future__ import annotations

from bisect import insort
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from k8s_optimizer.domain.objects import HPA, ObjectRef, Pod, PodDisruptionBudget, Service, Workload
from k8s_optimizer.domain.snapshot import ClusterSnapshot, NamespacedKey

TOP_LEVEL_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
TEMPLATE_HASH_LABEL = "pod-template-hash"
# Past this many changed pods a full build is as cheap as a patch and simpler to trust.
MAX_PATCHED_PODS = 500
_MISSING = object()

PodKey = NamespacedKey


# -- the rules ---------------------------------------------------------------------------------------


def owner_of(pod: Pod, workloads: Mapping[ObjectRef, Workload]) -> ObjectRef | None:
    """The workload a pod belongs to (the module docstring gives the rules)."""
    owner = pod.owner
    if owner is None:
        return None
    if owner.kind != "ReplicaSet":
        return ObjectRef(owner.kind, pod.namespace, owner.name)
    replica_set_ref = ObjectRef("ReplicaSet", pod.namespace, owner.name)
    replica_set = workloads.get(replica_set_ref)
    if replica_set is not None:
        controller = replica_set.owner
        return ObjectRef(controller.kind, pod.namespace, controller.name) if controller else replica_set_ref
    template_hash = pod.labels.get(TEMPLATE_HASH_LABEL)
    if template_hash and owner.name.endswith(f"-{template_hash}"):
        return ObjectRef("Deployment", pod.namespace, owner.name[: -len(template_hash) - 1])
    if "-" in owner.name:
        deployment = ObjectRef("Deployment", pod.namespace, owner.name.rsplit("-", 1)[0])
        if deployment in workloads:
            return deployment
    return replica_set_ref


def selects(service: Service, pod: Pod) -> bool:
    """The Service's selector matches the pod's labels (never true for a selector-less Service)."""
    if not service.selector or service.namespace != pod.namespace:
        return False
    return all(pod.labels.get(key) == value for key, value in service.selector.items())


def selector_covers(service_selector: dict[str, str], workload: Workload) -> bool:
    """Manifest-only matching: the Service selects the workload's pods if its labels are in the selector."""
    workload_labels = dict(workload.selector.match_labels)
    return bool(service_selector) and all(workload_labels.get(key) == value for key, value in service_selector.items())


# -- the index ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Topology:
    """The joins of one snapshot. Lists of pods keep the snapshot's order, Service pods sort by name."""

    snapshot: ClusterSnapshot
    pod_owner: dict[PodKey, ObjectRef] = field(default_factory=dict)
    workload_pods: dict[ObjectRef, list[Pod]] = field(default_factory=dict)
    service_pods: dict[NamespacedKey, list[Pod]] = field(default_factory=dict)
    pod_services: dict[PodKey, list[str]] = field(default_factory=dict)
    """Pod → names of the Services whose selector picks it (the WebSocket hub's reverse lookup)."""
    workload_services: dict[ObjectRef, list[str]] = field(default_factory=dict)
    hpa_by_target: dict[ObjectRef, HPA] = field(default_factory=dict)
    _node_pods: dict[str, list[Pod]] | None = None

    @classmethod
    def build(cls, snapshot: ClusterSnapshot, previous: Topology | None = None) -> Topology:
        """Index `snapshot`; the pod joins carry over from `previous` when they can.

        A metrics tick or a Deployment scale changes no Service, Endpoints or ReplicaSet owner and at most
        a few pods, so only those pods are re-resolved instead of indexing all 10,000 again (the result
        equals a full build; tests/domain/test_topology.py compares them).
        """
        topology = cls(snapshot)
        if previous is None or not carry_over(previous, topology):
            topology._index_pods()
            topology._index_services()
        for hpa in snapshot.hpas.values():
            topology.hpa_by_target.setdefault(ObjectRef(hpa.target.kind, hpa.namespace, hpa.target.name), hpa)
        return topology

    def _index_pods(self) -> None:
        workloads = self.snapshot.workloads
        for key, pod in self.snapshot.pods.items():
            owner = owner_of(pod, workloads)
            if owner is not None:
                self.pod_owner[key] = owner
                self.workload_pods.setdefault(owner, []).append(pod)

    def _index_services(self) -> None:
        """Service → pods through a (namespace, label, value) index: O(matches), not services × pods."""
        by_label: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
        for (namespace, _), pod in sorted(self.snapshot.pods.items()):
            for label, value in pod.labels.items():
                by_label[(namespace, label, value)].append(pod)
        for key, service in self.snapshot.services.items():
            matched = self._backing_pods(service, by_label)
            self.service_pods[key] = matched
            if service.selector:
                for pod in matched:
                    self.pod_services.setdefault((pod.namespace, pod.name), []).append(service.name)
            owners = {self.pod_owner[(p.namespace, p.name)] for p in matched if (p.namespace, p.name) in self.pod_owner}
            for owner in sorted(owners, key=ObjectRef.key):
                self.workload_services.setdefault(owner, []).append(service.name)

    def _backing_pods(self, service: Service, by_label: dict[tuple[str, str, str], list[Pod]]) -> list[Pod]:
        selector = service.selector
        if not selector:
            endpoints = self.snapshot.endpoints.get((service.namespace, service.name))
            names = {a.pod_name for a in endpoints.addresses} if endpoints else set()
            return [p for n in sorted(n for n in names if n) if (p := self.snapshot.pods.get((service.namespace, n)))]
        candidates = min((by_label.get((service.namespace, k, v), []) for k, v in selector.items()), key=len)
        return [pod for pod in candidates if selects(service, pod)]

    # -- pods and workloads ----------------------------------------------------------------------------
    def owner(self, pod: Pod) -> ObjectRef | None:
        """The workload owning `pod` (resolved by the rules when the pod is not the snapshot's own)."""
        found = self.pod_owner.get((pod.namespace, pod.name))
        return found if found is not None else owner_of(pod, self.snapshot.workloads)

    def pods_of_workload(self, ref: ObjectRef) -> list[Pod]:
        """Every pod of the workload, terminating ones included (what the API lists)."""
        return self.workload_pods.get(ref, [])

    def live_pods_of(self, ref: ObjectRef) -> list[Pod]:
        """The workload's pods that are not being deleted (what the core sizes and checks)."""
        return [pod for pod in self.workload_pods.get(ref, ()) if not pod.deleting]

    def pods_on(self, node: str) -> list[Pod]:
        """The pods scheduled on a node, in the snapshot's order."""
        if self._node_pods is None:
            by_node: dict[str, list[Pod]] = defaultdict(list)
            for pod in self.snapshot.pods.values():
                if pod.node_name:
                    by_node[pod.node_name].append(pod)
            self._node_pods = dict(by_node)
        return self._node_pods.get(node, [])

    def hpa_for(self, ref: ObjectRef) -> HPA | None:
        return self.hpa_by_target.get(ref)

    def top_level_workloads(self) -> list[Workload]:
        """Deployments, StatefulSets, DaemonSets and ReplicaSets no Deployment controls."""
        return [
            workload
            for workload in self.snapshot.workloads.values()
            if workload.kind in TOP_LEVEL_KINDS or (workload.kind == "ReplicaSet" and workload.owner is None)
        ]

    def pdbs_for(self, workload: Workload) -> list[PodDisruptionBudget]:
        """PDBs selecting the workload's pods (or, without pods, whose matchLabels its selector implies)."""
        pods = self.live_pods_of(workload.ref())
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

    # -- services --------------------------------------------------------------------------------------
    def backing_pods(self, service: Service) -> list[Pod]:
        """The pods behind a Service: its selector's matches, or the pods its Endpoints name; by name."""
        return self.service_pods.get((service.namespace, service.name), [])

    def live_selected_pods(self, service: Service) -> list[Pod]:
        """The pods the Service's selector picks that are not being deleted (none without a selector)."""
        if not service.selector:
            return []
        return [pod for pod in self.backing_pods(service) if not pod.deleting]

    def services_of_pod(self, pod: Pod) -> list[str]:
        return self.pod_services.get((pod.namespace, pod.name), [])

    def services_of(self, ref: ObjectRef) -> list[str]:
        """Names of the Services backed by the workload's pods."""
        return self.workload_services.get(ref, [])

    def backing_workloads(self, service: Service) -> list[Workload]:
        """The cached workloads owning the pods behind the Service, by (kind, name)."""
        refs = {owner for pod in self.backing_pods(service) if (owner := self.pod_owner.get((pod.namespace, pod.name)))}
        workloads = [w for ref in refs if (w := self.snapshot.workloads.get(ref)) is not None]
        return sorted(workloads, key=lambda w: (w.kind, w.name))

    def workloads_selected_by(self, service: Service) -> list[Workload]:
        """Workloads of the live pods the Service selects; by selector when the snapshot has none of them
        (a snapshot built from manifests alone), by name."""
        refs = {self.owner(pod) for pod in self.live_selected_pods(service)}
        found = [w for ref in refs if ref is not None and (w := self.snapshot.workloads.get(ref)) is not None]
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


# -- carrying the joins over to the next snapshot ----------------------------------------------------
#
# Why: the WebSocket hub needs a view of the newest snapshot for every batch of changes. Indexing
# 10,000 pods from scratch (owner resolution, the label index, selector matching) takes 100–300 ms,
# which alone broke the 250 ms delta budget whenever a rollout touched a few pods. When Services,
# selector-less Services' Endpoints and the ownership inputs (ReplicaSet owners, which Deployments
# exist) are unchanged, the joins of the previous index are exact for every untouched pod, so only the
# changed pods are re-resolved.


def same_objects(before: Mapping[Any, Any], after: Mapping[Any, Any]) -> bool:
    """Same keys, and every value the very same (frozen) object: nothing in it changed."""
    return before is after or (
        len(before) == len(after) and all(before.get(key, _MISSING) is value for key, value in after.items())
    )


def _ownership_inputs(snapshot: ClusterSnapshot) -> dict[ObjectRef, object]:
    """What `owner_of` reads besides the pod: ReplicaSets' owners and which Deployments exist."""
    return {ref: workload.owner for ref, workload in snapshot.workloads.items() if ref.kind in _OWNING_KINDS}


_OWNING_KINDS = frozenset({"ReplicaSet", "Deployment"})


def _manual_endpoints(snapshot: ClusterSnapshot) -> dict[NamespacedKey, object]:
    """Endpoints of selector-less Services, the only ones the joins read (a rollout changes the others)."""
    return {key: snapshot.endpoints.get(key) for key, service in snapshot.services.items() if not service.selector}


def _changed_pods(before: dict[PodKey, Pod], after: dict[PodKey, Pod]) -> list[PodKey] | None:
    """Keys added, removed or replaced (in `after`'s order, removals last); None when too many."""
    changed = [key for key, pod in after.items() if before.get(key) is not pod]
    changed += [key for key in before if key not in after]
    return None if len(changed) > MAX_PATCHED_PODS else changed


def carry_over(previous: Topology, topology: Topology) -> bool:
    """Fill `topology`'s joins from `previous`, patching changed pods; False when a full build is needed."""
    before, after = previous.snapshot, topology.snapshot
    if not (
        same_objects(before.services, after.services)
        and _manual_endpoints(before) == _manual_endpoints(after)
        and _ownership_inputs(before) == _ownership_inputs(after)
    ):
        return False
    changed = _changed_pods(before.pods, after.pods)
    if changed is None:
        return False
    if not changed:
        topology.pod_owner, topology.workload_pods = previous.pod_owner, previous.workload_pods
        topology.service_pods, topology.workload_services = previous.service_pods, previous.workload_services
        topology.pod_services = previous.pod_services
        return True
    return _patch(previous, topology, changed)


def _patch(previous: Topology, topology: Topology, changed: list[PodKey]) -> bool:
    pods, workloads = topology.snapshot.pods, topology.snapshot.workloads
    new_owners: dict[PodKey, ObjectRef] = {}
    for key in changed:
        pod = pods.get(key)
        owner = None if pod is None else owner_of(pod, workloads)
        if key in previous.snapshot.pods and pod is not None and previous.pod_owner.get(key) != owner:
            return False  # a pod that changed owner: rare enough to rebuild everything
        if owner is not None:
            new_owners[key] = owner
    topology.pod_owner = dict(previous.pod_owner)
    for key in changed:
        topology.pod_owner.pop(key, None)
    topology.pod_owner.update(new_owners)
    topology.workload_pods = _patched_workload_pods(previous, topology, changed)
    topology.service_pods, touched = _patched_service_pods(previous, topology, changed)
    _patch_service_joins(previous, topology, touched, changed)
    return True


def _patched_workload_pods(previous: Topology, topology: Topology, changed: list[PodKey]) -> dict[ObjectRef, list[Pod]]:
    """Lists in the snapshot's pod order: replaced in place, removed, or appended (new pods come last)."""
    pods, before = topology.snapshot.pods, previous.snapshot.pods
    affected = {
        owner for key in changed for owner in (previous.pod_owner.get(key), topology.pod_owner.get(key)) if owner
    }
    result = dict(previous.workload_pods)
    for owner in affected:
        kept = [pods[k] for p in previous.workload_pods.get(owner, ()) if (k := (p.namespace, p.name)) in pods]
        kept += [
            pods[key] for key in changed if key in pods and key not in before and topology.pod_owner.get(key) == owner
        ]
        if kept:
            result[owner] = kept
        else:
            result.pop(owner, None)
    return result


def _services_by_namespace(snapshot: ClusterSnapshot) -> dict[str, list[Service]]:
    by_namespace: dict[str, list[Service]] = {}
    for service in snapshot.services.values():
        by_namespace.setdefault(service.namespace, []).append(service)
    return by_namespace


def _patched_service_pods(
    previous: Topology, topology: Topology, changed: list[PodKey]
) -> tuple[dict[NamespacedKey, list[Pod]], set[NamespacedKey]]:
    """Each list stays sorted by pod name; only Services in a changed pod's namespace are looked at.

    Also returns the keys of the Services whose list was replaced (the only ones whose joins can differ).
    """
    before, after = previous.snapshot.pods, topology.snapshot.pods
    by_namespace = _services_by_namespace(topology.snapshot)
    result = dict(previous.service_pods)
    touched: set[NamespacedKey] = set()
    for key in changed:
        old, new = before.get(key), after.get(key)
        for service in by_namespace.get(key[0], ()):
            skey = (service.namespace, service.name)
            was = old is not None and any(p is old for p in result.get(skey, ()))
            now = new is not None and (selects(service, new) if service.selector else _named(topology, skey, key))
            if not was and not now:
                continue
            pods = [p for p in result.get(skey, ()) if (p.namespace, p.name) != key]
            if now and new is not None:
                insort(pods, new, key=lambda p: p.name)
            result[skey] = pods
            touched.add(skey)
    return result, touched


def _named(topology: Topology, service_key: NamespacedKey, pod_key: PodKey) -> bool:
    """Selector-less Services: their hand-managed Endpoints name the pods."""
    endpoints = topology.snapshot.endpoints.get(service_key)
    return endpoints is not None and any(a.pod_name == pod_key[1] for a in endpoints.addresses)


def _patch_service_joins(
    previous: Topology, topology: Topology, touched: set[NamespacedKey], changed: list[PodKey]
) -> None:
    """workload_services and pod_services, exactly as a full build derives them, recomputed only for the
    pods and workloads of the touched Services.

    Why: re-deriving them for every Service allocated ~12,000 lists per flush at 10,000 pods, and that
    churn triggered full (generation 2) collections of ~120-170 ms over the 1,000 WebSocket clients'
    objects, which the profile showed as the slow delta trials. Untouched Services hold only untouched
    pods with unchanged owners, so their contribution is read from `previous`.
    """
    pods = set(changed)
    for skey in touched:
        pods.update((p.namespace, p.name) for p in previous.service_pods.get(skey, ()))
        pods.update((p.namespace, p.name) for p in topology.service_pods.get(skey, ()))
    owners = {o for key in pods for o in (previous.pod_owner.get(key), topology.pod_owner.get(key)) if o is not None}
    by_namespace = _services_by_namespace(topology.snapshot)
    topology.pod_services = _patched_pod_services(previous, topology, touched, pods, by_namespace)
    topology.workload_services = _patched_workload_services(previous, topology, touched, owners, by_namespace)


def _patched_pod_services(
    previous: Topology,
    topology: Topology,
    touched: set[NamespacedKey],
    pods: set[PodKey],
    by_namespace: dict[str, list[Service]],
) -> dict[PodKey, list[str]]:
    members = {skey: {(p.namespace, p.name) for p in topology.service_pods.get(skey, ())} for skey in touched}
    result = dict(previous.pod_services)
    for key in pods:
        before = previous.pod_services.get(key, ())
        names = [
            service.name
            for service in by_namespace.get(key[0], ())
            if service.selector
            and (
                key in members[skey]
                if (skey := (service.namespace, service.name)) in touched
                else service.name in before
            )
        ]
        if names:
            result[key] = names
        else:
            result.pop(key, None)
    return result


def _patched_workload_services(
    previous: Topology,
    topology: Topology,
    touched: set[NamespacedKey],
    owners: set[ObjectRef],
    by_namespace: dict[str, list[Service]],
) -> dict[ObjectRef, list[str]]:
    owners_of = {
        skey: {o for p in topology.service_pods.get(skey, ()) if (o := topology.pod_owner.get((p.namespace, p.name)))}
        for skey in touched
    }
    result = dict(previous.workload_services)
    for owner in owners:
        before = previous.workload_services.get(owner, ())
        names = [
            service.name
            for service in by_namespace.get(owner.namespace, ())
            if (
                owner in owners_of[skey]
                if (skey := (service.namespace, service.name)) in touched
                else service.name in before
            )
        ]
        if names:
            result[owner] = names
        else:
            result.pop(owner, None)
    return result
