"""API discovery documents: /version, /api, /api/v1, /apis, /apis/{group}[/{version}].

kubectl resolves `deploy`, `hpa` and `top` through discovery before it sends a single request, and
kubernetes_asyncio validates /version strictly, so these documents must be complete. They are derived from
the registered ResourceTypes, so a type registered in the store is automatically discoverable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from k8s_sim.store import ResourceType

Obj = dict[str, Any]

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.4",
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean",
    "buildDate": "2024-12-10T18:44:26Z",
    "goVersion": "go1.22.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_SUBRESOURCE_VERBS = ["get", "patch", "update"]
_SUBRESOURCE_KINDS = {"exec": "PodExecOptions", "attach": "PodAttachOptions", "portforward": "PodPortForwardOptions"}
_SUBRESOURCE_VERB_SETS = {
    "log": ["get"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "portforward": ["create", "get"],
}


def version() -> Obj:
    return dict(KUBERNETES_VERSION)


def _group_versions(types: Iterable[ResourceType]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for rt in types:
        if rt.group and rt.version not in groups.setdefault(rt.group, []):
            groups[rt.group].append(rt.version)
    return groups


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(types: Iterable[ResourceType]) -> Obj:
    groups = [_group(name, versions) for name, versions in sorted(_group_versions(types).items())]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(types: Iterable[ResourceType], group: str) -> Obj | None:
    versions = _group_versions(types).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def _resource_entries(rt: ResourceType) -> list[Obj]:
    entries: list[Obj] = [
        {
            "name": rt.plural,
            "singularName": rt.kind.lower(),
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
            **({"shortNames": list(rt.short_names)} if rt.short_names else {}),
            **({"categories": ["all"]} if rt.kind in _ALL_CATEGORY else {}),
        }
    ]
    for sub in rt.subresources:
        entry: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
        if sub == "scale":
            entry.update(group="autoscaling", version="v1", kind="Scale")
        else:
            entry["kind"] = _SUBRESOURCE_KINDS.get(sub, rt.kind)
        entry["verbs"] = list(_SUBRESOURCE_VERB_SETS.get(sub, _SUBRESOURCE_VERBS))
        entries.append(entry)
    return entries


# What `kubectl get all` expands to, as on a real cluster.
_ALL_CATEGORY = frozenset(
    {"Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "HorizontalPodAutoscaler"}
)


def api_resource_list(types: Iterable[ResourceType], group: str, version: str) -> Obj | None:
    selected = [rt for rt in types if rt.group == group and rt.version == version]
    if not selected:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for rt in selected for entry in _resource_entries(rt)],
    }
