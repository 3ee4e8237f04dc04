"""Watch caches' I/O half: paginated list, then watch from the list's resourceVersion, forever.

Why it is shaped like this: the informer must survive everything a real API server does — streams
that end after `timeoutSeconds` (resume from the last resourceVersion, no relist), compaction (410 Gone:
relist), a server whose resourceVersions went backwards (restarted, or etcd restored from a backup: a
watch refused as "Too large resource version", or events older than the list: relist, which drops the
objects that no longer exist), throttling and 5xx (exponential backoff with jitter, Retry-After
honoured). Each of those is
one small, tested method (`list_once`, `watch_once`, `handle_error`); `run()` only strings them
together (kopf's "thin infinite loop" rule). Objects leave here already translated into domain
dataclasses and go to an `InformerSink` (the live model), keyed by (namespace, name).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from k8s_optimizer.interpreter import GC_PAUSE
from k8s_optimizer.k8s import translate
from k8s_optimizer.k8s.connection import ApiReader, Json
from k8s_optimizer.k8s.errors import (
    ClusterError,
    ClusterForbiddenError,
    ClusterNotFoundError,
    ClusterThrottledError,
    ClusterUnavailableError,
    ResourceExpiredError,
    ResourceVersionTooLargeError,
    error_for_status,
    is_too_large_status,
)

logger = logging.getLogger(__name__)

EventType = Literal["added", "modified", "deleted"]
ObjectKey = tuple[str, str]

PAGE_SIZE = 500  # what client-go's reflector uses; keeps each page's JSON a few MB at most
WATCH_TIMEOUT_SECONDS = 300.0  # servers end watches around 5-10 min anyway; we resume without relisting


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """One watched resource: where it lives in the API and how its JSON becomes a domain object."""

    kind: str
    group_version: str  # 'v1' for the core group, else 'apps/v1'
    plural: str
    namespaced: bool
    translate: Callable[[Json], object]

    def path(self, namespace: str | None) -> str:
        prefix = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"


RESOURCES: tuple[ResourceKind, ...] = (
    ResourceKind("Namespace", "v1", "namespaces", False, translate.translate_namespace),
    ResourceKind("Node", "v1", "nodes", False, translate.translate_node),
    ResourceKind("Pod", "v1", "pods", True, translate.translate_pod),
    ResourceKind("Service", "v1", "services", True, translate.translate_service),
    ResourceKind("Endpoints", "v1", "endpoints", True, translate.translate_endpoints),
    ResourceKind("Deployment", "apps/v1", "deployments", True, translate.translate_deployment),
    ResourceKind("ReplicaSet", "apps/v1", "replicasets", True, translate.translate_replicaset),
    ResourceKind("StatefulSet", "apps/v1", "statefulsets", True, translate.translate_statefulset),
    ResourceKind("DaemonSet", "apps/v1", "daemonsets", True, translate.translate_daemonset),
    ResourceKind(
        "HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers", True, translate.translate_hpa
    ),
    ResourceKind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", True, translate.translate_pdb),
    ResourceKind("Event", "v1", "events", True, translate.translate_event),
    # The network as kube-proxy and the CNI see it: endpoints per slice (ready/serving/terminating,
    # zones, dual-stack), the policies that drop packets, and the Ingresses in front of Services.
    ResourceKind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True, translate.translate_endpoint_slice),
    ResourceKind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", True, translate.translate_network_policy),
    ResourceKind("Ingress", "networking.k8s.io/v1", "ingresses", True, translate.translate_ingress),
    ResourceKind("IngressClass", "networking.k8s.io/v1", "ingressclasses", False, translate.translate_ingress_class),
)


class InformerSink(Protocol):
    """What an informer feeds: the live model's caches."""

    def apply(self, kind: str, event_type: EventType, key: ObjectKey, obj: object | None) -> None: ...

    def informer_synced(self, informer: Informer) -> None: ...


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ)), at least `floor`.

    Full jitter spreads many clients' retries apart (they all saw the same 5xx at the same moment);
    a Retry-After from the server always wins when it asks for longer.
    """

    base_seconds: float = 0.25
    cap_seconds: float = 30.0
    floor_seconds: float = 0.05
    attempt: int = 0

    def next_delay(self, retry_after_seconds: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * (2**self.attempt))
        self.attempt += 1
        jittered = max(self.floor_seconds, (rng or random).uniform(0, ceiling))
        if retry_after_seconds is not None:
            return max(retry_after_seconds, jittered)
        return jittered

    def reset(self) -> None:
        self.attempt = 0


# Shared with the metrics collector (k8s_optimizer/interpreter.py says why lists pause the collector).
_GC = GC_PAUSE


def object_key(obj: Json) -> ObjectKey:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _resource_version(obj: Json) -> str | None:
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    value = meta.get("resourceVersion")
    return str(value) if value else None


class Informer:
    """List+watch of one resource kind (in one namespace, or all)."""

    def __init__(
        self,
        connection: ApiReader,
        resource: ResourceKind,
        sink: InformerSink,
        *,
        namespace: str | None = None,
        page_size: int = PAGE_SIZE,
        watch_timeout_seconds: float = WATCH_TIMEOUT_SECONDS,
        backoff: Backoff | None = None,
    ) -> None:
        self.connection = connection
        self.resource = resource
        self.sink = sink
        self.namespace = namespace
        self.page_size = page_size
        self.watch_timeout_seconds = watch_timeout_seconds
        self.backoff = backoff or Backoff()
        self.resource_version: str | None = None
        self.keys: set[ObjectKey] = set()
        self.synced = False
        self.list_count = 0
        self.watch_count = 0
        self.error_count = 0
        self.last_error: str | None = None
        self.not_served = False  # the last error was 404: the server has no such resource

    @property
    def name(self) -> str:
        return f"{self.resource.kind}@{self.namespace}" if self.namespace else self.resource.kind

    @property
    def healthy(self) -> bool:
        # A kind the server does not serve at all (an older cluster without the API group) is just
        # empty; a kind it refuses (RBAC) stays unhealthy so /health names the missing right.
        return self.last_error is None or self.not_served

    async def list_once(self) -> None:
        """Read every page, then replace this informer's share of the cache and remember the list's RV."""
        with _GC.paused():
            await self._list_and_replace()
        self.list_count += 1
        self._mark_ok()
        if not self.synced:
            self.synced = True
            self.sink.informer_synced(self)

    async def _list_and_replace(self) -> None:
        # Each page is translated as it arrives, so at most one page of raw JSON is alive at a time:
        # holding all 10,000 raw pods until the end peaked ~100 MB higher, and freed small objects
        # interleaved with the cached ones keep that peak resident (Python rarely returns arenas).
        path = self.resource.path(self.namespace)
        listed: list[tuple[ObjectKey, object | None]] = []
        token: str | None = None
        resource_version: str | None = None
        while True:
            query = [("limit", str(self.page_size))] + ([("continue", token)] if token else [])
            page = await self.connection.get_json(path, query)
            listed.extend(self._translate_page(page.get("items") or []))
            metadata: Mapping[str, Any] = page.get("metadata") or {}
            resource_version = str(metadata.get("resourceVersion") or "") or resource_version
            token = metadata.get("continue") or None
            del page
            if not token:
                break
        self._replace(listed)
        self.resource_version = resource_version

    def _replace(self, listed: list[tuple[ObjectKey, object | None]]) -> None:
        """Apply a full list; an object that failed to translate keeps its key (and its cached version)."""
        seen: set[ObjectKey] = set()
        for key, translated in listed:
            seen.add(key)
            if translated is not None:
                change: EventType = "modified" if key in self.keys else "added"
                self.sink.apply(self.resource.kind, change, key, translated)
        for key in self.keys - seen:
            self.sink.apply(self.resource.kind, "deleted", key, None)
        self.keys = seen

    async def watch_once(self) -> None:
        """Watch from the current resourceVersion until the server ends the stream.

        Raises ResourceExpiredError on 410 (the caller relists) and ClusterError on failures; in both
        cases `resource_version` keeps the last event seen, so a dropped stream resumes from there.
        """
        query = [
            ("watch", "1"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(int(self.watch_timeout_seconds))),
        ]
        if self.resource_version:
            query.append(("resourceVersion", self.resource_version))
        path = self.resource.path(self.namespace)
        self.watch_count += 1
        async with self.connection.watch(path, query, watch_timeout_seconds=self.watch_timeout_seconds) as events:
            self._mark_ok()  # the server accepted our resourceVersion: we are current again
            async for event in events:
                self.handle_event(event)
        self._mark_ok()

    def handle_event(self, event: Json) -> None:
        """Apply one watch event to the cache (pure bookkeeping; tested on hand-written events)."""
        event_type = str(event.get("type", ""))
        obj: Json = event.get("object") or {}
        if event_type == "ERROR":
            raise _watch_error(obj)
        resource_version = _resource_version(obj)
        if _went_backwards(self.resource_version, resource_version):
            raise ResourceVersionTooLargeError(
                f"watch: resourceVersion went backwards ({resource_version} after {self.resource_version}): "
                "the server's history was reset; relisting"
            )
        if event_type in ("ADDED", "MODIFIED", "DELETED"):
            key = object_key(obj)
            if event_type == "DELETED":
                self.keys.discard(key)
                self.sink.apply(self.resource.kind, "deleted", key, None)
            else:
                change: EventType = "modified" if key in self.keys else "added"
                self.keys.add(key)
                self._apply_translated(change, key, obj)
            self._mark_ok()
        if resource_version:
            self.resource_version = resource_version

    def _apply_translated(self, change: EventType, key: ObjectKey, obj: Json) -> None:
        translated = self._translate(key, obj)
        if translated is not None:
            self.sink.apply(self.resource.kind, change, key, translated)

    def _translate_page(self, items: list[Json]) -> list[tuple[ObjectKey, object | None]]:
        keys = [object_key(item) for item in items]
        return [(key, self._translate(key, item)) for key, item in zip(keys, items, strict=True)]

    def _translate(self, key: ObjectKey, obj: Json) -> object | None:
        try:
            translated: object = self.resource.translate(obj)
        except (TypeError, ValueError, KeyError, AttributeError):
            # One object the translator cannot read must not stop the watch of all the others.
            logger.exception("informer %s: cannot translate %s/%s; skipped", self.name, *key)
            return None
        return translated

    def _mark_ok(self) -> None:
        self.last_error = None
        self.not_served = False
        self.backoff.reset()

    def handle_error(self, error: ClusterError) -> float:
        """Record a failure and return how long to wait before the next attempt."""
        self.error_count += 1
        self.last_error = error.message
        if isinstance(error, ResourceExpiredError | ResourceVersionTooLargeError):
            self.resource_version = None  # relist; no wait: compaction or a reset is not a server in trouble
            return 0.0
        self.not_served = isinstance(error, ClusterNotFoundError)
        if isinstance(error, ClusterForbiddenError | ClusterNotFoundError) and not self.synced:
            # Without read rights (or without the API group) this cache stays empty; readiness must not
            # wait for it forever. Health keeps reporting the reason.
            self.synced = True
            self.sink.informer_synced(self)
        retry_after = error.retry_after_seconds if isinstance(error, ClusterThrottledError) else None
        return self.backoff.next_delay(retry_after)

    async def step(self) -> None:
        """One unit of work: list when there is no resourceVersion to resume from, else watch."""
        if self.resource_version is None:
            await self.list_once()
        else:
            await self.watch_once()

    async def run(self) -> None:
        """Forever: step, and on errors wait as handle_error says."""
        while True:
            try:
                await self.step()
            except ClusterError as error:
                delay_seconds = self.handle_error(error)
                logger.info("informer %s: %s; retrying in %.2fs", self.name, error.message, delay_seconds)
                await asyncio.sleep(delay_seconds)


def _went_backwards(current: str | None, seen: str | None) -> bool:
    """resourceVersions are opaque, but etcd's are increasing integers: a smaller one means a reset server."""
    if current is None or seen is None or not current.isdigit() or not seen.isdigit():
        return False
    return int(seen) < int(current)


def _watch_error(status: Json) -> ClusterError:
    code = status.get("code")
    message = str(status.get("message") or status.get("reason") or "watch error")
    if isinstance(code, int) and is_too_large_status(code, status):
        return ResourceVersionTooLargeError(f"watch: {message}", status=code)
    if isinstance(code, int):
        return error_for_status(code, f"watch: {message}")
    return ClusterUnavailableError(f"watch: {message}")
