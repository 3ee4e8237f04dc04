"""Carrying a view's pod joins over to the next snapshot, patching only the pods that changed.

Why: the WebSocket hub needs a view of the newest snapshot for every batch of changes. Indexing
10,000 pods from scratch (owner resolution, the label index, selector matching) takes 100–300 ms on
these machines, which alone broke the 250 ms delta budget whenever a rollout touched a few pods. When
Services, selector-less Services' Endpoints and ReplicaSet owners are unchanged, the joins of the
previous view are exact for every untouched pod, so only the changed pods are re-resolved; the result
equals a full build
(`tests/api/test_joins.py` compares them). Pure: no I/O.
"""

from __future__ import annotations

from bisect import insort
from typing import Any, Protocol

from k8s_optimizer.domain.objects import ObjectRef, Pod, Service
from k8s_optimizer.domain.snapshot import ClusterSnapshot

# Past this many changed pods a full build is as cheap and simpler to trust.
MAX_PATCHED_PODS = 500
_MISSING = object()

PodKey = tuple[str, str]


class ViewContext(Protocol):
    """The joins of a view (api/views.py's ViewContext): what is carried over and patched here."""

    snapshot: ClusterSnapshot
    pod_owner: dict[PodKey, ObjectRef]
    service_pods: dict[PodKey, list[Pod]]
    workload_pods: dict[tuple[str, str, str], list[Pod]]
    workload_services: dict[tuple[str, str, str], list[str]]
    pod_services: dict[PodKey, list[str]]

    def owner_of(self, pod: Pod) -> ObjectRef | None: ...


def same_objects(before: dict[Any, Any], after: dict[Any, Any]) -> bool:
    """Same keys, and every value the very same (frozen) object: nothing in it changed."""
    return before is after or (
        len(before) == len(after) and all(before.get(key, _MISSING) is value for key, value in after.items())
    )


def _replica_set_owners(snapshot: ClusterSnapshot) -> dict[tuple[str, str, str], object]:
    return {key: workload.owner for key, workload in snapshot.workloads.items() if key[0] == "ReplicaSet"}


def _manual_endpoints(snapshot: ClusterSnapshot) -> dict[PodKey, object]:
    """Endpoints of selector-less Services, the only ones the joins read (a rollout changes the others)."""
    return {key: snapshot.endpoints.get(key) for key, service in snapshot.services.items() if not service.selector}


def _changed_pods(before: dict[PodKey, Pod], after: dict[PodKey, Pod]) -> list[PodKey] | None:
    """Keys added, removed or replaced (in `after`'s order, removals last); None when too many."""
    changed = [key for key, pod in after.items() if before.get(key) is not pod]
    changed += [key for key in before if key not in after]
    return None if len(changed) > MAX_PATCHED_PODS else changed


def carry_over(previous: ViewContext, context: ViewContext) -> bool:
    """Fill `context`'s joins from `previous`, patching changed pods; False when a full build is needed."""
    before, after = previous.snapshot, context.snapshot
    if not (
        same_objects(before.services, after.services)
        and _manual_endpoints(before) == _manual_endpoints(after)
        and _replica_set_owners(before) == _replica_set_owners(after)
    ):
        return False
    changed = _changed_pods(before.pods, after.pods)
    if changed is None:
        return False
    if not changed:
        context.pod_owner, context.workload_pods = previous.pod_owner, previous.workload_pods
        context.service_pods, context.workload_services = previous.service_pods, previous.workload_services
        context.pod_services = previous.pod_services
        return True
    return _patch(previous, context, changed)


def _patch(previous: ViewContext, context: ViewContext, changed: list[PodKey]) -> bool:
    pods = context.snapshot.pods
    new_owners: dict[PodKey, ObjectRef] = {}
    for key in changed:
        pod = pods.get(key)
        owner = None if pod is None else context.owner_of(pod)
        if key in previous.snapshot.pods and pod is not None and previous.pod_owner.get(key) != owner:
            return False  # a pod that changed owner: rare enough to rebuild everything
        if owner is not None:
            new_owners[key] = owner
    context.pod_owner = dict(previous.pod_owner)
    for key in changed:
        context.pod_owner.pop(key, None)
    context.pod_owner.update(new_owners)
    context.workload_pods = _patched_workload_pods(previous, context, changed)
    context.service_pods, touched = _patched_service_pods(previous, context, changed)
    _patch_service_joins(previous, context, touched, changed)
    return True


def _owner_key(owner: ObjectRef) -> tuple[str, str, str]:
    return (owner.kind, owner.namespace, owner.name)


