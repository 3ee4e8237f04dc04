"""Table printers of the round-two kinds (Secret, Job, CronJob, PVC, PV, StorageClass, ResourceQuota, Ingress),
with the real server's columns, so `kubectl get jobs` shows COMPLETIONS and `kubectl get pvc` STATUS/VOLUME."""

from __future__ import annotations

from typing import Any

from k8s_sim.controllers.base import parse_time
from k8s_sim.store import Obj

Column = tuple[str, str, int]
_S, _I = "string", "integer"


def _age(obj: Obj, now: float) -> str:
    from k8s_sim.tables import age

    return age(obj, now)


def _duration(seconds: float) -> str:
    from k8s_sim.tables import human_duration

    return human_duration(seconds)


def _secret(obj: Obj, now: float) -> list[Any]:
    return [obj["metadata"]["name"], obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _job_status(obj: Obj) -> str:
    status = obj.get("status") or {}
    for condition in status.get("conditions") or ():
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed", "Suspended"):
            return str(condition["type"])
    return "Running"


def _job(obj: Obj, now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    completions = f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("completionTime")) or now
    duration = _duration(end - start) if start is not None else ""
    return [obj["metadata"]["name"], _job_status(obj), completions, duration, _age(obj, now)]


def _cronjob(obj: Obj, now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = parse_time(status.get("lastScheduleTime"))
    return [
        obj["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        str(bool(spec.get("suspend"))),
        len(status.get("active") or ()),
        _duration(now - last) if last is not None else "<none>",
        _age(obj, now),
    ]


def _modes(modes: list[str]) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(mode, mode) for mode in modes)


def _pvc(obj: Obj, now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        status.get("phase", "Pending"),
        spec.get("volumeName", ""),
        (status.get("capacity") or {}).get("storage", ""),
        _modes(status.get("accessModes") or []),
        spec.get("storageClassName") or "",
        spec.get("volumeAttributesClassName") or "<unset>",
        _age(obj, now),
    ]


def _pv(obj: Obj, now: float) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("claimRef") or {}
    return [
        obj["metadata"]["name"],
        (spec.get("capacity") or {}).get("storage", ""),
        _modes(spec.get("accessModes") or []),
        spec.get("persistentVolumeReclaimPolicy", ""),
        status.get("phase", ""),
        f"{ref['namespace']}/{ref['name']}" if ref else "",
        spec.get("storageClassName", ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason", ""),
        _age(obj, now),
    ]


def _storageclass(obj: Obj, now: float) -> list[Any]:
    default = (obj["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    return [
        obj["metadata"]["name"] + (" (default)" if default else ""),
        obj.get("provisioner", ""),
        obj.get("reclaimPolicy", ""),
        obj.get("volumeBindingMode", ""),
        bool(obj.get("allowVolumeExpansion")),
        _age(obj, now),
    ]


def _quota(obj: Obj, now: float) -> list[Any]:
    status = obj.get("status") or {}
    used, hard = status.get("used") or {}, status.get("hard") or {}
    requests = ", ".join(f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if not k.startswith("limits."))
    limits = ", ".join(f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if k.startswith("limits."))
    return [obj["metadata"]["name"], _age(obj, now), requests, limits]


def _ingress(obj: Obj, now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    hosts = [rule.get("host") or "*" for rule in spec.get("rules") or ()]
    ports = "80, 443" if spec.get("tls") else "80"
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    return [
        obj["metadata"]["name"],
        spec.get("ingressClassName") or "<none>",
        ",".join(hosts) or "*",
        address,
        ports,
        _age(obj, now),
    ]


_NAME: Column = ("Name", _S, 0)
_AGE: Column = ("Age", _S, 0)
PRINTERS: dict[str, tuple[tuple[Column, ...], Any]] = {
    "Secret": ((_NAME, ("Type", _S, 0), ("Data", _I, 0), _AGE), _secret),
    "Job": ((_NAME, ("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), _AGE), _job),
    "CronJob": (
        (_NAME, ("Schedule", _S, 0), ("Timezone", _S, 0), ("Suspend", "boolean", 0), ("Active", _I, 0),
         ("Last Schedule", _S, 0), _AGE),
        _cronjob,
    ),
    "PersistentVolumeClaim": (
        (_NAME, ("Status", _S, 0), ("Volume", _S, 0), ("Capacity", _S, 0), ("Access Modes", _S, 0),
         ("StorageClass", _S, 0), ("VolumeAttributesClass", _S, 0), _AGE),
        _pvc,
    ),
    "PersistentVolume": (
        (_NAME, ("Capacity", _S, 0), ("Access Modes", _S, 0), ("Reclaim Policy", _S, 0), ("Status", _S, 0),
         ("Claim", _S, 0), ("StorageClass", _S, 0), ("VolumeAttributesClass", _S, 0), ("Reason", _S, 0), _AGE),
        _pv,
    ),
    "StorageClass": (
        (_NAME, ("Provisioner", _S, 0), ("ReclaimPolicy", _S, 0), ("VolumeBindingMode", _S, 0),
         ("AllowVolumeExpansion", "boolean", 0), _AGE),
        _storageclass,
    ),
    "ResourceQuota": ((_NAME, _AGE, ("Request", _S, 0), ("Limit", _S, 0)), _quota),
    "Ingress": (
        (_NAME, ("Class", _S, 0), ("Hosts", _S, 0), ("Address", _S, 0), ("Ports", _S, 0), _AGE),
        _ingress,
    ),
}  # fmt: skip
