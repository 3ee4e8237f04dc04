"""Who am I and may I: SelfSubjectAccessReview, SelfSubjectReview, SelfSubjectRulesReview; and `/metrics`.

Why this exists: `kubectl auth can-i`, `kubectl auth whoami` and every tool that checks its permissions
before acting (the optimizer's apply writer, Helm, Argo) ask these create-only APIs. The embedded cluster
has no authorization, so everything is allowed, for the user a kind kubeconfig authenticates as
(`kubernetes-admin` in `kubeadm:cluster-admins`). `/metrics` is the server's own Prometheus text: requests
by verb, resource and code, and stored objects per resource, under kube-apiserver's metric names.
"""

from __future__ import annotations

import time
from collections import Counter

from aiohttp import web
from aiohttp.typedefs import Middleware

from k8s_sim.control import Handler
from k8s_sim.store import ApiError, ObjectStore, ResourceType
from k8s_sim.wire import Cluster, Obj, Target, json_response, object_body, read_json

USERNAME = "kubernetes-admin"
GROUPS = ["kubeadm:cluster-admins", "system:authenticated"]
REVIEW_KINDS = ("SelfSubjectAccessReview", "SelfSubjectReview", "SelfSubjectRulesReview", "SubjectAccessReview")


def _reviewed(kind: str, body: Obj) -> Obj:
    spec = body.get("spec") or {}
    if kind == "SelfSubjectReview":
        return {"userInfo": {"username": USERNAME, "groups": list(GROUPS)}}
    if kind == "SelfSubjectRulesReview":
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    if not isinstance(spec, dict) or not (spec.get("resourceAttributes") or spec.get("nonResourceAttributes")):
        raise ApiError(
            422,
            "Invalid",
            f'{kind}.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": '
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    return {"allowed": True, "reason": "the embedded cluster authorizes every request"}


async def review(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    """POST a review: the object comes back with its status filled in (nothing is stored)."""
    if request.method != "POST" or target.name is not None:
        raise ApiError(
            405,
            "MethodNotAllowed",
            f"the server does not allow this method on the requested resource ({target.rt.plural})",
        )
    body = object_body(await read_json(request), target.rt)
    body["apiVersion"], body["kind"] = target.rt.api_version, target.rt.kind
    body["metadata"].setdefault("creationTimestamp", None)
    body["status"] = _reviewed(target.rt.kind, body)
    return json_response(body, 201)


class RequestMetrics:
    """Counts of served API requests by (verb, group, version, resource, code)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, str, str, str]] = Counter()
        self.started = time.time()

    def middleware(self) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            labels = _labels(request)
            if labels is not None:
                self.requests[(*labels, str(response.status))] += 1
            return response

        return count


def _labels(request: web.Request) -> tuple[str, str, str, str] | None:
    parts = [p for p in request.path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        group, rest = "", parts[1:]
    else:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[2:]
    version, rest = (rest[0], rest[1:]) if rest else ("", [])
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] if rest else ""
    verb = {"GET": "LIST" if len(rest) <= 1 else "GET"}.get(request.method, request.method)
    if request.method == "GET" and request.query.get("watch", "").lower() in ("true", "1"):
        verb = "WATCH"
    return verb, group, version, resource


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render_metrics(store: ObjectStore, counts: RequestMetrics) -> str:
    lines = [
        "# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, "
        "dry run value, group, version, resource, scope, component, and HTTP response code.",
        "# TYPE apiserver_request_total counter",
    ]
    for (verb, group, version, resource, code), value in sorted(counts.requests.items()):
        labels = (
            f'code="{code}",component="apiserver",group="{_escape(group)}",resource="{_escape(resource)}",'
            f'verb="{verb}",version="{_escape(version)}"'
        )
        lines.append(f"apiserver_request_total{{{labels}}} {value}")
    lines += [
        "# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.",
        "# TYPE apiserver_storage_objects gauge",
    ]
    for rt in sorted(store.types(), key=_resource_name):
        lines.append(f'apiserver_storage_objects{{resource="{_resource_name(rt)}"}} {store.count(rt)}')
    lines += [
        "# HELP etcd_current_revision The current resourceVersion of the store.",
        "# TYPE etcd_current_revision gauge",
        f"etcd_current_revision {store.revision}",
        "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {counts.started:.3f}",
    ]
    return "\n".join(lines) + "\n"


def _resource_name(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def metrics_handler(cluster: Cluster, counts: RequestMetrics) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        text = render_metrics(cluster.store, counts)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    return serve
