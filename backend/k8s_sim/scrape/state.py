"""kube-state-metrics for the embedded cluster: object state as the series a kube-prometheus-stack holds.

Why: requests and limits, owners (pod → ReplicaSet → Deployment), OOM kills, restarts, HPA specs and node
capacity come from kube-state-metrics in every Prometheus-backed tool, so a Prometheus scraping the embedded
cluster must find them under the same names and labels as kube-state-metrics v2.13 writes them: quantities
in base units with `resource`/`unit` labels (CPU in cores, memory in bytes), label values from the objects,
no sample timestamps. `kube_pod_labels`/`kube_node_labels`/`kube_deployment_labels` carry every object
label (as with `--metric-labels-allowlist=pods=[*],nodes=[*],deployments=[*]`), sanitised to `label_<name>`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from k8s_optimizer.domain.quantities import parse_quantity
from k8s_sim import resources as r
from k8s_sim.controllers.base import controller_of
from k8s_sim.scrape.exposition import Family, Labels, labels_of, render_text
from k8s_sim.store import Obj, ObjectStore, WatchEvent

_UNITS = {"cpu": "core", "pods": "integer"}
KSM_SERVICE_ACCOUNT = "kube-state-metrics"
_PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")


@functools.lru_cache(maxsize=4096)  # label keys repeat across thousands of pods
def sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def resource_label(name: str) -> tuple[str, str]:
    """(resource, unit) labels of a resource name: cpu → core, pods → integer, everything else bytes."""
    return sanitize(name), _UNITS.get(name, "byte")


def quantity_value(text: object) -> float:
    return float(parse_quantity(str(text)))


def object_labels(obj: Obj) -> list[tuple[str, str]]:
    return [(f"label_{sanitize(k)}", str(v)) for k, v in (obj["metadata"].get("labels") or {}).items()]


_WATCHED = (r.PODS, r.REPLICASETS, r.DEPLOYMENTS, r.HPAS, r.NODES)


class StateMetrics:
    """Renders the kube-state-metrics families from the store; the scrape page is cached until one of the
    objects it describes changes (10,000 pods are ~25 MB of text and seconds of rendering, which would
    otherwise stall the API server on every scrape, while a steady cluster changes little)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._page: str | None = None
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource in _WATCHED:
            self._page = None

    def text(self) -> str:
        """The page a scrape gets (text format 0.0.4)."""
        if self._page is None:
            self._page = render_text(self.families())
        return self._page

    def families(self) -> list[Family]:
        return [*self._pods(), *self._replicasets(), *self._deployments(), *self._hpas(), *self._nodes()]

    # -- pods ----------------------------------------------------------------------------------------------
    def _pods(self) -> list[Family]:
        info = Family("kube_pod_info", "gauge", "[STABLE] Information about pod.")
        labels = Family("kube_pod_labels", "gauge", "[STABLE] Kubernetes labels converted to Prometheus labels.")
        owner = Family("kube_pod_owner", "gauge", "[STABLE] Information about the Pod's owner.")
        phase = Family("kube_pod_status_phase", "gauge", "[STABLE] The pods current phase.")
        requests = Family(
            "kube_pod_container_resource_requests",
            "gauge",
            "The number of requested request resource by a container. It is recommended to use the "
            "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        )
        limits = Family(
            "kube_pod_container_resource_limits",
            "gauge",
            "The number of requested limit resource by a container. It is recommended to use the "
            "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        )
        status = {
            "restarts": Family(
                "kube_pod_container_status_restarts_total",
                "counter",
                "[STABLE] The number of container restarts per container.",
            ),
            "terminated": Family(
                "kube_pod_container_status_last_terminated_reason",
                "gauge",
                "Describes the last reason the container was in terminated state.",
            ),
            "exitcode": Family(
                "kube_pod_container_status_last_terminated_exitcode",
                "gauge",
                "Describes the exit code for the last container in terminated state.",
            ),
            "waiting": Family(
                "kube_pod_container_status_waiting_reason",
                "gauge",
                "Describes the reason the container is currently in waiting state.",
            ),
        }
        for pod in self.store.list_objects(r.PODS):
            base = self._pod_base(pod)
            info.add(self._pod_info(pod, base), 1)
            labels.add(tuple(sorted([*base, *object_labels(pod)])), 1)
            owner.add(self._pod_owner(base, pod), 1)
            current = str(pod.get("status", {}).get("phase", "Pending"))
            for name in _PHASES:
                phase.add(tuple(sorted([*base, ("phase", name)])), 1 if name == current else 0)
            self._resources(pod, base, requests, limits)
            self._statuses(pod, base, status)
        return [info, labels, owner, phase, requests, limits, *status.values()]

    @staticmethod
    def _pod_base(pod: Obj) -> list[tuple[str, str]]:
        meta = pod["metadata"]
        return [("namespace", meta["namespace"]), ("pod", meta["name"]), ("uid", str(meta.get("uid", "")))]

    @staticmethod
    def _pod_info(pod: Obj, base: list[tuple[str, str]]) -> Labels:
        spec, status = pod["spec"], pod.get("status", {})
        owner = controller_of(pod) or {}
        extra = {
            "host_ip": str(status.get("hostIP", "")),
            "pod_ip": str(status.get("podIP", "")),
            "node": str(spec.get("nodeName", "")),
            "created_by_kind": str(owner.get("kind", "")),
            "created_by_name": str(owner.get("name", "")),
            "priority_class": str(spec.get("priorityClassName", "")),
            "host_network": "true" if spec.get("hostNetwork") else "false",
        }
        return tuple(sorted([*base, *extra.items()]))

    @staticmethod
    def _pod_owner(base: list[tuple[str, str]], pod: Obj) -> Labels:
        owner = controller_of(pod)
        if owner is None:
            extra = {"owner_kind": "<none>", "owner_name": "<none>", "owner_is_controller": "<none>"}
        else:
            extra = {"owner_kind": str(owner["kind"]), "owner_name": str(owner["name"]), "owner_is_controller": "true"}
        return tuple(sorted([*base, *extra.items()]))

    @staticmethod
    def _resources(pod: Obj, base: list[tuple[str, str]], requests: Family, limits: Family) -> None:
        node = str(pod["spec"].get("nodeName", ""))
        for container in pod["spec"].get("containers") or ():
            resources = container.get("resources") or {}
            for family, values in ((requests, resources.get("requests")), (limits, resources.get("limits"))):
                for resource, quantity in sorted((values or {}).items()):
                    resource_name, unit = resource_label(resource)
                    extra = [("container", container["name"]), ("node", node), ("resource", resource_name)]
                    family.add(tuple(sorted([*base, *extra, ("unit", unit)])), quantity_value(quantity))

    @staticmethod
    def _statuses(pod: Obj, base: list[tuple[str, str]], families: dict[str, Family]) -> None:
        """Restarts, the last termination (reason and exit code) and the waiting reason of each container."""
        for status in pod.get("status", {}).get("containerStatuses") or ():
            container = [*base, ("container", str(status["name"]))]
            families["restarts"].add(tuple(sorted(container)), int(status.get("restartCount", 0)))
            last = (status.get("lastState") or {}).get("terminated")
            if last and last.get("reason"):
                families["terminated"].add(tuple(sorted([*container, ("reason", str(last["reason"]))])), 1)
                families["exitcode"].add(tuple(sorted(container)), int(last.get("exitCode", 0)))
            waiting = (status.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason"):
                families["waiting"].add(tuple(sorted([*container, ("reason", str(waiting["reason"]))])), 1)

    # -- workloads -----------------------------------------------------------------------------------------
    def _replicasets(self) -> list[Family]:
        owner = Family("kube_replicaset_owner", "gauge", "[STABLE] Information about the ReplicaSet's owner.")
        spec = Family("kube_replicaset_spec_replicas", "gauge", "[STABLE] Number of desired pods for a ReplicaSet.")
        for rs in self.store.list_objects(r.REPLICASETS):
            base = [("namespace", rs["metadata"]["namespace"]), ("replicaset", rs["metadata"]["name"])]
            controller = controller_of(rs)
            kind, name, is_controller = (
                (str(controller["kind"]), str(controller["name"]), "true") if controller else ("<none>",) * 3
            )
            extra = {"owner_kind": kind, "owner_name": name, "owner_is_controller": is_controller}
            owner.add(tuple(sorted([*base, *extra.items()])), 1)
            spec.add(tuple(base), int(rs["spec"].get("replicas", 1)))
        return [owner, spec]

    def _deployments(self) -> list[Family]:
        rows = {
            "spec": ("kube_deployment_spec_replicas", "[STABLE] Number of desired pods for a deployment."),
            "replicas": ("kube_deployment_status_replicas", "[STABLE] The number of replicas per deployment."),
            "available": (
                "kube_deployment_status_replicas_available",
                "[STABLE] The number of available replicas per deployment.",
            ),
            "ready": ("kube_deployment_status_replicas_ready", "[STABLE] The number of ready replicas per deployment."),
            "updated": (
                "kube_deployment_status_replicas_updated",
                "[STABLE] The number of updated replicas per deployment.",
            ),
        }
        families = {key: Family(name, "gauge", text) for key, (name, text) in rows.items()}
        labels = Family("kube_deployment_labels", "gauge", "Kubernetes labels converted to Prometheus labels.")
        for deployment in self.store.list_objects(r.DEPLOYMENTS):
            base = (("deployment", deployment["metadata"]["name"]), ("namespace", deployment["metadata"]["namespace"]))
            status = deployment.get("status", {})
            families["spec"].add(base, int(deployment["spec"].get("replicas", 1)))
            families["replicas"].add(base, int(status.get("replicas", 0)))
            families["available"].add(base, int(status.get("availableReplicas", 0)))
            families["ready"].add(base, int(status.get("readyReplicas", 0)))
            families["updated"].add(base, int(status.get("updatedReplicas", 0)))
            labels.add(tuple(sorted([*base, *object_labels(deployment)])), 1)
        return [*families.values(), labels]

    # -- HPAs ----------------------------------------------------------------------------------------------
    def _hpas(self) -> list[Family]:
        prefix = "kube_horizontalpodautoscaler_"
        info = Family(prefix + "info", "gauge", "Information about this autoscaler.")
        minimum = Family(
            prefix + "spec_min_replicas",
            "gauge",
            "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
        )
        maximum = Family(
            prefix + "spec_max_replicas",
            "gauge",
            "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
        )
        target = Family(
            prefix + "spec_target_metric",
            "gauge",
            "The metric specifications used by this autoscaler when calculating the desired replica count.",
        )
        current = Family(
            prefix + "status_current_replicas",
            "gauge",
            "Current number of replicas of pods managed by this autoscaler.",
        )
        desired = Family(
            prefix + "status_desired_replicas",
            "gauge",
            "Desired number of replicas of pods managed by this autoscaler.",
        )
        observed = Family(
            prefix + "status_target_metric",
            "gauge",
            "The current metric status used by this autoscaler when calculating the desired replica count.",
        )
        for hpa in self.store.list_objects(r.HPAS):
            base = (("horizontalpodautoscaler", hpa["metadata"]["name"]), ("namespace", hpa["metadata"]["namespace"]))
            spec, status = hpa["spec"], hpa.get("status", {})
            ref = spec.get("scaleTargetRef") or {}
            ref_labels = {
                "scaletargetref_api_version": str(ref.get("apiVersion", "")),
                "scaletargetref_kind": str(ref.get("kind", "")),
                "scaletargetref_name": str(ref.get("name", "")),
            }
            info.add(tuple(sorted([*base, *ref_labels.items()])), 1)
            minimum.add(base, int(spec.get("minReplicas") or 1))
            maximum.add(base, int(spec["maxReplicas"]))
            for metric_name, target_type, value in _metric_targets(spec.get("metrics") or ()):
                extra = [("metric_name", metric_name), ("metric_target_type", target_type)]
                target.add(tuple(sorted([*base, *extra])), value)
            current.add(base, int(status.get("currentReplicas", 0)))
            desired.add(base, int(status.get("desiredReplicas", 0)))
            for metric_name, target_type, value in _metric_values(status.get("currentMetrics") or (), "current"):
                extra = [("metric_name", metric_name), ("metric_target_type", target_type)]
                observed.add(tuple(sorted([*base, *extra])), value)
        return [info, minimum, maximum, target, current, desired, observed]

    # -- nodes ---------------------------------------------------------------------------------------------
    def _nodes(self) -> list[Family]:
        info = Family("kube_node_info", "gauge", "[STABLE] Information about a cluster node.")
        labels = Family("kube_node_labels", "gauge", "[STABLE] Kubernetes labels converted to Prometheus labels.")
        capacity = Family("kube_node_status_capacity", "gauge", "The capacity for different resources of a node.")
        allocatable = Family(
            "kube_node_status_allocatable",
            "gauge",
            "The allocatable for different resources of a node that are available for scheduling.",
        )
        for node in self.store.list_objects(r.NODES):
            name = node["metadata"]["name"]
            info.add(_node_info(node), 1)
            labels.add(tuple(sorted([("node", name), *object_labels(node)])), 1)
            status = node.get("status", {})
            for family, values in ((capacity, status.get("capacity")), (allocatable, status.get("allocatable"))):
                for resource, quantity in sorted((values or {}).items()):
                    resource_name, unit = resource_label(resource)
                    family.add(labels_of(node=name, resource=resource_name, unit=unit), quantity_value(quantity))
        return [info, labels, capacity, allocatable]


def _node_info(node: Obj) -> Labels:
    status, spec = node.get("status", {}), node.get("spec", {})
    node_info = status.get("nodeInfo") or {}
    internal = next((a["address"] for a in status.get("addresses") or () if a.get("type") == "InternalIP"), "")
    return labels_of(
        node=node["metadata"]["name"],
        container_runtime_version=str(node_info.get("containerRuntimeVersion", "")),
        internal_ip=str(internal),
        kernel_version=str(node_info.get("kernelVersion", "")),
        kubelet_version=str(node_info.get("kubeletVersion", "")),
        kubeproxy_version=str(node_info.get("kubeProxyVersion", "")),
        os_image=str(node_info.get("osImage", "")),
        pod_cidr=str(spec.get("podCIDR", "")),
        provider_id=str(spec.get("providerID", "")),
        system_uuid=str(node_info.get("systemUUID", "")),
    )


def _metric_targets(metrics: Iterable[Obj]) -> list[tuple[str, str, float]]:
    """(metric_name, metric_target_type, value) per spec target, as kube-state-metrics flattens them:
    utilization in percent, averageValue/value as numbers, for Resource, ContainerResource, Pods, Object and
    External metrics alike."""
    return _metric_values(metrics, "target")


def _metric_values(metrics: Iterable[Obj], field: str) -> list[tuple[str, str, float]]:
    """The flattening of `_metric_targets` for spec `target`s or status `current` values; a status entry
    without a value (`{"type": ""}`, what the controller writes for `<unknown>`) gives no row."""
    rows = []
    for metric in metrics:
        kind = str(metric.get("type", ""))
        source = (metric.get(kind[:1].lower() + kind[1:]) or {}) if kind else {}
        name = str(source.get("name") or (source.get("metric") or {}).get("name", ""))
        target = source.get(field) or {}
        if target.get("averageUtilization") is not None:
            rows.append((name, "utilization", float(target["averageUtilization"])))
        if target.get("averageValue") is not None:
            rows.append((name, "average", quantity_value(target["averageValue"])))
        if target.get("value") is not None:
            rows.append((name, "value", quantity_value(target["value"])))
    return rows


def kube_state_metrics_objects() -> tuple[Obj, Obj]:
    """The kube-state-metrics Deployment and Service every scenario's kube-system gets (the chart's shape),
    so the service proxy path Prometheus scrapes names objects that exist."""
    labels = {"app.kubernetes.io/name": "kube-state-metrics"}
    ports = [
        {"name": "http-metrics", "containerPort": 8080, "protocol": "TCP"},
        {"name": "telemetry", "containerPort": 8081, "protocol": "TCP"},
    ]
    container = {
        "name": "kube-state-metrics",
        "image": "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
        "args": [
            "--port=8080",
            "--telemetry-port=8081",
            "--metric-labels-allowlist=pods=[*],nodes=[*],deployments=[*]",
        ],
        "ports": ports,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/", "port": 8081}, "initialDelaySeconds": 5},
    }
    template = {
        "metadata": {"labels": dict(labels)},
        "spec": {"containers": [container], "serviceAccountName": KSM_SERVICE_ACCOUNT},
    }
    deployment = {
        "metadata": {"name": "kube-state-metrics", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)}, "template": template},
    }
    service = {
        "metadata": {"name": "kube-state-metrics", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": dict(labels),
            "ports": [
                {"name": "http-metrics", "port": 8080, "protocol": "TCP", "targetPort": "http-metrics"},
                {"name": "telemetry", "port": 8081, "protocol": "TCP", "targetPort": "telemetry"},
            ],
        },
    }
    return deployment, service
