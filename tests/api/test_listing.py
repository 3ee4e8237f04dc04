"""The pre-serialised service listing: byte-identical to the model path, every sort and filter, cached pages."""

from __future__ import annotations

import dataclasses

import pytest

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.listing import PAGE_CACHE_ENTRIES, ServiceListing, ServiceQuery
from k8s_optimizer.api.params import encode_cursor
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.objects import Service, ServicePort
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from tests.api.fakes import build_report, build_snapshot


def _snapshot() -> ClusterSnapshot:
    """The fake shop plus 30 label-varied services in three namespaces (the web service has usage)."""
    base = build_snapshot()
    extra = {
        (f"ns-{i % 3}", f"svc-{i:02d}"): Service(
            f"ns-{i % 3}",
            f"svc-{i:02d}",
            "ClusterIP",
            f"10.96.1.{i}",
            (ServicePort(80, 80),),
            {"app": f"a{i}"},
            labels={"tier": "back" if i % 2 else "front"},
        )
        for i in range(30)
    }
    return dataclasses.replace(base, services={**base.services, **extra})


@pytest.fixture(scope="module")
def context() -> ViewContext:
    return ViewContext.build(_snapshot(), build_report())


def _by_models(context: ViewContext, query: ServiceQuery) -> bytes:
    """What the route used to compute per request: every summary, sorted, paged (the reference)."""
    services = [v for k, v in sorted(context.snapshot.services.items())]
    services = [v for v in services if query.namespace is None or v.namespace == query.namespace]
    services = [v for v in services if query.q is None or query.q in f"{v.namespace}/{v.name}"]
    services = [v for v in services if query.label_selector is None or v.labels.get("tier") == "back"]
    summaries = [context.service_summary(v) for v in services]
    field, descending = query.sort.lstrip("-"), query.sort.startswith("-")
    keys = {
        "name": lambda m: (m.name, m.namespace),
        "namespace": lambda m: (m.namespace, m.name),
        "cpu": lambda m: (m.resources.cpu_usage_millicores or 0.0, m.namespace, m.name),
        "memory": lambda m: (float(m.resources.memory_usage_bytes or 0), m.namespace, m.name),
        "recommendations": lambda m: (float(m.open_recommendations), m.namespace, m.name),
    }
    summaries.sort(key=keys[field], reverse=descending)
    offset = 0 if query.cursor is None else int(query.cursor)
    chunk = summaries[offset : offset + query.limit]
    following = offset + query.limit
    page = s.Page[s.ServiceSummary](
        items=chunk, next_cursor=encode_cursor(following) if following < len(summaries) else None, total=len(summaries)
    )
    return page.model_dump_json().encode()


SORTS = ["name", "namespace", "cpu", "memory", "recommendations"]
SORTS += [f"-{sort}" for sort in SORTS]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize(
    ("namespace", "q", "label_selector"), [(None, None, None), ("ns-1", None, None), (None, "svc-1", "tier=back")]
)
def test_pages_are_byte_identical_to_the_model_path(
    context: ViewContext, sort: str, namespace: str | None, q: str | None, label_selector: str | None
) -> None:
    listing = ServiceListing(context)
    for limit, offset in ((7, 0), (7, 7), (100, 0), (5, 30)):
        cursor = encode_cursor(offset) if offset else None
        query = ServiceQuery(namespace, label_selector, q, sort, limit, cursor)
        reference_query = dataclasses.replace(query, cursor=str(offset) if offset else None)
        assert listing.page(query) == _by_models(context, reference_query)


def test_usage_sort_puts_the_busy_service_first(context: ViewContext) -> None:
    page = ServiceListing(context).summaries(ServiceQuery(sort="-cpu", limit=2))
    assert [(i.namespace, i.name, i.resources.cpu_usage_millicores) for i in page.items] == [
        ("shop", "web", 200.0),
        ("shop", "lonely", None),
    ]
    assert page.total == 32
    assert page.next_cursor == "Mg"


def test_repeat_is_served_from_the_page_cache(context: ViewContext) -> None:
    listing = ServiceListing(context)
    first = listing.page(ServiceQuery(sort="name", limit=3))
    assert listing.page(ServiceQuery(sort="name", limit=3)) is first
    assert listing.cached_raw(b"sort=name&limit=3") is None  # never seen as a raw query string
    listing.remember_raw(b"sort=name&limit=3", ServiceQuery(sort="name", limit=3))
    assert listing.cached_raw(b"sort=name&limit=3") is first


def test_page_cache_is_bounded(context: ViewContext) -> None:
    listing = ServiceListing(context)
    for limit in range(1, PAGE_CACHE_ENTRIES + 11):
        listing.page(ServiceQuery(limit=limit))
    assert len(listing._pages) == PAGE_CACHE_ENTRIES
    assert ServiceQuery(limit=1) not in listing._pages  # the oldest went first


def test_bad_cursor_and_selector_are_400(context: ViewContext) -> None:
    listing = ServiceListing(context)
    with pytest.raises(ApiError) as cursor_error:
        listing.page(ServiceQuery(cursor="%%%"))
    assert (cursor_error.value.status, str(cursor_error.value.detail)) == (
        400,
        "cursor: '%%%' is not a cursor this server issued",
    )
    with pytest.raises(ApiError) as selector_error:
        listing.page(ServiceQuery(label_selector="a in (b)"))
    assert selector_error.value.status == 400
