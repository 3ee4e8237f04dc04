"""ResourceQuota: usage in `status.used` (the quota controller) and refusal of what would exceed it (admission).

Tracked: `pods`, `requests.cpu`/`cpu`, `requests.memory`/`memory`, `limits.cpu`, `limits.memory` of
non-terminal pods, object counts (`services`, `services.nodeports`, `services.loadbalancers`, `secrets`,
`configmaps`, `persistentvolumeclaims`, `replicationcontrollers`, `resourcequotas`, `count/<plural>[.<group>]`)
and `requests.storage` of claims. A create that would exceed a hard limit is a 403 with kube-apiserver's
"exceeded quota" message; a pod without a request or limit a quota constrains is refused with "must
specify". Workload controllers then record `FailedCreate`, exactly what users see on a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable

from k8s_optimizer.domain.quantities import QuantityError, parse_cpu_millicores, parse_memory_bytes
from k8s_sim import resources as r
from k8s_sim.kinds import forbidden
from k8s_sim.store import Obj, ObjectStore, ResourceType, WatchEvent

_CPU = {"requests.cpu", "cpu", "limits.cpu"}
_MEMORY = {"requests.memory", "memory", "limits.memory", "requests.storage"}
_COUNTED = {
    r.SERVICES.key: "services",
    r.SECRETS.key: "secrets",
    r.CONFIGMAPS.key: "configmaps",
    r.PVCS.key: "persistentvolumeclaims",
    r.RCS.key: "replicationcontrollers",
    r.RESOURCEQUOTAS.key: "resourcequotas",
    r.PODS.key: "pods",
}


def _amount(name: str, text: object) -> int:
    """A quota quantity in its unit: millicores for CPU, bytes for memory/storage, milli-units for counts."""
    try:
        if name in _CPU:
            return parse_cpu_millicores(str(text))
        if name in _MEMORY:
            return parse_memory_bytes(str(text))
        return parse_cpu_millicores(str(text))  # counts: "10" → 10000 (milli-units keep "1.5" honest)
    except (QuantityError, ValueError):
        return 0


def render(name: str, amount: int) -> str:
    if name in _MEMORY:
        for suffix, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if amount and amount % size == 0:
                return f"{amount // size}{suffix}"
        return str(amount)
    return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"


def _count_names(rt: ResourceType) -> list[str]:
    names = [f"count/{rt.plural}.{rt.group}" if rt.group else f"count/{rt.plural}"]
    if rt.key in _COUNTED:
        names.append(_COUNTED[rt.key])
    return names


def _pod_usage(pod: Obj) -> dict[str, int]:
    usage: dict[str, int] = {}
    for container in (pod.get("spec") or {}).get("containers") or ():
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource, value in (resources.get(kind) or {}).items():
                if resource in ("cpu", "memory"):
                    name = f"{kind}.{resource}"
                    usage[name] = usage.get(name, 0) + _amount(name, value)
    for plain in ("cpu", "memory"):
        usage[plain] = usage.get(f"requests.{plain}", 0)
    return usage


def usage_of(rt: ResourceType, obj: Obj) -> dict[str, int]:
    """What one object adds to a quota's `used`."""
    if rt is r.PODS and (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return {}
    usage = dict.fromkeys(_count_names(rt), 1000)
    if rt is r.PODS:
        usage.update(_pod_usage(obj))
    elif rt is r.SERVICES:
        kind = (obj.get("spec") or {}).get("type")
        ports = len((obj.get("spec") or {}).get("ports") or ())
        if kind in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = ports * 1000
        if kind == "LoadBalancer":
            usage["services.loadbalancers"] = 1000
    elif rt is r.PVCS:
        storage = (((obj.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0")
        usage["requests.storage"] = _amount("requests.storage", storage)
    return usage


def _missing(pod: Obj, hard: Iterable[str]) -> str:
    """kube-apiserver's "must specify" list for constrained resources a container does not set."""
    parts = []
    for name in sorted(n for n in hard if n in ("limits.cpu", "limits.memory", "requests.cpu", "requests.memory")):
        kind, resource = name.split(".")
        lacking = [
            c.get("name", "")
            for c in (pod.get("spec") or {}).get("containers") or ()
            if resource not in ((c.get("resources") or {}).get(kind) or {})
        ]
        if lacking:
            parts.append(f"{name} for: {','.join(lacking)}")
    return "; ".join(parts)


class QuotaController:
    """Keeps every ResourceQuota's status current and is the ResourceQuota admission plugin."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.dirty: set[str] = set()  # namespaces whose quotas need recounting
        self._quota_namespaces: set[str] = set()
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        namespace = event.object["metadata"].get("namespace", "")
        if event.resource is r.RESOURCEQUOTAS:
            self._quota_namespaces.add(namespace)
            self.dirty.add(namespace)
        elif namespace in self._quota_namespaces:
            self.dirty.add(namespace)

    # -- admission -------------------------------------------------------------------------------------
    def __call__(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        namespace = obj["metadata"].get("namespace", "")
        if old is not None or not rt.namespaced or namespace not in self._quota_namespaces:
            return
        adds = usage_of(rt, obj)
        name = obj["metadata"].get("name", "")
        for quota in self.store.list_objects(r.RESOURCEQUOTAS, namespace):
            hard = (quota.get("spec") or {}).get("hard") or {}
            if rt is r.PODS:
                lacking = _missing(obj, hard)
                if lacking:
                    raise forbidden(rt, name, f"failed quota: {quota['metadata']['name']}: must specify {lacking}")
            used = self._used(namespace)
            over = sorted(n for n in hard if n in adds and used.get(n, 0) + adds[n] > _amount(n, hard[n]))
            if over:
                raise forbidden(
                    rt,
                    name,
                    f"exceeded quota: {quota['metadata']['name']}, "
                    f"requested: {','.join(f'{n}={render(n, adds[n])}' for n in over)}, "
                    f"used: {','.join(f'{n}={render(n, used.get(n, 0))}' for n in over)}, "
                    f"limited: {','.join(f'{n}={hard[n]}' for n in over)}",
                )

    # -- status ----------------------------------------------------------------------------------------
    def _used(self, namespace: str) -> dict[str, int]:
        used: dict[str, int] = {}
        for rt in self.store.types():
            if not rt.namespaced or "list" not in rt.verbs or rt.group == "metrics.k8s.io" or rt is r.EVENTS:
                continue
            for obj in self.store.list_objects(rt, namespace):
                for name, amount in usage_of(rt, obj).items():
                    used[name] = used.get(name, 0) + amount
        return used

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        for namespace in work:
            quotas = self.store.list_objects(r.RESOURCEQUOTAS, namespace)
            if not quotas:
                continue
            used = self._used(namespace)
            for quota in quotas:
                wrote |= self._write(quota, used)
        return wrote

    def _write(self, quota: Obj, used: dict[str, int]) -> bool:
        hard = dict((quota.get("spec") or {}).get("hard") or {})

        def change(obj: Obj) -> None:
            obj["status"] = {"hard": hard, "used": {name: render(name, used.get(name, 0)) for name in hard}}

        before = quota["metadata"]["resourceVersion"]
        after = self.store.mutate(r.RESOURCEQUOTAS, quota["metadata"]["namespace"], quota["metadata"]["name"], change)
        return after is not None and after["metadata"]["resourceVersion"] != before
