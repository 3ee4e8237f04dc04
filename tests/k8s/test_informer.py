"""Informer bookkeeping (pagination, relist diffs, watch events, error handling) at the ApiReader seam.

The same paths run against the real embedded cluster in tests/live/test_model_sim.py; here each
branch is driven exactly, including the ones a healthy server rarely takes.
"""

from __future__ import annotations

import gc
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from k8s_optimizer.domain.objects import Namespace
from k8s_optimizer.k8s.connection import Json, Query
from k8s_optimizer.k8s.errors import (
    ClusterForbiddenError,
    ClusterNotFoundError,
    ClusterThrottledError,
    ClusterUnavailableError,
    ResourceExpiredError,
    ResourceVersionTooLargeError,
    is_too_large_status,
)
from k8s_optimizer.k8s.informer import RESOURCES, Backoff, EventType, Informer, ObjectKey, ResourceKind
from k8s_optimizer.k8s.kube import build_informers

NAMESPACES = next(r for r in RESOURCES if r.kind == "Namespace")
PODS = next(r for r in RESOURCES if r.kind == "Pod")


def ns(name: str, rv: str = "1") -> Json:
    return {"metadata": {"name": name, "resourceVersion": rv}, "status": {"phase": "Active"}}


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, EventType, ObjectKey, object | None]] = []
        self.synced: list[str] = []

    def apply(self, kind: str, event_type: EventType, key: ObjectKey, obj: object | None) -> None:
        self.events.append((kind, event_type, key, obj))

    def informer_synced(self, informer: Informer) -> None:
        self.synced.append(informer.name)


class FakeReader:
    """Serves canned list pages and watch event lists; records every request."""

    def __init__(self, pages: list[Json], watches: list[list[Json]] | None = None) -> None:
        self.pages = pages
        self.watches = watches or []
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []

    async def get_json(self, path: str, query: Query = ()) -> Json:
        self.requests.append((path, list(query)))
        return self.pages.pop(0)

    @asynccontextmanager
    async def watch(
        self, path: str, query: Query, *, watch_timeout_seconds: float
    ) -> AsyncIterator[AsyncIterator[Json]]:
        self.requests.append((path, list(query)))
        events = self.watches.pop(0)

        async def stream() -> AsyncIterator[Json]:
            for event in events:
                yield event

        yield stream()


def informer(reader: Any, sink: RecordingSink, resource: ResourceKind = NAMESPACES, **kwargs: Any) -> Informer:
    return Informer(reader, resource, sink, **kwargs)


async def test_list_follows_continue_tokens_and_keeps_the_list_resource_version() -> None:
    reader = FakeReader(
        [
            {"metadata": {"resourceVersion": "10", "continue": "tok"}, "items": [ns("a")]},
            {"metadata": {"resourceVersion": "10"}, "items": [ns("b")]},
        ]
    )
    sink = RecordingSink()
    subject = informer(reader, sink, page_size=1)
    await subject.step()
    assert reader.requests == [
        ("/api/v1/namespaces", [("limit", "1")]),
        ("/api/v1/namespaces", [("limit", "1"), ("continue", "tok")]),
    ]
    assert sink.events == [
        ("Namespace", "added", ("", "a"), Namespace("a")),
        ("Namespace", "added", ("", "b"), Namespace("b")),
    ]
    assert (subject.resource_version, subject.synced, subject.list_count, sink.synced) == ("10", True, 1, ["Namespace"])


async def test_relist_deletes_what_disappeared_and_modifies_the_rest() -> None:
    reader = FakeReader(
        [
            {"metadata": {"resourceVersion": "10"}, "items": [ns("a"), ns("b")]},
            {"metadata": {"resourceVersion": "20"}, "items": [ns("b", "15")]},
        ]
    )
    sink = RecordingSink()
    subject = informer(reader, sink)
    await subject.list_once()
    await subject.list_once()
    assert sink.events[2:] == [
        ("Namespace", "modified", ("", "b"), Namespace("b")),
        ("Namespace", "deleted", ("", "a"), None),
    ]
    assert subject.keys == {("", "b")}
    assert sink.synced == ["Namespace"]  # synced once, not per list