def _patched_workload_pods(
    previous: ViewContext, context: ViewContext, changed: list[PodKey]
) -> dict[tuple[str, str, str], list[Pod]]:
    """Lists in the snapshot's pod order: replaced in place, removed, or appended (new pods come last)."""
    pods, before = context.snapshot.pods, previous.snapshot.pods
    affected = {
        _owner_key(owner)
        for key in changed
        for owner in (previous.pod_owner.get(key), context.pod_owner.get(key))
        if owner is not None
    }
    result = dict(previous.workload_pods)
    for owner_key in affected:
        kept = [pods[k] for p in previous.workload_pods.get(owner_key, ()) if (k := (p.namespace, p.name)) in pods]
        kept += [
            pods[key]
            for key in changed
            if key in pods
            and key not in before
            and (owner := context.pod_owner.get(key)) is not None
            and _owner_key(owner) == owner_key
        ]
        if kept:
            result[owner_key] = kept
        else:
            result.pop(owner_key, None)
    return result


def _selects(service: Service, pod: Pod) -> bool:
    return all(pod.labels.get(key) == value for key, value in (service.selector or {}).items())


def _patched_service_pods(
    previous: ViewContext, context: ViewContext, changed: list[PodKey]
) -> tuple[dict[PodKey, list[Pod]], set[PodKey]]:
    """Each list stays sorted by pod name; only Services in a changed pod's namespace are looked at.

    Also returns the keys of the Services whose list was replaced (the only ones whose joins can differ).
    """
    before, after = previous.snapshot.pods, context.snapshot.pods
    by_namespace: dict[str, list[Service]] = {}
    for service in context.snapshot.services.values():
        by_namespace.setdefault(service.namespace, []).append(service)
    result = dict(previous.service_pods)
    touched: set[PodKey] = set()
    for key in changed:
        old, new = before.get(key), after.get(key)
        for service in by_namespace.get(key[0], ()):
            skey = (service.namespace, service.name)
            was = old is not None and _in_list(result.get(skey, ()), old)
            now = new is not None and (_selects(service, new) if service.selector else _named(context, skey, key))
            if not was and not now:
                continue
            pods = [p for p in result.get(skey, ()) if (p.namespace, p.name) != key]
            if now and new is not None:
                insort(pods, new, key=lambda p: p.name)
            result[skey] = pods
            touched.add(skey)
    return result, touched


def _named(context: ViewContext, service_key: PodKey, pod_key: PodKey) -> bool:
    """Selector-less Services: their hand-managed Endpoints name the pods."""
    endpoints = context.snapshot.endpoints.get(service_key)
    return endpoints is not None and any(a.pod_name == pod_key[1] for a in endpoints.addresses)


def _in_list(pods: Any, pod: Pod) -> bool:
    return any(p is pod for p in pods)


def _patch_service_joins(
    previous: ViewContext, context: ViewContext, touched: set[PodKey], changed: list[PodKey]
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
        pods.update((p.namespace, p.name) for p in context.service_pods.get(skey, ()))
    owners = {o for key in pods for o in (previous.pod_owner.get(key), context.pod_owner.get(key)) if o is not None}
    by_namespace: dict[str, list[Service]] = {}
    for service in context.snapshot.services.values():
        by_namespace.setdefault(service.namespace, []).append(service)
    context.pod_services = _patched_pod_services(previous, context, touched, pods, by_namespace)
    context.workload_services = _patched_workload_services(previous, context, touched, owners, by_namespace)


def _patched_pod_services(
    previous: ViewContext,
    context: ViewContext,
    touched: set[PodKey],
    pods: set[PodKey],
    by_namespace: dict[str, list[Service]],
) -> dict[PodKey, list[str]]:
    members = {skey: {(p.namespace, p.name) for p in context.service_pods.get(skey, ())} for skey in touched}
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
    previous: ViewContext,
    context: ViewContext,
    touched: set[PodKey],
    owners: set[ObjectRef],
    by_namespace: dict[str, list[Service]],
) -> dict[tuple[str, str, str], list[str]]:
    owners_of = {
        skey: {
            _owner_key(o)
            for p in context.service_pods.get(skey, ())
            if (o := context.pod_owner.get((p.namespace, p.name))) is not None
        }
        for skey in touched
    }
    result = dict(previous.workload_services)
    for owner in owners:
        okey = _owner_key(owner)
        before = previous.workload_services.get(okey, ())
        names = [
            service.name
            for service in by_namespace.get(owner.namespace, ())
            if (
                okey in owners_of[skey]
                if (skey := (service.namespace, service.name)) in touched
                else service.name in before
            )
        ]
        if names:
            result[okey] = names
        else:
            result.pop(okey, None)
    return result
