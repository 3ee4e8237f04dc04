"""Endpoints and EndpointSlice controllers: which pod IP:port pairs stand behind each Service.

For a Service with a selector, every selected pod that has an IP becomes an address, under `addresses`
when Ready and `notReadyAddresses` otherwise, with targetRef and nodeName. A named targetPort is looked
up per pod in its containers' ports; a pod without that port is left out of that port's subset, exactly
as the real controller's FindPort does, so a Service whose named targetPort matches no container gets
no addresses at all (a numeric targetPort is used as is). Pods sharing the same resolved ports share a
subset. One EndpointSlice per port combination mirrors the same data (discovery.k8s.io/v1).

Incremental: a pod change marks dirty only the Services of its namespace that select it now or did
before; a Service change marks itself.
"""

from __future__ import annotations

import functools
import zlib
from collections import defaultdict

from k8s_sim import resources as r
from k8s_sim.admission import selector_matches
from k8s_sim.controllers.base import Key, is_pod_ready, isolated, key_of, safe_encode
from k8s_sim.store import ApiError, Obj, ObjectStore, WatchEvent

MANAGED_BY = "endpointslice-controller.k8s.io"

PortKey = tuple[tuple[str, int, str], ...]  # ((name, port, protocol), ...)


def _find_port(pod: Obj, target: int | str, protocol: str) -> int | None:
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for container in pod["spec"].get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return int(port["containerPort"])
    return None


def _address(pod: Obj) -> Obj:
    meta = pod["metadata"]
    address: Obj = {
        "ip": pod["status"]["podIP"],
        "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
    }
    if pod["spec"].get("nodeName"):
        address["nodeName"] = pod["spec"]["nodeName"]
    return address


