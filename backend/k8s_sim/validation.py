"""The stricter half of kube-apiserver's validation: what `admission.py` let through and a cluster refuses.

- pod specs (Pods and every template): duplicate container names and port names, enum fields
  (restartPolicy, dnsPolicy, imagePullPolicy, protocol), malformed node/pod affinity;
- Services: IP families a single-stack IPv4 cluster does not have, nodePorts on a ClusterIP Service
  (and, on an update that changes the type to ClusterIP, the allocated nodePorts are dropped instead);
- updates by clients (checked on the HTTP write path only, so controllers may still bind and write
  status): immutable selectors of Deployments/ReplicaSets/DaemonSets/StatefulSets, the StatefulSet spec
  fields that may not change (volumeClaimTemplates, serviceName, …), and the Pod fields that may not.
Messages and field paths are the real server's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from k8s_sim import resources as r
from k8s_sim.admission import Cause
from k8s_sim.store import Obj, ResourceType

_TEMPLATED = frozenset(rt.key for rt in (r.DEPLOYMENTS, r.REPLICASETS, r.STATEFULSETS, r.DAEMONSETS, r.JOBS, r.RCS))
_SELECTOR_IMMUTABLE = frozenset(rt.key for rt in (r.DEPLOYMENTS, r.REPLICASETS, r.DAEMONSETS, r.STATEFULSETS))
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_ENUMS = {
    "restartPolicy": ("Always", "OnFailure", "Never"),
    "dnsPolicy": ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
}
_POD_UPDATE_MESSAGE = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
    "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)"
)
_STS_UPDATE_MESSAGE = (
    "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _supported(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in sorted(values))


# -- pod specs -----------------------------------------------------------------------------------------
def pod_spec_of(rt: ResourceType, obj: Obj) -> tuple[Obj, str] | None:
    spec = obj.get("spec") or {}
    if rt is r.PODS:
        return spec, "spec"
    if rt is r.CRONJOBS:
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return template.get("spec") or {}, "spec.jobTemplate.spec.template.spec"
    if rt.key in _TEMPLATED:
        return (spec.get("template") or {}).get("spec") or {}, "spec.template.spec"
    return None


def check_pod_spec(spec: Obj, path: str, causes: list[Cause]) -> None:
    for field, allowed in _ENUMS.items():
        value = spec.get(field)
        if value is not None and value not in allowed:
            causes.append((f"{path}.{field}", f'Unsupported value: "{value}": supported values: {_supported(allowed)}'))
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or ()):
            where = f"{path}.{group}[{index}]"
            name = str(container.get("name", ""))
            if name and name in names:
                causes.append((f"{where}.name", f'Duplicate value: "{name}"'))
            names.add(name)
            _container(container, where, causes)
    _affinity(spec.get("affinity") or {}, f"{path}.affinity", causes)


def _container(container: Obj, where: str, causes: list[Cause]) -> None:
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        allowed = ("Always", "IfNotPresent", "Never")
        causes.append(
            (f"{where}.imagePullPolicy", f'Unsupported value: "{policy}": supported values: {_supported(allowed)}')
        )
    port_names: set[str] = set()
    for number, port in enumerate(container.get("ports") or ()):
        name = port.get("name")
        if name:
            if name in port_names:
                causes.append((f"{where}.ports[{number}].name", f'Duplicate value: "{name}"'))
            port_names.add(str(name))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
            allowed = ("SCTP", "TCP", "UDP")
            causes.append(
                (
                    f"{where}.ports[{number}].protocol",
                    f'Unsupported value: "{protocol}": supported values: {_supported(allowed)}',
                )
            )


def _expressions(expressions: Any, path: str, operators: tuple[str, ...], causes: list[Cause]) -> None:
    for index, expression in enumerate(expressions or ()):
        where = f"{path}[{index}]"
        operator = expression.get("operator")
        values = expression.get("values") or []
        if operator not in operators:
            causes.append((f"{where}.operator", f'Invalid value: "{operator}": not a valid selector operator'))
        elif operator in ("In", "NotIn") and not values:
            causes.append((f"{where}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist") and values:
            causes.append(
                (f"{where}.values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
            )
        elif operator in ("Gt", "Lt") and len(values) != 1:
            causes.append(
                (f"{where}.values", "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'")
            )


def _affinity(affinity: Obj, path: str, causes: list[Cause]) -> None:
    node = (affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if node is not None:
        where = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        terms = node.get("nodeSelectorTerms") or []
        if not terms:
            causes.append((where, "Required value: must have at least one node selector term"))
        for index, term in enumerate(terms):
            _expressions(term.get("matchExpressions"), f"{where}[{index}].matchExpressions", _NODE_OPERATORS, causes)
    for kind in ("podAffinity", "podAntiAffinity"):
        section = affinity.get(kind) or {}
        for index, term in enumerate(section.get("requiredDuringSchedulingIgnoredDuringExecution") or ()):
            where = f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{index}]"
            if not term.get("topologyKey"):
                causes.append((f"{where}.topologyKey", "Required value: can not be empty"))
            selector = term.get("labelSelector") or {}
            _expressions(
                selector.get("matchExpressions"), f"{where}.labelSelector.matchExpressions", _SELECTOR_OPERATORS, causes
            )


# -- services ------------------------------------------------------------------------------------------
def check_service(obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.get("spec") or {}
    for index, family in enumerate(spec.get("ipFamilies") or ()):
        if family == "IPv6":
            causes.append((f"spec.ipFamilies[{index}]", 'Invalid value: "IPv6": not configured on this cluster'))
        elif family != "IPv4":
            causes.append(
                (f"spec.ipFamilies[{index}]", f'Unsupported value: "{family}": supported values: "IPv4", "IPv6"')
            )
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        causes.append(
            (
                "spec.ipFamilyPolicy",
                'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
            )
        )
    kind = spec.get("type", "ClusterIP")
    if kind not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        allowed = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
        causes.append(("spec.type", f'Unsupported value: "{kind}": supported values: {_supported(allowed)}'))
    if kind == "ExternalName" and not spec.get("externalName"):
        causes.append(("spec.externalName", "Required value"))
    if kind in ("ClusterIP", "ExternalName"):
        _drop_or_refuse_node_ports(spec, old, kind, causes)


def _drop_or_refuse_node_ports(spec: Obj, old: Obj | None, kind: str, causes: list[Cause]) -> None:
    """nodePorts belong to NodePort/LoadBalancer; a type change away drops the allocated ones (as upstream)."""
    old_spec = (old or {}).get("spec") or {}
    allocated = {p.get("nodePort") for p in old_spec.get("ports") or () if p.get("nodePort")}
    was_node_port = old_spec.get("type") in ("NodePort", "LoadBalancer")
    for index, port in enumerate(spec.get("ports") or ()):
        node_port = port.get("nodePort")
        if not node_port:
            continue
        if was_node_port and node_port in allocated:
            del port["nodePort"]
        else:
            causes.append((f"spec.ports[{index}].nodePort", f"Forbidden: may not be used when `type` is '{kind}'"))
    if was_node_port:
        spec.pop("externalTrafficPolicy", None)


# -- updates by clients ----------------------------------------------------------------------------------
def _go_selector(selector: Obj | None) -> str:
    labels = ", ".join(f'"{k}":"{v}"' for k, v in sorted(((selector or {}).get("matchLabels") or {}).items()))
    expressions = (selector or {}).get("matchExpressions")
    rendered = (
        "[]v1.LabelSelectorRequirement(nil)"
        if not expressions
        else f"[]v1.LabelSelectorRequirement{{...{len(expressions)}}}"
    )
    return f"v1.LabelSelector{{MatchLabels:map[string]string{{{labels}}}, MatchExpressions:{rendered}}}"


def update_causes(rt: ResourceType, current: Obj, proposed: Obj) -> list[Cause]:
    """What a client may not change in an update (the status subresource excepted)."""
    causes: list[Cause] = []
    new_spec, old_spec = proposed.get("spec") or {}, current.get("spec") or {}
    if rt.key in _SELECTOR_IMMUTABLE and new_spec.get("selector") != old_spec.get("selector"):
        causes.append(("spec.selector", f"Invalid value: {_go_selector(new_spec.get('selector'))}: field is immutable"))
    if rt is r.STATEFULSETS:
        strip = {k: v for k, v in new_spec.items() if k not in _STS_MUTABLE}
        before = {k: v for k, v in old_spec.items() if k not in _STS_MUTABLE}
        if strip != before and not causes:
            causes.append(("spec", _STS_UPDATE_MESSAGE))
    if rt is r.PODS and _pod_spec_changed(old_spec, new_spec):
        causes.append(("spec", _POD_UPDATE_MESSAGE))
    return causes


def _pod_spec_changed(old: Obj, new: Obj) -> bool:
    """Compare with the mutable fields masked out (images, activeDeadlineSeconds, added tolerations)."""
    before, after = copy.deepcopy(old), copy.deepcopy(new)
    for spec in (before, after):
        for group in ("containers", "initContainers"):
            for container in spec.get(group) or ():
                container.pop("image", None)
        spec.pop("activeDeadlineSeconds", None)
        spec.pop("terminationGracePeriodSeconds", None)
        spec.pop("nodeName", None)  # bindings set it (the binding subresource on a cluster)
    old_tolerations = before.pop("tolerations", None) or []
    new_tolerations = after.pop("tolerations", None) or []
    if any(t not in new_tolerations for t in old_tolerations):
        return True
    for field in ("schedulingGates",):  # gates may only be removed
        if any(g not in (before.get(field) or []) for g in after.get(field) or []):
            return True
        before.pop(field, None)
        after.pop(field, None)
    return before != after


# Set while a client's update (not a controller's, not a status write) passes admission: the update rules
# compare the defaulted object with the stored one, so they run inside admission, after the defaults.
_CLIENT_UPDATE: ContextVar[bool] = ContextVar("client_update", default=False)


@contextmanager
def client_update(active: bool) -> Iterator[None]:
    token = _CLIENT_UPDATE.set(active)
    try:
        yield
    finally:
        _CLIENT_UPDATE.reset(token)


def check_update(rt: ResourceType, current: Obj | None, proposed: Obj, causes: list[Cause]) -> None:
    """Called by admission: the update rules, for clients' updates only."""
    if current is not None and _CLIENT_UPDATE.get():
        causes.extend(update_causes(rt, current, proposed))