async def test_watch_resumes_from_last_event_and_asks_for_bookmarks() -> None:
    reader = FakeReader(
        [{"metadata": {"resourceVersion": "10"}, "items": []}],
        watches=[
            [
                {"type": "ADDED", "object": ns("a", "11")},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "14"}}},
            ],
            [{"type": "DELETED", "object": ns("a", "15")}],
        ],
    )
    sink = RecordingSink()
    subject = informer(reader, sink, watch_timeout_seconds=300)
    await subject.step()  # list
    await subject.step()  # first watch, ends normally (server timeout)
    await subject.step()  # resumes without relisting
    assert [query for _, query in reader.requests[1:]] == [
        [("watch", "1"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "300"), ("resourceVersion", "10")],
        [("watch", "1"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "300"), ("resourceVersion", "14")],
    ]
    assert sink.events == [
        ("Namespace", "added", ("", "a"), Namespace("a")),
        ("Namespace", "deleted", ("", "a"), None),
    ]
    assert (subject.list_count, subject.watch_count, subject.resource_version) == (1, 2, "15")


def test_watch_error_410_means_relist_without_waiting() -> None:
    subject = informer(FakeReader([]), RecordingSink())
    subject.handle_event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}})
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version: 5 (40)"}
    with pytest.raises(ResourceExpiredError) as raised:
        subject.handle_event({"type": "ERROR", "object": status})
    assert subject.handle_error(raised.value) == 0.0
    assert (subject.resource_version, subject.last_error) == (None, "watch: too old resource version: 5 (40)")


def test_watch_refused_as_too_large_means_relist_without_waiting() -> None:
    """kube-apiserver's answer to a watch from a resourceVersion it has not reached (client-go relists)."""
    subject = informer(FakeReader([]), RecordingSink())
    subject.handle_event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5000"}}})
    status = {
        "kind": "Status",
        "code": 504,
        "reason": "Timeout",
        "message": "Timeout: Too large resource version: 5000, current: 310",
        "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]},
    }
    with pytest.raises(ResourceVersionTooLargeError) as raised:
        subject.handle_event({"type": "ERROR", "object": status})
    assert subject.handle_error(raised.value) == 0.0
    assert subject.resource_version is None


@pytest.mark.parametrize(
    ("status", "body", "too_large"),
    [
        (504, {"details": {"causes": [{"reason": "ResourceVersionTooLarge"}]}}, True),
        (504, {"message": "Timeout: Too large resource version: 9, current: 3"}, True),  # servers without causes
        (504, {"message": "Timeout: request did not complete within requested timeout"}, False),
        (500, {"message": "Too large resource version"}, False),
        (504, None, False),
    ],
)
def test_too_large_status_is_recognised_as_client_go_does(status: int, body: object, too_large: bool) -> None:
    assert is_too_large_status(status, body) is too_large


async def _no_events() -> AsyncIterator[Json]:
    events: list[Json] = []
    for event in events:
        yield event


async def test_a_watch_answered_with_504_too_large_relists_and_drops_what_is_gone() -> None:
    class RefusingReader(FakeReader):
        @asynccontextmanager
        async def watch(
            self, path: str, query: Query, *, watch_timeout_seconds: float
        ) -> AsyncIterator[AsyncIterator[Json]]:
            self.requests.append((path, list(query)))
            if query:  # always: the server refuses before the stream starts, as connection.watch raises
                raise ResourceVersionTooLargeError("504 from GET /api/v1/namespaces: Timeout: Too large", status=504)
            yield _no_events()

    reader = RefusingReader(
        [
            {"metadata": {"resourceVersion": "5000"}, "items": [ns("a"), ns("b")]},
            {"metadata": {"resourceVersion": "12"}, "items": [ns("b", "7")]},  # the restarted server
        ]
    )
    sink = RecordingSink()
    subject = informer(reader, sink)
    await subject.step()  # list at 5000
    with pytest.raises(ResourceVersionTooLargeError) as raised:
        await subject.step()  # watch from 5000: refused
    assert subject.handle_error(raised.value) == 0.0
    await subject.step()  # relist
    assert sink.events[2:] == [
        ("Namespace", "modified", ("", "b"), Namespace("b")),
        ("Namespace", "deleted", ("", "a"), None),
    ]
    assert (subject.resource_version, subject.list_count) == ("12", 2)


def test_events_older_than_the_informers_resource_version_mean_a_reset_server() -> None:
    sink = RecordingSink()
    subject = informer(FakeReader([]), sink)
    subject.handle_event({"type": "ADDED", "object": ns("a", "900")})
    with pytest.raises(ResourceVersionTooLargeError) as raised:
        subject.handle_event({"type": "MODIFIED", "object": ns("a", "12")})
    assert raised.value.message == (
        "watch: resourceVersion went backwards (12 after 900): the server's history was reset; relisting"
    )
    assert subject.handle_error(raised.value) == 0.0
    assert subject.resource_version is None
    assert len(sink.events) == 1  # the stale event was not applied


