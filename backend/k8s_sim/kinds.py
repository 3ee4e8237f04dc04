"""Defaulting and validation of the round-two kinds, and the admission plugins that act on pods.

Why this exists: beside the core strategies in `admission.py`, a v1.31 server defaults and validates
Secrets, Jobs, CronJobs, PVCs/PVs/StorageClasses, Ingresses/IngressClasses, ResourceQuotas, LimitRanges,
ReplicationControllers and PriorityClasses, and runs admission plugins that users meet daily:
DefaultStorageClass and DefaultIngressClass, LimitRanger (container defaults), ResourceQuota (refuses
what exceeds the quota), Priority (the class must exist). Messages and field paths are kube-apiserver's,
so a manifest rejected here is rejected for the same reason on a cluster.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable

from k8s_sim import resources as r, validation
from k8s_sim.admission import Cause, default_pod_spec, invalid, qos_class, validate_pod_spec
from k8s_sim.cron import CronError, parse_schedule
from k8s_sim.store import ApiError, Obj, ObjectStore, ResourceType

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_RESTART_POLICIES = '"OnFailure", "Never"'
_ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")

Strategy = Callable[[ResourceType, Obj, Obj | None, list[Cause]], None]


# -- Secrets -----------------------------------------------------------------------------------------------
def _secret(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    obj.setdefault("type", "Opaque")
    data = obj.get("data") or {}
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    for key, value in data.items():
        if not _SECRET_KEY.match(key):
            causes.append(
                (
                    f"data[{key}]",
                    f'Invalid value: "{key}": a valid config key must consist of alphanumeric characters, '
                    "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                    "is '[-._a-zA-Z0-9]+')",
                )
            )
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            causes.append((f"data[{key}]", "Invalid value: <secret contents redacted>: illegal base64 data"))
    if data:
        obj["data"] = data
    required = {"kubernetes.io/tls": ("tls.crt", "tls.key"), "kubernetes.io/dockerconfigjson": (".dockerconfigjson",)}
    for key in required.get(obj["type"], ()):
        if key not in data:
            causes.append((f"data[{key}]", "Required value"))
    if old is not None:
        _immutable_data(obj, old, causes)


def _immutable_data(obj: Obj, old: Obj, causes: list[Cause]) -> None:
    if old.get("immutable"):
        if obj.get("data") != old.get("data"):
            causes.append(("data", "Forbidden: field is immutable when `immutable` is set"))
        if not obj.get("immutable"):
            causes.append(("immutable", "Forbidden: field is immutable when `immutable` is set"))
    if obj.get("type") != old.get("type"):
        causes.append(("type", f'Invalid value: "{obj.get("type")}": field is immutable'))


# -- Jobs and CronJobs -------------------------------------------------------------------------------------
def _job_template(template: Obj | None, path: str, causes: list[Cause]) -> None:
    if not template:
        causes.append((path, "Required value"))
        return
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    spec = template.setdefault("spec", {})
    explicit = spec.get("restartPolicy")
    default_pod_spec(spec)
    validate_pod_spec(spec, f"{path}.spec", causes)
    if explicit is None:
        causes.append((f"{path}.spec.restartPolicy", f"Required value: valid values: {_RESTART_POLICIES}"))
    elif explicit not in ("OnFailure", "Never"):
        causes.append(
            (f"{path}.spec.restartPolicy", f'Unsupported value: "{explicit}": supported values: {_RESTART_POLICIES}')
        )


def _job_spec_defaults(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec.setdefault("manualSelector", None)
    if spec["manualSelector"] is None:
        del spec["manualSelector"]


def _job(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    _job_spec_defaults(spec)
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        value = spec.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            causes.append((f"spec.{field}", f"Invalid value: {value}: must be greater than or equal to 0"))
    template = spec.get("template")
    if old is None and template is not None:
        uid = obj["metadata"].get("uid", "")
        name = obj["metadata"].get("name", "")
        generated = {JOB_UID_LABEL: uid, JOB_NAME_LABEL: name, "controller-uid": uid, "job-name": name}
        job_labels = obj["metadata"].setdefault("labels", {})
        for key, value in generated.items():
            job_labels.setdefault(key, value)
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        if not spec.get("manualSelector"):
            labels.update(generated)
            spec.setdefault("selector", {"matchLabels": {JOB_UID_LABEL: uid}})
    _job_template(template, "spec.template", causes)
    if old is not None:
        for field in ("selector", "template", "completions", "completionMode"):
            if field == "template" and _suspended_template_change(obj, old):
                continue
            if spec.get(field) != (old.get("spec") or {}).get(field):
                causes.append((f"spec.{field}", "Invalid value: field is immutable"))
    obj.setdefault("status", {})


def _suspended_template_change(obj: Obj, old: Obj) -> bool:
    """A suspended Job that never started may change its template's scheduling directives (allowed)."""
    return bool((old.get("spec") or {}).get("suspend")) and not (old.get("status") or {}).get("startTime")


