"""Defaulting and validation, as the API server's registry strategies and admission plugins do them.

Why this exists: real clients (kubernetes_asyncio validates models on deserialisation, kubectl prints
defaulted fields) and the optimizer's checks expect objects to come back *complete*: a Pod with
`restartPolicy`, `imagePullPolicy` and `terminationMessagePath`, a Deployment with its RollingUpdate
strategy, a Service with an allocated ClusterIP and NodePorts, an HPA with its default metric. Bad input
is rejected with the API server's 422 `Invalid` Status naming the field paths.

`Admission(store)` is installed with `store.add_admission(admission)`; it also listens for Service
deletions to release ClusterIPs and NodePorts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from k8s_optimizer.domain.quantities import QuantityError, parse_quantity
from k8s_sim import resources as r
from k8s_sim.store import ApiError, Obj, ObjectStore, ResourceType, WatchEvent

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767
# Pods get these tolerations from the DefaultTolerationSeconds admission plugin.
_DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]

Cause = tuple[str, str]  # (field path, message)


def invalid(rt: ResourceType, name: str, causes: list[Cause]) -> ApiError:
    """A 422 Invalid error like the API server's: every cause names its field."""
    group = f".{rt.group}" if rt.group else ""
    text = "; ".join(f"{path}: {message}" for path, message in causes)
    return ApiError(
        422,
        "Invalid",
        f'{rt.kind}{group} "{name}" is invalid: {text}',
        details={
            "name": name,
            "group": rt.group,
            "kind": rt.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": m, "field": p} for p, m in causes],
        },
    )


# -- pod specs ---------------------------------------------------------------------------------------------
def _pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_probe(probe: Obj | None) -> None:
    if not probe:
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        probe.setdefault(key, value)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")
        probe["httpGet"].setdefault("path", "/")


def _default_container(container: Obj) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", _pull_policy(str(container.get("image", ""))))
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if limits:  # limits without requests: the requests default to the limits
        requests = resources.setdefault("requests", {})
        for key, value in limits.items():
            requests.setdefault(key, value)
    for port in container.get("ports") or ():
        port.setdefault("protocol", "TCP")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        _default_probe(container.get(probe))


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec + container defaults (shared by Pods and every pod template)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        _default_container(container)


def _validate_quantities(container: Obj, path: str, causes: list[Cause]) -> None:
    resources = container.get("resources") or {}
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("requests", "limits"):
        for resource, value in (resources.get(kind) or {}).items():
            try:
                parsed.setdefault(kind, {})[resource] = parse_quantity(value)
            except QuantityError:
                causes.append((f"{path}.resources.{kind}[{resource}]", f"Invalid value: {value!r}: must be a quantity"))
    for resource, limit in parsed.get("limits", {}).items():
        request = parsed.get("requests", {}).get(resource)
        if request is not None and request > limit:
            causes.append(
                (f"{path}.resources.requests", f"Invalid value: must be less than or equal to {resource} limit")
            )


def _validate_container(container: Obj, path: str, causes: list[Cause]) -> None:
    name = container.get("name")
    if not name:
        causes.append((f"{path}.name", "Required value"))
    elif not _DNS1123_LABEL.match(str(name)):
        causes.append(
            (
                f"{path}.name",
                f"Invalid value: {name!r}: a lowercase RFC 1123 label must consist of "
                "lower case alphanumeric characters or '-'",
            )
        )
    if not container.get("image"):
        causes.append((f"{path}.image", "Required value"))
    for index, port in enumerate(container.get("ports") or ()):
        number = port.get("containerPort")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (
                    f"{path}.ports[{index}].containerPort",
                    f"Invalid value: {number!r}: must be between 1 and 65535, inclusive",
                )
            )
    _validate_quantities(container, path, causes)


def validate_pod_spec(spec: Obj, path: str, causes: list[Cause]) -> None:
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{path}.containers", "Required value"))
        return
    for index, container in enumerate(containers):
        _validate_container(container, f"{path}.containers[{index}]", causes)


# -- per-kind strategies ---------------------------------------------------------------------------------
def _match_labels(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_match_expression(expression, labels) for expression in selector.get("matchExpressions") or ())


