"""Ingress matching, with the kubernetes.io path-matching examples table as the cases."""

from __future__ import annotations

import pytest

from k8s_optimizer.analysis.ingress import host_matches, problems, route, routes_to
from k8s_optimizer.domain.objects import (
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    Service,
    ServicePort,
)


def _ingress(paths: list[tuple[str, str]], *, default: bool = True) -> Ingress:
    rule = IngressRule(
        host=None,
        paths=tuple(IngressPath(p, kind, IngressBackend(f"svc-{kind}-{p}", 80)) for p, kind in paths),
    )
    return Ingress("ns", "web", "nginx", (rule,), IngressBackend("default-svc", 80) if default else None)


# The "Examples" table of the Ingress concept page: (path type, paths, request path, matched path or None).
EXAMPLES = [
    ("Prefix", ["/"], "/anything/at/all", "/"),
    ("Exact", ["/foo"], "/foo", "/foo"),
    ("Exact", ["/foo"], "/bar", None),
    ("Exact", ["/foo"], "/foo/", None),
    ("Exact", ["/foo/"], "/foo", None),
    ("Prefix", ["/foo"], "/foo", "/foo"),
    ("Prefix", ["/foo"], "/foo/", "/foo"),
    ("Prefix", ["/foo/"], "/foo", "/foo/"),
    ("Prefix", ["/foo/"], "/foo/", "/foo/"),
    ("Prefix", ["/aaa/bb"], "/aaa/bbb", None),
    ("Prefix", ["/aaa/bbb"], "/aaa/bbb", "/aaa/bbb"),
    ("Prefix", ["/aaa/bbb/"], "/aaa/bbb", "/aaa/bbb/"),
    ("Prefix", ["/aaa/bbb"], "/aaa/bbb/", "/aaa/bbb"),
    ("Prefix", ["/aaa/bbb"], "/aaa/bbb/ccc", "/aaa/bbb"),
    ("Prefix", ["/aaa/bbb"], "/aaa/bbbxyz", None),
    ("Prefix", ["/", "/aaa"], "/aaa/ccc", "/aaa"),
    ("Prefix", ["/", "/aaa", "/aaa/bbb"], "/aaa/bbb", "/aaa/bbb"),
    ("Prefix", ["/", "/aaa", "/aaa/bbb"], "/ccc", "/"),
    ("Prefix", ["/aaa"], "/ccc", None),
]


@pytest.mark.parametrize(("kind", "paths", "request_path", "expected"), EXAMPLES)
def test_path_matching_examples(kind: str, paths: list[str], request_path: str, expected: str | None) -> None:
    found = route(_ingress([(p, kind) for p in paths]), "example.com", request_path)
    assert found is not None
    if expected is None:
        assert found.path is None  # unmatched: the default backend
        assert found.backend.service_name == "default-svc"
    else:
        assert found.path == expected


def test_exact_is_preferred_over_prefix_of_the_same_path() -> None:
    found = route(_ingress([("/foo", "Prefix"), ("/foo", "Exact")]), "example.com", "/foo")
    assert found is not None
    assert (found.path, found.path_type) == ("/foo", "Exact")


def test_no_match_and_no_default_backend_is_none() -> None:
    assert route(_ingress([("/aaa", "Prefix")], default=False), "example.com", "/ccc") is None


@pytest.mark.parametrize(
    ("rule_host", "host", "matches"),
    [
        ("foo.bar.com", "foo.bar.com", True),
        ("foo.bar.com", "bar.com", False),
        ("*.foo.com", "bar.foo.com", True),
        ("*.foo.com", "baz.bar.foo.com", False),  # the wildcard covers exactly one label
        ("*.foo.com", "foo.com", False),
        (None, "anything.example", True),
    ],
)
def test_host_matching(rule_host: str | None, host: str, matches: bool) -> None:
    assert host_matches(rule_host, host) is matches


def _service(name: str, *ports: ServicePort) -> Service:
    return Service("ns", name, "ClusterIP", "10.96.0.9", ports, {"app": name})


def test_routes_to_a_service_are_its_entry_points() -> None:
    ingress = Ingress(
        "ns",
        "shop",
        "nginx",
        (IngressRule("shop.example", (IngressPath("/api", "Prefix", IngressBackend("api", "http")),)),),
    )
    found = routes_to(_service("api", ServicePort(80, 8080, name="http")), [ingress])
    assert [(r.host, r.path) for r in found] == [("shop.example", "/api")]


def test_problems_name_missing_services_ports_and_classes() -> None:
    ingress = Ingress(
        "ns",
        "shop",
        None,
        (
            IngressRule(
                "shop.example",
                (
                    IngressPath("/api", "Prefix", IngressBackend("api", 8080)),
                    IngressPath("/web", "Prefix", IngressBackend("web", "http")),
                    IngressPath("/gone", "Prefix", IngressBackend("gone", 80)),
                ),
            ),
        ),
    )
    services = [_service("api", ServicePort(80, 8080, name="http")), _service("web", ServicePort(80, 80, name="web"))]
    assert [p.message for p in problems([ingress], services, [IngressClass("nginx", "k8s.io/ingress-nginx")])] == [
        "no ingressClassName and no default IngressClass: no controller serves it",
        "shop.example/api routes to port 8080 of Service api, which has no such port",
        "shop.example/web routes to port 'http' of Service web, which has no port of that name",
        "shop.example/gone routes to Service gone, which does not exist",
    ]
