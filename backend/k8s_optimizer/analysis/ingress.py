"""Ingress routing: which Service port a request for host + path reaches, and what cannot be reached.

An Ingress is the entry point in front of Services that NodePorts and host ports are for plain
Services; the path view starts there when one routes to the Service. Matching follows the
`networking.k8s.io/v1` rules: a rule's host matches exactly, or a `*.` wildcard matches exactly one
DNS label; among matching paths the longest wins and Exact beats Prefix of the same length; Prefix
matches whole path elements (`/aaa/bbb` matches `/aaa/bbb/ccc`, not `/aaa/bbbxyz`), ignoring a
trailing slash; ImplementationSpecific is read as Prefix (what ingress-nginx does). Requests no
rule matches go to the default backend. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from k8s_optimizer.domain.objects import Ingress, IngressBackend, IngressClass, IngressPath, ObjectRef, Service


@dataclass(frozen=True, slots=True)
class Route:
    ingress: ObjectRef
    host: str | None
    path: str | None  # None: the default backend
    path_type: str | None
    backend: IngressBackend


def host_matches(rule_host: str | None, host: str) -> bool:
    if rule_host is None:
        return True
    if rule_host.startswith("*."):
        suffix = rule_host[1:]
        label = host[: -len(suffix)] if host.endswith(suffix) else ""
        return bool(label) and "." not in label
    return rule_host == host


def _elements(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def path_matches(rule_path: IngressPath, path: str) -> bool:
    if rule_path.path_type == "Exact":
        return rule_path.path == path
    prefix = _elements(rule_path.path)
    return _elements(path)[: len(prefix)] == prefix


def _precedence(rule_path: IngressPath) -> tuple[int, int]:
    return (len(rule_path.path.rstrip("/")) if rule_path.path != "/" else 0, 1 if rule_path.path_type == "Exact" else 0)


def route(ingress: Ingress, host: str, path: str) -> Route | None:
    """Where this Ingress sends host + path; the default backend when no rule path matches."""
    candidates = [
        (rule.host, p)
        for rule in ingress.rules
        if host_matches(rule.host, host)
        for p in rule.paths
        if path_matches(p, path)
    ]
    if candidates:
        rule_host, best = max(candidates, key=lambda c: _precedence(c[1]))
        return Route(ingress.ref(), rule_host, best.path, best.path_type, best.backend)
    if ingress.default_backend is not None:
        return Route(ingress.ref(), None, None, None, ingress.default_backend)
    return None


def routes(ingress: Ingress) -> list[Route]:
    """Every rule path and the default backend, in spec order."""
    found = [
        Route(ingress.ref(), rule.host, p.path, p.path_type, p.backend) for rule in ingress.rules for p in rule.paths
    ]
    if ingress.default_backend is not None:
        found.append(Route(ingress.ref(), None, None, None, ingress.default_backend))
    return found


def routes_to(service: Service, ingresses: Iterable[Ingress]) -> list[Route]:
    """The Ingress routes whose backend is this Service (the entry points in front of it)."""
    return [
        r
        for ingress in ingresses
        if ingress.namespace == service.namespace
        for r in routes(ingress)
        if r.backend.service_name == service.name
    ]


@dataclass(frozen=True, slots=True)
class IngressProblem:
    ingress: ObjectRef
    message: str


def _backend_problem(route: Route, services: Mapping[tuple[str, str], Service]) -> str | None:
    backend = route.backend
    if backend.service_name is None:
        return None
    where = f"{route.host or '*'}{route.path or ' (default backend)'}"
    service = services.get((route.ingress.namespace, backend.service_name))
    if service is None:
        return f"{where} routes to Service {backend.service_name}, which does not exist"
    port = backend.service_port
    if isinstance(port, int) and all(p.port != port for p in service.ports):
        return f"{where} routes to port {port} of Service {service.name}, which has no such port"
    if isinstance(port, str) and all(p.name != port for p in service.ports):
        return f"{where} routes to port '{port}' of Service {service.name}, which has no port of that name"
    return None


def problems(
    ingresses: Iterable[Ingress], services: Iterable[Service], classes: Iterable[IngressClass]
) -> list[IngressProblem]:
    """Routes to a missing Service or port, and Ingresses that no controller will serve."""
    by_key = {(s.namespace, s.name): s for s in services}
    class_names = {c.name for c in classes}
    has_default = any(c.is_default for c in classes)
    found: list[IngressProblem] = []
    for ingress in ingresses:
        if ingress.ingress_class is None and not has_default:
            found.append(
                IngressProblem(
                    ingress.ref(), "no ingressClassName and no default IngressClass: no controller serves it"
                )
            )
        elif ingress.ingress_class is not None and ingress.ingress_class not in class_names:
            found.append(IngressProblem(ingress.ref(), f"IngressClass {ingress.ingress_class} does not exist"))
        found.extend(
            IngressProblem(ingress.ref(), message)
            for r in routes(ingress)
            if (message := _backend_problem(r, by_key)) is not None
        )
    return found
