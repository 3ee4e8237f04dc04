"""watch: newline-delimited JSON events, resumable from a resourceVersion, as kube-apiserver streams them.

No resourceVersion (or "0") starts with ADDED events for the current state; a resourceVersion still in
the store's event log resumes after it; an older one gets a single ERROR event carrying a 410 Expired
Status. A resourceVersion newer than the store's (a client that watched this cluster before it was restarted,
or an etcd restored from a backup) waits up to 3 s for the store to catch up, then is refused with the
kube-apiserver watch cache's answer: HTTP 504, a `Timeout` Status "Too large resource version: X, current: Y"
with the cause `ResourceVersionTooLarge` and Retry-After 1; client-go's reflector relists on it. The queue is
opened before the backlog is read, with no await in between, so no event is lost or repeated. Bookmarks,
timeoutSeconds and the watch-drop fault end or annotate the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable

from aiohttp import web

from k8s_sim import tables
from k8s_sim.clock import SimClock
from k8s_sim.faults import Faults
from k8s_sim.selectors import FieldSelector, LabelSelector
from k8s_sim.store import ApiError, ObjectStore, WatchEvent
from k8s_sim.wire import (
    JSON,
    Cluster,
    Obj,
    Target,
    bad_request,
    matches,
    object_key,
    query_int,
    require_verb,
    selectors,
    status_response,
    wants_table,
)

DEFAULT_WATCH_TIMEOUT_SECONDS = 1800.0  # the real server picks 30-60 min when the client sets none
FRESHNESS_WAIT_SECONDS = 3.0  # the watch cache's blockTimeout before "Too large resource version"
TOO_LARGE_RETRY_SECONDS = 1  # the cacher's resourceVersionTooHighRetrySeconds
_BATCH_EVENTS = 256


async def watch(
    cluster: Cluster, faults: Faults, bookmark_interval_seconds: float, request: web.Request, target: Target
) -> web.StreamResponse:
    require_verb("watch", target.rt)
    labels, fields = selectors(request, target.rt)
    timeout_seconds = float(query_int(request, "timeoutSeconds", 0)) or DEFAULT_WATCH_TIMEOUT_SECONDS
    if faults.spec.watch_drop_seconds is not None:
        timeout_seconds = min(timeout_seconds, faults.spec.watch_drop_seconds)
    bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    include = request.query.get("includeObject", "Metadata")
    stream = WatchStream(cluster.store, cluster.clock, target, labels, fields, wants_table(request), include)
    resource_version = request.query.get("resourceVersion", "")
    too_large = await _wait_until_fresh(cluster.store, resource_version)
    if too_large is not None:
        return status_response(too_large, {"Retry-After": str(TOO_LARGE_RETRY_SECONDS)})
    queue = cluster.store.open_watch()
    try:
        backlog = _backlog(cluster.store, resource_version, target)
        response = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if backlog is None:
            await response.write(stream.expired(resource_version))
            return response
        if resource_version not in ("", "0"):
            stream.assume_held(backlog)
        await stream.send(response, backlog)
        await stream.follow(response, queue, timeout_seconds, bookmark_interval_seconds if bookmarks else None)
        return response
    finally:
        cluster.store.close_watch(queue)


async def _wait_until_fresh(store: ObjectStore, resource_version: str) -> ApiError | None:
    """None once the store has reached `resource_version` (at most FRESHNESS_WAIT_SECONDS), else the 504."""
    try:
        wanted = int(resource_version)
    except ValueError:
        return None  # "" and "0" start from the current state; anything else is _backlog's 400
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FRESHNESS_WAIT_SECONDS
    changes = store.open_watch()  # every write publishes here: wake on writes, not on a timer
    try:
        while store.revision < wanted and (remaining := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changes.get(), remaining)
    finally:
        store.close_watch(changes)
    if store.revision >= wanted:
        return None
    return too_large_resource_version(wanted, store.revision)


def too_large_resource_version(wanted: int, current: int) -> ApiError:
    """apimachinery's NewTimeoutError with the storage layer's ResourceVersionTooLarge cause."""
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        details={
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": TOO_LARGE_RETRY_SECONDS,
        },
    )


def _backlog(store: ObjectStore, resource_version: str, target: Target) -> list[WatchEvent] | None:
    """Events the watch starts with: current state when resourceVersion is unset/0, else the log since it."""
    if resource_version in ("", "0"):
        revision = store.revision
        return [
            WatchEvent("ADDED", target.rt, obj, revision) for obj in store.list_objects(target.rt, target.namespace)
        ]
    try:
        since = int(resource_version)
    except ValueError:
        raise bad_request(f"resourceVersion: invalid value {resource_version!r}") from None
    return store.events_since(since)


class WatchStream:
    """One watch response: filtering, Table conversion, bookmarks and the end of the stream."""

    def __init__(
        self,
        store: ObjectStore,
        clock: SimClock,
        target: Target,
        labels: LabelSelector,
        fields: FieldSelector,
        as_table: bool,
        include: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.target = target
        self.labels = labels
        self.fields = fields
        self.as_table = as_table
        self.include = include
        self.sent_columns = False
        self.filtered = not (labels.empty and fields.empty)
        # With selectors, an object that starts or stops matching is ADDED/DELETED for this watch, as
        # on a real server: remember which objects the client currently holds.
        self.matching: set[tuple[str, str]] = set()
        if self.filtered:
            current = store.list_objects(target.rt, target.namespace)
            self.matching = {object_key(obj) for obj in current if matches(obj, labels, fields)}

    def assume_held(self, backlog: Iterable[WatchEvent]) -> None:
        """On resume the client's selection at that version is unknown: objects that already existed then
        (their first replayed event is not ADDED) may be held, so leaving the selection reports DELETED."""
        if not self.filtered:
            return
        seen: set[tuple[str, str]] = set()
        for event in backlog:
            key = object_key(event.object)
            if key not in seen and event.type != "ADDED" and self._relevant(event):
                self.matching.add(key)
            seen.add(key)

    def _relevant(self, event: WatchEvent) -> bool:
        target = self.target
        if event.resource.key != target.rt.key:
            return False
        return target.namespace is None or event.object.get("metadata", {}).get("namespace") == target.namespace

    def _event_type(self, event: WatchEvent) -> str | None:
        """The type this watch reports for `event`, or None to skip it."""
        if not self._relevant(event):
            return None
        if not self.filtered:
            return event.type
        key = object_key(event.object)
        held = key in self.matching
        if event.type == "DELETED":
            self.matching.discard(key)
            return "DELETED" if held or matches(event.object, self.labels, self.fields) else None
        if matches(event.object, self.labels, self.fields):
            self.matching.add(key)
            return "MODIFIED" if held and event.type == "MODIFIED" else "ADDED"
        self.matching.discard(key)
        return "DELETED" if held else None

    def _encode(self, event_type: str, obj: Obj) -> bytes:
        if self.as_table and event_type not in ("ERROR", "BOOKMARK"):
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            # Column definitions go with the first event only; kubectl keeps printing under that header.
            obj = tables.table(
                self.target.rt.kind,
                [obj],
                self.clock.now_seconds(),
                include_object=self.include,
                list_meta=meta,
                with_columns=not self.sent_columns,
            )
            self.sent_columns = True
        return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"

    def expired(self, resource_version: str) -> bytes:
        message = f"too old resource version: {resource_version} ({self.store.oldest_resumable})"
        return self._encode("ERROR", ApiError(410, "Expired", message).status())

    async def send(self, response: web.StreamResponse, events: Iterable[WatchEvent]) -> None:
        chunk: list[bytes] = []
        for event in events:
            event_type = self._event_type(event)
            if event_type is not None:
                chunk.append(self._encode(event_type, event.object))
            if len(chunk) >= _BATCH_EVENTS:
                await response.write(b"".join(chunk))
                chunk = []
        if chunk:
            await response.write(b"".join(chunk))

    async def follow(
        self,
        response: web.StreamResponse,
        queue: asyncio.Queue[WatchEvent | None],
        timeout_seconds: float,
        bookmark_seconds: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        while (remaining := deadline - loop.time()) > 0:
            wait = min(remaining, bookmark_seconds) if bookmark_seconds else remaining
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if bookmark_seconds and deadline - loop.time() > 0:
                    await response.write(self._bookmark())
                continue
            batch, dropped = _drain(queue, event)
            await self.send(response, batch)
            if dropped:
                return  # dropped (fault injection or shutdown): the client resumes from its last rv

    def _bookmark(self) -> bytes:
        rt = self.target.rt
        metadata = {"resourceVersion": str(self.store.revision)}
        obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": metadata}
        return json.dumps({"type": "BOOKMARK", "object": obj}, separators=(",", ":")).encode() + b"\n"


def _drain(queue: asyncio.Queue[WatchEvent | None], first: WatchEvent | None) -> tuple[list[WatchEvent], bool]:
    """Everything already queued, as one batch; True when the stream was told to end (a None marker)."""
    batch: list[WatchEvent] = []
    item = first
    while True:
        if item is None:
            return batch, True
        batch.append(item)
        if queue.empty():
            return batch, False
        item = queue.get_nowait()