def _cronjob(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(("spec.schedule", "Required value"))
    elif "TZ=" in str(schedule):
        causes.append(
            (
                "spec.schedule",
                f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
            )
        )
    else:
        try:
            parse_schedule(str(schedule))
        except CronError as error:
            causes.append(("spec.schedule", f'Invalid value: "{schedule}": {error}'))
    spec.setdefault("concurrencyPolicy", "Allow")
    if spec["concurrencyPolicy"] not in ("Allow", "Forbid", "Replace"):
        causes.append(
            (
                "spec.concurrencyPolicy",
                f'Unsupported value: "{spec["concurrencyPolicy"]}": supported values: "Allow", "Forbid", "Replace"',
            )
        )
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_spec = job_template.setdefault("spec", {})
    _job_spec_defaults(job_spec)
    _job_template(job_spec.get("template"), "spec.jobTemplate.spec.template", causes)
    obj.setdefault("status", {})


# -- storage -----------------------------------------------------------------------------------------------
def _access_modes(modes: object, path: str, causes: list[Cause]) -> None:
    if not modes:
        causes.append((path, "Required value: at least 1 access mode is required"))
        return
    for mode in modes if isinstance(modes, list) else []:
        if mode not in _ACCESS_MODES:
            supported = ", ".join(f'"{m}"' for m in _ACCESS_MODES)
            causes.append((path, f'Unsupported value: "{mode}": supported values: {supported}'))


def _pvc(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    _access_modes(spec.get("accessModes"), "spec.accessModes", causes)
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(("spec.resources[storage]", "Required value"))
    spec.setdefault("volumeMode", "Filesystem")
    if old is not None:
        old_spec = copy.deepcopy(old.get("spec") or {})
        new_spec = copy.deepcopy(spec)
        for candidate in (old_spec, new_spec):
            candidate.pop("resources", None)
            candidate.pop("volumeAttributesClassName", None)
        if not old_spec.get("volumeName"):
            new_spec.pop("volumeName", None)  # the binder fills it in
        if old_spec != new_spec:
            causes.append(
                (
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _pv(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    _access_modes(spec.get("accessModes"), "spec.accessModes", causes)
    if not (spec.get("capacity") or {}).get("storage"):
        causes.append(("spec.capacity", "Required value"))
    sources = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "awsElasticBlockStore", "gcePersistentDisk")
    if not any(spec.get(source) for source in sources):
        causes.append(("spec", "Required value: must specify a volume type"))
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Bound" if spec.get("claimRef") else "Available")


def _storageclass(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    if not obj.get("provisioner"):
        causes.append(("provisioner", "Required value"))
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")
    if old is not None:
        for field in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if obj.get(field) != old.get(field):
                causes.append((field, "Forbidden: updates to " + field + " are forbidden."))


# -- networking --------------------------------------------------------------------------------------------
def _ingress_backend(backend: Obj, path: str, causes: list[Cause]) -> None:
    service = backend.get("service")
    if service is None and backend.get("resource") is None:
        causes.append((path, 'Invalid value: "": one backend (service or resource) must be specified'))
        return
    if service is not None:
        if not service.get("name"):
            causes.append((f"{path}.service.name", "Required value"))
        port = service.get("port") or {}
        if not port.get("name") and port.get("number") is None:
            causes.append((f"{path}.service.port", 'Invalid value: "": port name or number is required'))


def _ingress(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("defaultBackend"):
        _ingress_backend(spec["defaultBackend"], "spec.defaultBackend", causes)
    rules = spec.get("rules") or []
    if not rules and not spec.get("defaultBackend"):
        causes.append(("spec.rules", "Required value: either `defaultBackend` or `rules` must be specified"))
    for index, rule in enumerate(rules):
        for number, item in enumerate(((rule.get("http") or {}).get("paths")) or ()):
            path = f"spec.rules[{index}].http.paths[{number}]"
            kind = item.get("pathType")
            if kind is None:
                causes.append((f"{path}.pathType", "Required value: pathType must be specified"))
            elif kind not in ("Exact", "Prefix", "ImplementationSpecific"):
                causes.append(
                    (
                        f"{path}.pathType",
                        f'Unsupported value: "{kind}": supported values: "Exact", "ImplementationSpecific", "Prefix"',
                    )
                )
            if kind in ("Exact", "Prefix") and not str(item.get("path", "")).startswith("/"):
                causes.append((f"{path}.path", f'Invalid value: "{item.get("path", "")}": must be an absolute path'))
            _ingress_backend(item.get("backend") or {}, f"{path}.backend", causes)
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _ingressclass(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    if not (obj.get("spec") or {}).get("controller"):
        causes.append(("spec.controller", "Required value"))


# -- policy ------------------------------------------------------------------------------------------------
_QUOTA_SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
)


def _resourcequota(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    from k8s_optimizer.domain.quantities import QuantityError, parse_quantity

    spec = obj.setdefault("spec", {})
    for name, value in (spec.get("hard") or {}).items():
        try:
            parse_quantity(str(value))
        except QuantityError:
            causes.append((f"spec.hard[{name}]", f'Invalid value: "{value}": must be a valid quantity'))
    for scope in spec.get("scopes") or ():
        if scope not in _QUOTA_SCOPES:
            causes.append(("spec.scopes", f'Unsupported value: "{scope}"'))
    obj.setdefault("status", {})


def _limitrange(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    for index, item in enumerate((obj.setdefault("spec", {}).get("limits")) or ()):
        kind = item.get("type")
        if kind not in ("Container", "Pod", "PersistentVolumeClaim"):
            causes.append(
                (
                    f"spec.limits[{index}].type",
                    f'Unsupported value: "{kind}": supported values: "Container", "PersistentVolumeClaim", "Pod"',
                )
            )
        if kind == "Pod" and (item.get("default") or item.get("defaultRequest")):
            causes.append((f"spec.limits[{index}].default", "Forbidden: may not be specified when `type` is 'Pod'"))


def _replicationcontroller(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    template = spec.get("template")
    if template is None:
        causes.append(("spec.template", "Required value"))
        return
    labels = (template.get("metadata") or {}).get("labels") or {}
    selector = spec.setdefault("selector", dict(labels))
    if not selector:
        causes.append(("spec.selector", "Required value"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            ("spec.template.metadata.labels", f"Invalid value: {labels!r}: `selector` does not match template `labels`")
        )
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    pod_spec = template.setdefault("spec", {})
    default_pod_spec(pod_spec)
    validate_pod_spec(pod_spec, "spec.template.spec", causes)
    obj.setdefault("status", {}).setdefault("replicas", 0)


def _priorityclass(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    value = obj.get("value")
    if not isinstance(value, int):
        causes.append(("value", "Required value"))
    elif value > 1_000_000_000 and not obj["metadata"].get("name", "").startswith("system-"):
        causes.append(("value", "Forbidden: maximum allowed value of a user defined priority is 1000000000"))
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")
    if old is not None and old.get("value") != value:
        causes.append(("value", "Forbidden: may not be changed in an update."))


STRATEGIES: dict[str, Strategy] = {
    r.SECRETS.key: _secret,
    r.JOBS.key: _job,
    r.CRONJOBS.key: _cronjob,
    r.PVCS.key: _pvc,
    r.PVS.key: _pv,
    r.STORAGECLASSES.key: _storageclass,
    r.INGRESSES.key: _ingress,
    r.INGRESSCLASSES.key: _ingressclass,
    r.RESOURCEQUOTAS.key: _resourcequota,
    r.LIMITRANGES.key: _limitrange,
    r.RCS.key: _replicationcontroller,
    r.PRIORITYCLASSES.key: _priorityclass,
}


def forbidden(rt: ResourceType, name: str, message: str) -> ApiError:
    group = f".{rt.group}" if rt.group else ""
    return ApiError(
        403,
        "Forbidden",
        f'{rt.plural}{group} "{name}" is forbidden: {message}',
        details={"name": name, "group": rt.group, "kind": rt.plural},
    )


class KindAdmission:
    """The round-two strategies plus the DefaultStorageClass, DefaultIngressClass, LimitRanger and Priority
    plugins (ResourceQuota is `controllers/quota.py`, installed after this)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def __call__(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        causes: list[Cause] = []
        strategy = STRATEGIES.get(rt.key)
        if rt is r.PVCS and old is None:
            self._default_storage_class(obj)
        elif rt is r.INGRESSES and old is None:
            self._default_ingress_class(obj)
        elif rt is r.PODS and old is None:
            self._pod_admission(obj)
        if strategy is not None:
            strategy(rt, obj, old, causes)
        found = validation.pod_spec_of(rt, obj) if old is None or obj.get("spec") != old.get("spec") else None
        if found is not None:
            validation.check_pod_spec(found[0], found[1], causes)
        if rt is r.SERVICES:
            validation.check_service(obj, old, causes)
        validation.check_update(rt, old, obj, causes)
        if causes:
            raise invalid(rt, str(obj["metadata"].get("name", "")), causes)

    def _default_storage_class(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if "storageClassName" in spec:
            return
        for sc in self.store.list_objects(r.STORAGECLASSES):
            if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
                spec["storageClassName"] = sc["metadata"]["name"]
                return

    def _default_ingress_class(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("ingressClassName"):
            return
        for ic in self.store.list_objects(r.INGRESSCLASSES):
            if (ic["metadata"].get("annotations") or {}).get(DEFAULT_INGRESS_CLASS_ANNOTATION) == "true":
                spec["ingressClassName"] = ic["metadata"]["name"]
                return

    def _pod_admission(self, pod: Obj) -> None:
        spec = pod.setdefault("spec", {})
        self._priority(pod, spec)
        if self._limit_range_defaults(pod["metadata"].get("namespace", ""), spec):
            pod.setdefault("status", {})["qosClass"] = qos_class(spec)

    def _priority(self, pod: Obj, spec: Obj) -> None:
        name = spec.get("priorityClassName")
        if not name:
            return
        found = self.store.get(r.PRIORITYCLASSES, "", str(name))
        if found is None:
            raise forbidden(r.PODS, pod["metadata"].get("name", ""), f"no PriorityClass with name {name} was found")
        spec["priority"] = found.get("value", 0)
        spec["preemptionPolicy"] = found.get("preemptionPolicy", "PreemptLowerPriority")

    def _limit_range_defaults(self, namespace: str, spec: Obj) -> bool:
        """LimitRanger: containers without limits/requests get the namespace's Container defaults."""
        changed = False
        if not self.store.count(r.LIMITRANGES):
            return False
        for limit_range in self.store.list_objects(r.LIMITRANGES, namespace):
            for item in (limit_range.get("spec") or {}).get("limits") or ():
                if item.get("type") != "Container":
                    continue
                for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
                    changed |= _apply_container_defaults(container, item)
        return changed


def _apply_container_defaults(container: Obj, item: Obj) -> bool:
    resources = container.setdefault("resources", {})
    changed = False
    for field, source in (("limits", "default"), ("requests", "defaultRequest")):
        for name, value in (item.get(source) or {}).items():
            current = resources.setdefault(field, {})
            if name not in current:
                current[name] = value
                changed = True
    # as the API defaults do: a request still missing defaults to the (possibly just defaulted) limit
    for name, value in (resources.get("limits") or {}).items():
        requests = resources.setdefault("requests", {})
        if name not in requests:
            requests[name] = value
            changed = True
    return changed