def test_watch_error_without_code_is_unavailable() -> None:
    subject = informer(FakeReader([]), RecordingSink())
    with pytest.raises(ClusterUnavailableError):
        subject.handle_event({"type": "ERROR", "object": {"message": "boom"}})


def test_errors_back_off_exponentially_and_honour_retry_after() -> None:
    backoff = Backoff(base_seconds=1.0, cap_seconds=4.0, floor_seconds=0.0)
    subject = informer(FakeReader([]), RecordingSink(), backoff=backoff)
    subject.resource_version = "7"
    delays = [subject.handle_error(ClusterUnavailableError("500", status=500)) for _ in range(5)]
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(0.0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert subject.resource_version == "7"  # a failure never throws the resume point away
    throttled = ClusterThrottledError("429", status=429, retry_after_seconds=9.0)
    assert subject.handle_error(throttled) == 9.0
    assert subject.error_count == 6
    assert not subject.healthy


def test_backoff_ceilings_are_exact_with_a_seeded_rng() -> None:
    backoff = Backoff(base_seconds=0.5, cap_seconds=3.0, floor_seconds=0.0)
    rng = random.Random(3)
    expected_rng = random.Random(3)
    observed = [backoff.next_delay(rng=rng) for _ in range(4)]
    assert observed == [expected_rng.uniform(0, ceiling) for ceiling in (0.5, 1.0, 2.0, 3.0)]
    backoff.reset()
    assert backoff.attempt == 0


def test_forbidden_counts_as_synced_for_readiness_but_stays_unhealthy() -> None:
    sink = RecordingSink()
    subject = informer(FakeReader([]), sink)
    subject.handle_error(ClusterForbiddenError("403 from GET /api/v1/namespaces", status=403))
    assert (subject.synced, sink.synced, subject.healthy) == (True, ["Namespace"], False)


def test_namespace_scoping_builds_one_informer_per_namespace_and_skips_namespaces() -> None:
    informers = build_informers(FakeReader([]), RecordingSink(), ["a", "b"])
    names = [each.name for each in informers]
    assert "Namespace" not in names
    assert "Node" in names
    assert [name for name in names if name.startswith("Pod@")] == ["Pod@a", "Pod@b"]
    assert PODS.path("a") == "/api/v1/namespaces/a/pods"
    assert len(build_informers(FakeReader([]), RecordingSink())) == len(RESOURCES)


def test_an_untranslatable_object_is_skipped_and_the_watch_goes_on() -> None:
    sink = RecordingSink()
    subject = informer(FakeReader([]), sink, resource=PODS)
    bad = {
        "metadata": {"name": "bad", "namespace": "a", "resourceVersion": "8"},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": "eighty"}]}]},
    }
    good = {"metadata": {"name": "good", "namespace": "a", "resourceVersion": "9"}, "spec": {"containers": []}}
    subject.handle_event({"type": "ADDED", "object": bad})
    subject.handle_event({"type": "ADDED", "object": good})
    assert [(kind, change, key) for kind, change, key, _ in sink.events] == [("Pod", "added", ("a", "good"))]
    assert subject.resource_version == "9"


async def test_garbage_collection_is_paused_during_a_list_and_restored_after() -> None:
    seen: list[bool] = []

    class Sink(RecordingSink):
        def apply(self, kind: str, event_type: EventType, key: ObjectKey, obj: object | None) -> None:
            seen.append(gc.isenabled())

    assert gc.isenabled()
    subject = informer(FakeReader([{"metadata": {"resourceVersion": "3"}, "items": [ns("a")]}]), Sink())
    await subject.list_once()
    assert (seen, gc.isenabled()) == ([False], True)


def test_a_kind_the_server_does_not_serve_is_empty_not_unhealthy() -> None:
    sink = RecordingSink()
    ingresses = next(r for r in RESOURCES if r.kind == "Ingress")
    subject = informer(FakeReader([]), sink, ingresses)
    subject.handle_error(ClusterNotFoundError("404 from GET /apis/networking.k8s.io/v1/ingresses", status=404))
    assert (subject.synced, sink.synced, subject.healthy) == (True, ["Ingress"], True)
    subject.handle_error(ClusterForbiddenError("403 from GET /apis/networking.k8s.io/v1/ingresses", status=403))
    assert subject.healthy is False  # a missing right stays visible in /health
