"""Service list pages at cluster scale: summaries built once per view, pages served from cached bytes.

Why: `GET /api/v1/services` is the hottest read of the dashboard and of scripts. Building and
validating a pydantic summary per Service on every request cost ~1 ms per 10 services, so 64
clients on 2,000 services queued for hundreds of milliseconds. Here one `ServiceListing` is built
per `ViewContext` (i.e. per change of the model seq, metrics tick or analysis run): every summary is
serialised to JSON once, each sort order is computed once on first use, and whole pages are kept as
bytes keyed by the query, so a repeated request costs a dict lookup and never O(cluster) work.
Pure: no I/O, no awaiting; built in a worker thread for large clusters (api/cache.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.offload import page_body
from k8s_optimizer.api.params import decode_cursor, encode_cursor, labels_match, parse_label_selector
from k8s_optimizer.api.views import ViewContext

# Hot pages kept per listing (a new listing starts empty): enough for the dashboard's sorts and
# filters, bounded in bytes so an adversary walking every cursor cannot grow memory.
PAGE_CACHE_ENTRIES = 256
PAGE_CACHE_BYTES = 16 * 2**20
_USAGE_SORTS = ("cpu", "memory", "recommendations")


@dataclass(frozen=True, slots=True)
class ServiceQuery:
    """The list route's query parameters, already validated by FastAPI; the page cache's key."""

    namespace: str | None = None
    label_selector: str | None = None
    q: str | None = None
    sort: str = "namespace"
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    namespace: str
    name: str
    labels: dict[str, str]
    cpu_millicores: float
    memory_bytes: float
    recommendations: float
    body: bytes
    """The summary as JSON, exactly as pydantic serialises it."""


class ServiceListing:
    """Every Service summary of one view, serialised, with sort orders and a page cache."""

    def __init__(self, context: ViewContext) -> None:
        self.context = context
        self._rows: list[_Row] = []
        for _, service in sorted(context.snapshot.services.items()):
            summary = context.service_summary(service)
            self._rows.append(
                _Row(
                    namespace=service.namespace,
                    name=service.name,
                    labels=service.labels,
                    cpu_millicores=summary.resources.cpu_usage_millicores or 0.0,
                    memory_bytes=float(summary.resources.memory_usage_bytes or 0),
                    recommendations=float(summary.open_recommendations),
                    body=summary.model_dump_json().encode(),
                )
            )
        self._orders: dict[tuple[str, str | None], list[int]] = {}
        self._pages: OrderedDict[ServiceQuery, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._raw: dict[bytes, ServiceQuery] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def pages_cached(self) -> int:
        return len(self._pages)

    def page(self, query: ServiceQuery) -> bytes:
        """The JSON body of `s.Page[s.ServiceSummary]` for `query` (400 on a bad cursor or selector)."""
        cached = self._pages.get(query)
        if cached is not None:
            self._pages.move_to_end(query)
            return cached
        body = self._render(query)
        self._remember(query, body)
        return body

    def remember_raw(self, query_string: bytes, query: ServiceQuery) -> None:
        """Map a raw query string FastAPI has validated to its query, for `cached_raw` (api/fastpath.py)."""
        if len(self._raw) >= PAGE_CACHE_ENTRIES:
            self._raw.clear()  # rare: a client walking many distinct queries; hot ones come back at once
        self._raw[query_string] = query

    def cached_raw(self, query_string: bytes) -> bytes | None:
        """The cached page of a query string seen and validated before, or None."""
        query = self._raw.get(query_string)
        return None if query is None else self._pages.get(query)

    def summaries(self, query: ServiceQuery) -> s.Page[s.ServiceSummary]:
        """The same page as a model (tests and in-process callers)."""
        return s.Page[s.ServiceSummary].model_validate_json(self.page(query))

    # -- internals -----------------------------------------------------------------------------------
    def _render(self, query: ServiceQuery) -> bytes:
        offset = decode_cursor(query.cursor)
        selected = self._selected(query)
        chunk = selected[offset : offset + query.limit]
        following = offset + query.limit
        next_cursor = encode_cursor(following) if following < len(selected) else None
        return page_body((self._rows[index].body for index in chunk), next_cursor, len(selected))

    def _selected(self, query: ServiceQuery) -> list[int]:
        """Row indexes in the requested order, filtered; unfiltered orders are shared across queries."""
        order = self._order(query.sort, query.namespace)
        if not query.label_selector and not query.q:
            return order
        requirements = parse_label_selector(query.label_selector) if query.label_selector else []
        needle = (query.q or "").lower()
        rows = self._rows
        return [
            index
            for index in order
            if labels_match(rows[index].labels, requirements)
            and needle in f"{rows[index].namespace}/{rows[index].name}".lower()
        ]

    def _order(self, sort: str, namespace: str | None) -> list[int]:
        key = (sort, namespace)
        order = self._orders.get(key)
        if order is None:
            order = self._sorted(sort, namespace)
            self._orders[key] = order
        return order

    def _sorted(self, sort: str, namespace: str | None) -> list[int]:
        if namespace is not None:
            return [index for index in self._order(sort, None) if self._rows[index].namespace == namespace]
        field, descending = sort.lstrip("-"), sort.startswith("-")
        rows = self._rows
        indexes = list(range(len(rows)))  # rows are already in (namespace, name) order
        if field == "name":
            indexes.sort(key=lambda i: (rows[i].name, rows[i].namespace))
        elif field in _USAGE_SORTS:
            attribute = {"cpu": "cpu_millicores", "memory": "memory_bytes", "recommendations": "recommendations"}
            name = attribute[field]
            indexes.sort(key=lambda i: (getattr(rows[i], name), rows[i].namespace, rows[i].name))
        # Keys are unique (namespace/name), so reversing equals sorting with reverse=True.
        return indexes[::-1] if descending else indexes

    def _remember(self, query: ServiceQuery, body: bytes) -> None:
        self._pages[query] = body
        self._cached_bytes += len(body)
        while self._pages and (len(self._pages) > PAGE_CACHE_ENTRIES or self._cached_bytes > PAGE_CACHE_BYTES):
            _, evicted = self._pages.popitem(last=False)
            self._cached_bytes -= len(evicted)