class EndpointsController:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.dirty: set[Key] = set()
        self._services_by_ns: dict[str, set[str]] = defaultdict(set)
        self._selected: dict[Key, set[Key]] = defaultdict(set)  # pod -> services that listed it last time
        self._pods_by_ns: dict[str, set[str]] = defaultdict(set)
        self._slices: dict[Key, set[str]] = defaultdict(set)  # service -> names of the slices written for it
        # label indexes, so a pod event or a Service sync looks only at plausible matches (10,000 pods)
        self._pod_labels: dict[Key, dict[str, str]] = {}
        self._pods_by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self._services_by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self._service_selectors: dict[Key, dict[str, str]] = {}
        store.add_listener(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == r.SERVICES:
            namespace, name = key_of(event.object)
            for label in self._service_selectors.pop((namespace, name), {}).items():
                self._services_by_label[(namespace, *label)].discard(name)
            if event.type == "DELETED":
                self._services_by_ns[namespace].discard(name)
            else:
                self._services_by_ns[namespace].add(name)
                selector = dict(event.object.get("spec", {}).get("selector") or {})
                self._service_selectors[(namespace, name)] = selector
                for label in selector.items():
                    self._services_by_label[(namespace, *label)].add(name)
            self.dirty.add((namespace, name))
        elif event.resource == r.PODS:
            self._on_pod(event)

    def _on_pod(self, event: WatchEvent) -> None:
        pod = event.object
        namespace, name = key_of(pod)
        for label in self._pod_labels.pop((namespace, name), {}).items():
            self._pods_by_label[(namespace, *label)].discard(name)
        if event.type == "DELETED":
            self._pods_by_ns[namespace].discard(name)
        else:
            self._pods_by_ns[namespace].add(name)
        self.dirty.update(self._selected.pop((namespace, name), set()))
        if event.type == "DELETED":
            return
        labels = dict(pod["metadata"].get("labels") or {})
        self._pod_labels[(namespace, name)] = labels
        candidates: set[str] = set()
        for label in labels.items():
            self._pods_by_label[(namespace, *label)].add(name)
            candidates |= self._services_by_label.get((namespace, *label), set())
        for service_name in candidates:
            selector = self._service_selectors.get((namespace, service_name))
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                self.dirty.add((namespace, service_name))

    def run(self, now_seconds: float) -> bool:
        work = sorted(self.dirty)
        self.dirty.clear()
        wrote = False
        for key in work:
            service = self.store.get(r.SERVICES, *key)
            wrote |= isolated(None, "endpoint-controller", service, functools.partial(self._sync, key))
        return wrote

    def _sync(self, key: Key) -> bool:
        service = self.store.get(r.SERVICES, *key)
        if service is None:
            return self._remove(key)
        if not service.get("spec", {}).get("selector"):
            return False  # endpoints of a selector-less Service are the user's to manage
        pods = self._selected_pods(service)
        for pod in pods:
            self._selected[key_of(pod)].add(key)
        groups = self._group(service, pods)
        wrote = self._write_endpoints(service, groups)
        return self._write_slices(service, groups) or wrote

    def _selected_pods(self, service: Obj) -> list[Obj]:
        namespace = service["metadata"]["namespace"]
        selector = service["spec"]["selector"]
        pods = []
        names: set[str] | None = None
        for label in selector.items():
            matching = self._pods_by_label.get((namespace, *label), set())
            names = set(matching) if names is None else names & matching
        for name in sorted(names or ()):
            pod = self.store.get(r.PODS, namespace, name)
            if pod is None or not _selects(service, pod["metadata"].get("labels") or {}, selector):
                continue
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") or not pod.get("status", {}).get("podIP"):
                continue
            pods.append(pod)
        return pods

    def _group(self, service: Obj, pods: list[Obj]) -> dict[PortKey, tuple[list[Obj], list[Obj]]]:
        publish_not_ready = bool(service["spec"].get("publishNotReadyAddresses"))
        groups: dict[PortKey, tuple[list[Obj], list[Obj]]] = {}
        for pod in pods:
            ports = []
            for port in service["spec"].get("ports") or ():
                protocol = port.get("protocol", "TCP")
                number = _find_port(pod, port.get("targetPort", port["port"]), protocol)
                if number is not None:
                    ports.append((str(port.get("name", "")), number, protocol))
            if not ports:
                continue
            ready, not_ready = groups.setdefault(tuple(ports), ([], []))
            (ready if publish_not_ready or is_pod_ready(pod) else not_ready).append(pod)
        return groups

    def _write_endpoints(self, service: Obj, groups: dict[PortKey, tuple[list[Obj], list[Obj]]]) -> bool:
        subsets = []
        for ports, (ready, not_ready) in sorted(groups.items()):
            subset: Obj = {"ports": [_port(name, number, protocol) for name, number, protocol in ports]}
            if ready:
                subset["addresses"] = [_address(p) for p in sorted(ready, key=lambda p: p["status"]["podIP"])]
            if not_ready:
                subset["notReadyAddresses"] = [
                    _address(p) for p in sorted(not_ready, key=lambda p: p["status"]["podIP"])
                ]
            subsets.append(subset)
        namespace, name = key_of(service)
        labels = dict(service["metadata"].get("labels") or {})
        existing = self.store.get(r.ENDPOINTS, namespace, name)
        if existing is None:
            body: Obj = {"metadata": {"name": name, "namespace": namespace, "labels": labels}}
            if subsets:
                body["subsets"] = subsets
            self.store.create(r.ENDPOINTS, body)
            return True

        def change(obj: Obj) -> None:
            obj["metadata"]["labels"] = labels
            if subsets:
                obj["subsets"] = subsets
            else:
                obj.pop("subsets", None)

        before = existing["metadata"]["resourceVersion"]
        after = self.store.mutate(r.ENDPOINTS, namespace, name, change)
        return after is not None and after["metadata"]["resourceVersion"] != before

    def _write_slices(self, service: Obj, groups: dict[PortKey, tuple[list[Obj], list[Obj]]]) -> bool:
        namespace, name = key_of(service)
        wanted: dict[str, Obj] = {}
        for ports, (ready, not_ready) in sorted(groups.items()):
            slice_name = f"{name}-{safe_encode(zlib.crc32(repr(ports).encode()), 5)}"
            endpoints = [_slice_endpoint(p, True) for p in ready] + [_slice_endpoint(p, False) for p in not_ready]
            wanted[slice_name] = _endpoint_slice(service, slice_name, endpoints, ports)
        if not wanted:  # the real controller keeps one empty slice per Service
            slice_name = f"{name}-{safe_encode(zlib.crc32(b'empty'), 5)}"
            wanted[slice_name] = _endpoint_slice(service, slice_name, [], ())
        return self._reconcile_slices(namespace, name, wanted)

    def _reconcile_slices(self, namespace: str, service_name: str, wanted: dict[str, Obj]) -> bool:
        wrote = False
        owned = self._slices[(namespace, service_name)]
        for stale in sorted(owned - set(wanted)):
            if self.store.get(r.ENDPOINTSLICES, namespace, stale) is not None:
                self.store.delete(r.ENDPOINTSLICES, namespace, stale)
                wrote = True
        owned.clear()
        owned.update(wanted)
        for slice_name, body in wanted.items():
            existing = self.store.get(r.ENDPOINTSLICES, namespace, slice_name)
            if existing is None:
                self.store.create(r.ENDPOINTSLICES, body)
                wrote = True
                continue

            def change(obj: Obj, body: Obj = body) -> None:
                obj["metadata"]["labels"] = body["metadata"]["labels"]
                obj["endpoints"] = body["endpoints"]
                obj["ports"] = body["ports"]

            before = existing["metadata"]["resourceVersion"]
            after = self.store.mutate(r.ENDPOINTSLICES, namespace, slice_name, change)
            wrote |= after is not None and after["metadata"]["resourceVersion"] != before
        return wrote

    def _remove(self, key: Key) -> bool:
        wrote = False
        if self.store.get(r.ENDPOINTS, *key) is not None:
            self.store.delete(r.ENDPOINTS, *key)
            wrote = True
        for slice_name in sorted(self._slices.pop(key, set())):
            try:
                self.store.delete(r.ENDPOINTSLICES, key[0], slice_name)
                wrote = True
            except ApiError:
                continue
        return wrote


def _selects(service: Obj, labels: dict[str, str], selector: dict[str, str] | None = None) -> bool:
    wanted = selector if selector is not None else service.get("spec", {}).get("selector")
    if not wanted:
        return False
    return selector_matches({"matchLabels": wanted}, labels)


def _port(name: str, number: int, protocol: str) -> Obj:
    port: Obj = {"port": number, "protocol": protocol}
    if name:
        port["name"] = name
    return port


def _slice_endpoint(pod: Obj, ready: bool) -> Obj:
    meta = pod["metadata"]
    endpoint: Obj = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": ready, "serving": ready, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
    }
    if pod["spec"].get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    return endpoint


def _service_owner(service: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": service["metadata"]["name"],
        "uid": service["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _endpoint_slice(service: Obj, slice_name: str, endpoints: list[Obj], ports: PortKey) -> Obj:
    """One managed slice; it carries the Service's labels as the real controller's do, with or without endpoints."""
    namespace, name = key_of(service)
    return {
        "metadata": {
            "name": slice_name,
            "namespace": namespace,
            "generateName": f"{name}-",
            "labels": {
                **(service["metadata"].get("labels") or {}),
                "kubernetes.io/service-name": name,
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
            "ownerReferences": [_service_owner(service)],
        },
        "addressType": "IPv4",
        "endpoints": sorted(endpoints, key=lambda e: e["addresses"][0]),
        "ports": [_port(port_name, number, protocol) for port_name, number, protocol in ports],
    }