def _match_expression(expression: Obj, labels: dict[str, str]) -> bool:
    key, operator, values = expression.get("key", ""), expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Public for controllers: an empty or missing selector matches nothing (workload semantics)."""
    if not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        return False
    return _match_labels(selector, labels)


def _workload_common(rt: ResourceType, obj: Obj, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    template = spec.get("template")
    if template is None:
        causes.append(("spec.template", "Required value"))
        return
    selector = spec.get("selector")
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    elif not _match_labels(selector, labels):
        causes.append(
            ("spec.template.metadata.labels", f"Invalid value: {labels!r}: `selector` does not match template `labels`")
        )
    template.setdefault("metadata", {})
    template["metadata"].setdefault("creationTimestamp", None)
    pod_spec = template.setdefault("spec", {})
    default_pod_spec(pod_spec)
    validate_pod_spec(pod_spec, "spec.template.spec", causes)
    obj.setdefault("status", {})


def _deployment(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1 if old is None else old["spec"].get("replicas", 1))
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _replicas_valid(spec, causes)
    _workload_common(rt, obj, causes)


def _replicas_valid(spec: Obj, causes: list[Cause]) -> None:
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        causes.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))


def _replicaset(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _replicas_valid(spec, causes)
    _workload_common(rt, obj, causes)
    obj["status"].setdefault("replicas", 0)


def _statefulset(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("serviceName", "")
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _replicas_valid(spec, causes)
    _workload_common(rt, obj, causes)
    obj["status"].setdefault("replicas", 0)
    obj["status"].setdefault("availableReplicas", 0)


def _daemonset(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    _workload_common(rt, obj, causes)
    status = obj["status"]
    for key in ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady"):
        status.setdefault(key, 0)


def _pod(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for toleration in _DEFAULT_TOLERATIONS:
        if not any(t.get("key") == toleration["key"] for t in tolerations):
            tolerations.append(dict(toleration))
    validate_pod_spec(spec, "spec", causes)
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def qos_class(spec: Obj) -> str:
    """Guaranteed / Burstable / BestEffort, from the containers' requests and limits."""
    containers = spec.get("containers") or []
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        any_set = any_set or bool(requests) or bool(limits)
        for resource in ("cpu", "memory"):
            if resource not in limits or requests.get(resource, limits.get(resource)) != limits[resource]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _namespace(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    name = obj["metadata"]["name"]
    labels = obj["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/metadata.name", name)
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _hpa(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    _hpa_behavior(spec.get("behavior"))
    _hpa_tolerances(spec.get("behavior"), causes)
    target = spec.get("scaleTargetRef") or {}
    if not target.get("name"):
        causes.append(("spec.scaleTargetRef.name", "Required value"))
    if not target.get("kind"):
        causes.append(("spec.scaleTargetRef.kind", "Required value"))
    maximum = spec.get("maxReplicas")
    if not isinstance(maximum, int) or maximum < 1:
        causes.append(("spec.maxReplicas", f"Invalid value: {maximum!r}: must be greater than 0"))
    elif isinstance(spec["minReplicas"], int) and spec["minReplicas"] > maximum:
        causes.append(("spec.maxReplicas", f"Invalid value: {maximum}: must be greater than or equal to `minReplicas`"))
    status = obj.setdefault("status", {})
    status.setdefault("currentReplicas", 0)
    status.setdefault("desiredReplicas", 0)


def _hpa_tolerances(behavior: Obj | None, causes: list[Cause]) -> None:
    """`behavior.*.tolerance` is a Kubernetes quantity ("50m", "0.05"), never negative."""
    for direction in ("scaleUp", "scaleDown"):
        value = ((behavior or {}).get(direction) or {}).get("tolerance")
        if value is None:
            continue
        try:
            negative = parse_quantity(value) < 0
        except (QuantityError, TypeError):
            causes.append((f"spec.behavior.{direction}.tolerance", f"Invalid value: {value!r}: not a quantity"))
            continue
        if negative:
            causes.append((f"spec.behavior.{direction}.tolerance", f"Invalid value: {value!r}: must be non-negative"))


def _hpa_behavior(behavior: Obj | None) -> None:
    if behavior is None:
        return
    up = behavior.setdefault("scaleUp", {})
    up.setdefault("stabilizationWindowSeconds", 0)
    up.setdefault("selectPolicy", "Max")
    up.setdefault(
        "policies",
        [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}],
    )
    down = behavior.setdefault("scaleDown", {})
    down.setdefault("selectPolicy", "Max")
    down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def _pdb(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    spec = obj.setdefault("spec", {})
    if "minAvailable" in spec and "maxUnavailable" in spec:
        causes.append(("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set"))
    status = obj.setdefault("status", {})
    for key in ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods"):
        status.setdefault(key, 0)


def _event(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    if not obj.get("involvedObject"):
        causes.append(("involvedObject", "Required value"))
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)
    obj.setdefault("source", {})
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


def _endpointslice(rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
    if not obj.get("addressType"):
        causes.append(("addressType", "Required value"))
    obj.setdefault("endpoints", [])


_Strategy = Callable[[ResourceType, Obj, Obj | None, list[Cause]], None]


class Admission:
    """Mutating + validating admission for every served type (see module docstring)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._cluster_ips: set[str] = set()
        self._node_ports: set[tuple[int, str]] = set()
        # committed allocations per Service: recorded from the change feed, so dry-run writes reserve nothing
        self._held: dict[tuple[str, str], tuple[str, set[tuple[int, str]]]] = {}
        self._next_ip = int(SERVICE_CIDR.network_address) + 11  # .1 kubernetes, .10 kube-dns are reserved
        self._next_port = NODE_PORT_MIN
        self._strategies: dict[str, _Strategy] = {
            r.DEPLOYMENTS.key: _deployment,
            r.REPLICASETS.key: _replicaset,
            r.STATEFULSETS.key: _statefulset,
            r.DAEMONSETS.key: _daemonset,
            r.PODS.key: _pod,
            r.NAMESPACES.key: _namespace,
            r.HPAS.key: _hpa,
            r.PDBS.key: _pdb,
            r.EVENTS.key: _event,
            r.ENDPOINTSLICES.key: _endpointslice,
            r.SERVICES.key: self._service,
        }
        store.add_listener(self._on_event)

    def __call__(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        causes: list[Cause] = []
        meta = obj.setdefault("metadata", {})
        self._validate_name(rt, meta, causes)
        strategy = self._strategies.get(rt.key)
        if strategy is not None and not causes:
            strategy(rt, obj, old, causes)
        if causes:
            raise invalid(rt, str(meta.get("name", "")), causes)

    @staticmethod
    def _validate_name(rt: ResourceType, meta: Obj, causes: list[Cause]) -> None:
        name = str(meta.get("name", ""))
        pattern, what = _DNS1123_SUBDOMAIN, "a lowercase RFC 1123 subdomain"
        if rt in (r.NAMESPACES,):
            pattern, what = _DNS1123_LABEL, "a lowercase RFC 1123 label"
        elif rt == r.SERVICES:
            pattern, what = _DNS1035_LABEL, "a DNS-1035 label"
        if len(name) > 253 or not pattern.match(name):
            causes.append(
                (
                    "metadata.name",
                    f"Invalid value: {name!r}: {what} must consist of lower case alphanumeric characters or '-'",
                )
            )

    # -- services: ClusterIP and NodePort allocation ----------------------------------------------------
    def _service(self, rt: ResourceType, obj: Obj, old: Obj | None, causes: list[Cause]) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        ports = spec.get("ports") or []
        if not ports and spec["type"] != "ExternalName":
            causes.append(("spec.ports", "Required value"))
        for index, port in enumerate(ports):
            self._default_service_port(port, index, len(ports), causes)
        if causes:
            return
        self._assign_cluster_ip(spec, old, causes)
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            self._assign_node_ports(spec, old, causes)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})

    @staticmethod
    def _default_service_port(port: Obj, index: int, count: int, causes: list[Cause]) -> None:
        port.setdefault("protocol", "TCP")
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                (f"spec.ports[{index}].port", f"Invalid value: {number!r}: must be between 1 and 65535, inclusive")
            )
            return
        port.setdefault("targetPort", number)
        if count > 1 and not port.get("name"):
            causes.append((f"spec.ports[{index}].name", "Required value"))

    def _assign_cluster_ip(self, spec: Obj, old: Obj | None, causes: list[Cause]) -> None:
        previous = (old or {}).get("spec", {}).get("clusterIP")
        requested = spec.get("clusterIP") or previous
        if previous and requested != previous:
            causes.append(("spec.clusterIP", f"Invalid value: {requested!r}: field is immutable"))
            return
        if requested == "None" or (requested and requested == previous):
            spec["clusterIP"] = requested
        elif requested:
            if not self._reserve_ip(requested, causes):
                return
            spec["clusterIP"] = requested
        else:
            spec["clusterIP"] = self._allocate_ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")

    def _reserve_ip(self, requested: str, causes: list[Cause]) -> bool:
        try:
            address = ipaddress.ip_address(requested)
        except ValueError:
            causes.append(("spec.clusterIP", f"Invalid value: {requested!r}: must be a valid IP address"))
            return False
        if address not in SERVICE_CIDR:
            causes.append(
                (
                    "spec.clusterIP",
                    f"Invalid value: {requested!r}: provided IP is not in the valid range. "
                    f"The range of valid IPs is {SERVICE_CIDR}",
                )
            )
            return False
        if requested in self._cluster_ips:
            causes.append(("spec.clusterIP", f"Invalid value: {requested!r}: provided IP is already allocated"))
            return False
        return True

    def _allocate_ip(self) -> str:
        while True:
            candidate = str(ipaddress.ip_address(self._next_ip))
            self._next_ip += 1
            if self._next_ip >= int(SERVICE_CIDR.broadcast_address):
                self._next_ip = int(SERVICE_CIDR.network_address) + 11
            if candidate not in self._cluster_ips:
                return candidate

    def _assign_node_ports(self, spec: Obj, old: Obj | None, causes: list[Cause]) -> None:
        previous = {
            (p.get("port"), p.get("protocol")): p.get("nodePort")
            for p in (old or {}).get("spec", {}).get("ports") or ()
        }
        for index, port in enumerate(spec.get("ports") or ()):
            protocol = port["protocol"]
            kept = previous.get((port.get("port"), protocol))
            wanted = port.get("nodePort") or kept
            if wanted and wanted == kept:
                port["nodePort"] = wanted
            elif wanted:
                self._reserve_port(int(wanted), protocol, f"spec.ports[{index}].nodePort", causes)
                port["nodePort"] = wanted
            else:
                port["nodePort"] = self._allocate_port(protocol)

    def _reserve_port(self, port: int, protocol: str, path: str, causes: list[Cause]) -> None:
        if not NODE_PORT_MIN <= port <= NODE_PORT_MAX:
            causes.append(
                (
                    path,
                    f"Invalid value: {port}: provided port is not in the valid range. "
                    f"The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}",
                )
            )
        elif (port, protocol) in self._node_ports:
            causes.append((path, f"Invalid value: {port}: provided port is already allocated"))

    def _allocate_port(self, protocol: str) -> int:
        for _ in range(NODE_PORT_MAX - NODE_PORT_MIN + 1):
            candidate = self._next_port
            self._next_port = NODE_PORT_MIN if candidate >= NODE_PORT_MAX else candidate + 1
            if (candidate, protocol) not in self._node_ports:
                return candidate
        raise ApiError(500, "InternalError", "range of valid node ports is full")

    def _on_event(self, event: WatchEvent) -> None:
        """Track committed ClusterIPs and NodePorts; a deleted Service releases its own."""
        if event.resource != r.SERVICES:
            return
        meta = event.object["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        previous = self._held.pop(key, None)
        if previous is not None:
            self._cluster_ips.discard(previous[0])
            self._node_ports -= previous[1]
        if event.type == "DELETED":
            return
        spec = event.object.get("spec", {})
        ip = str(spec.get("clusterIP") or "")
        ports = {(p["nodePort"], p.get("protocol", "TCP")) for p in spec.get("ports") or () if p.get("nodePort")}
        self._held[key] = (ip, ports)
        if ip and ip != "None":
            self._cluster_ips.add(ip)
        self._node_ports |= ports
