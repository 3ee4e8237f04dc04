"""The WebSocket hub: one socket per client, topics multiplexed, snapshot first and deltas after.

Flow: the hub reads the live model's change feed, batches what arrived within `flush_seconds`, turns
the batch into messages once (the same object shapes as REST, from one fresh `ViewContext`) and offers
them to every client whose topics and namespace match. Each client has a bounded queue drained by its
own sender task, the only code that writes to its socket. Policy for slow clients: when a client's
queue is full its pending messages are dropped and it gets a fresh snapshot instead (`resync`), so it
neither blocks the others nor grows memory. If the hub itself falls behind the model's feed, every
client is resynced. Sequence numbers are the model's change seq: deltas at or below what a client
already has are skipped, so snapshots, `since` replays and live deltas never double-apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.state import ApiState
from k8s_optimizer.api.views import ViewContext, anomaly_out, event_out, hpa_out, recommendation_out
from k8s_optimizer.domain.changes import Change
from k8s_optimizer.domain.objects import Pod, Service
from k8s_optimizer.recommend.model import AnalysisReport

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
MESSAGES_PER_SECOND = 20.0
_CLIENT_MESSAGES: TypeAdapter[s.SubscribeOp | s.UnsubscribeOp | s.PingOp] = TypeAdapter(s.ClientMessage)

_TOPIC_OF_KIND: dict[str, s.Topic] = {
    "Pod": "pods",
    "Service": "services",
    "Deployment": "workloads",
    "StatefulSet": "workloads",
    "DaemonSet": "workloads",
    "HorizontalPodAutoscaler": "hpa",
    "HPAReplicas": "hpa",
    "Node": "nodes",
    "Event": "events",
}
_SERVICE_TOUCHING_KINDS = frozenset({"Endpoints", "ServiceEndpoints", "ServiceReadiness"})
_NAMESPACED_LIST_KEYS = ("pods", "services", "items")
SnapshotReason = Literal["subscribe", "resync", "since-expired"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for every client subscribed to `topic` (and to `namespace`, '' = any)."""

    topic: s.Topic
    namespace: str
    seq: int
    payload: dict[str, Any]
    is_delta: bool = False
    text: str = ""
    """Deltas: the payload encoded once, so fanning out to 1,000 clients does not encode it 1,000 times."""


@dataclass(slots=True)
class Control:
    action: Literal["resync", "subscribe", "error", "pong"]
    topics: tuple[s.Topic, ...] = ()
    since: int | None = None
    code: str = ""
    detail: str = ""


Item = Outgoing | Control


@dataclass(eq=False, slots=True)
class WsClient:
    queue_size: int
    topics: set[s.Topic] = field(default_factory=set)
    namespace: str | None = None
    last_seq: int = -1
    floor_seq: int = -1
    """Deltas at or below this seq are already covered by a snapshot or a replay."""
    resync_pending: bool = False
    queue: asyncio.Queue[Item] = field(init=False)
    tokens: float = MESSAGES_PER_SECOND
    tokens_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def wants(self, message: Outgoing) -> bool:
        if message.topic not in self.topics:
            return False
        return self.namespace is None or message.namespace in ("", self.namespace)

    def offer(self, item: Item) -> bool:
        """Queue without blocking; on overflow drop the backlog and queue one resync. False if resynced."""
        if self.resync_pending and isinstance(item, Outgoing):
            return True  # the coming snapshot covers it
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.resync_pending = True
            self.queue.put_nowait(Control("resync"))
            return False
        return True

    def allow_message(self) -> bool:
        """Token bucket: MESSAGES_PER_SECOND sustained, the same as burst."""
        now = time.monotonic()
        self.tokens = min(MESSAGES_PER_SECOND, self.tokens + (now - self.tokens_at) * MESSAGES_PER_SECOND)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _dump(model: s.Model) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _delta(topic: s.Topic, namespace: str, seq: int, message: s.DeltaMessage) -> Outgoing:
    payload = _dump(message)
    # The same encoding as WebSocket.send_json, done once per message instead of once per client.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Outgoing(topic, namespace, seq, payload, is_delta=True, text=text)


# ------------------------------------------------------------------------------------------ conversion


class _Batch:
    """Turns a batch of changes into messages against one context."""

    def __init__(self, context: ViewContext) -> None:
        self.context = context
        self.out: list[Outgoing] = []
        self.touched_services: dict[tuple[str, str], int] = {}

    def delta(self, change: Change, topic: s.Topic, kind: str, obj: s.Model | None) -> None:
        message = s.DeltaMessage(
            seq=change.seq,
            topic=topic,
            change="deleted" if obj is None else change.type,
            kind=kind,
            namespace=change.namespace,
            name=change.name,
            object=None if obj is None else _dump(obj),
        )
        self.out.append(_delta(topic, change.namespace, change.seq, message))

    def touch_services_of_pod(self, pod: Pod, seq: int) -> None:
        key = (pod.namespace, pod.name)
        if self.context.snapshot.pods.get(key) is pod:
            for name in self.context.pod_services.get(key, ()):  # the view's index, not a scan of every service
                self.touched_services[(pod.namespace, name)] = seq
            return
        for (namespace, name), service in self.context.snapshot.services.items():
            if namespace == pod.namespace and service.selector and _selects(service, pod):
                self.touched_services[(namespace, name)] = seq

    def add(self, change: Change) -> None:
        if change.kind in _SERVICE_TOUCHING_KINDS:
            self.touched_services[(change.namespace, change.name)] = change.seq
            return
        topic = _TOPIC_OF_KIND.get(change.kind)
        if topic is None:
            return
        handler = getattr(self, f"_add_{topic}")
        handler(change, topic)

    def _add_pods(self, change: Change, topic: s.Topic) -> None:
        pod = self.context.snapshot.pods.get((change.namespace, change.name))
        if change.type == "deleted" or pod is None:
            if isinstance(change.object, Pod):
                self.touch_services_of_pod(change.object, change.seq)
            self.delta(change, topic, "Pod", None)
            return
        self.touch_services_of_pod(pod, change.seq)
        self.delta(change, topic, "Pod", self.context.pod_out(pod))

    def _add_services(self, change: Change, topic: s.Topic) -> None:
        service = self.context.snapshot.services.get((change.namespace, change.name))
        self.delta(change, topic, "Service", None if service is None else self.context.service_summary(service))

    def _add_workloads(self, change: Change, topic: s.Topic) -> None:
        workload = self.context.snapshot.workloads.get((change.kind, change.namespace, change.name))
        summary = None if workload is None else self.context.workload_summary(workload)
        self.delta(change, topic, change.kind, summary)
        for name in self.context.workload_services.get((change.kind, change.namespace, change.name), []):
            self.touched_services[(change.namespace, name)] = change.seq

    def _add_hpa(self, change: Change, topic: s.Topic) -> None:
        hpa = self.context.snapshot.hpas.get((change.namespace, change.name))
        self.delta(change, topic, "HorizontalPodAutoscaler", None if hpa is None else hpa_out(hpa))

    def _add_nodes(self, change: Change, topic: s.Topic) -> None:
        node = self.context.snapshot.nodes.get(change.name)
        self.delta(change, topic, "Node", None if node is None else self.context.node_out(node))

    def _add_events(self, change: Change, topic: s.Topic) -> None:
        event = self.context.snapshot.events.get((change.namespace, change.name))
        self.delta(change, topic, "Event", None if event is None else event_out(event))

    def finish(self) -> list[Outgoing]:
        services = self.context.snapshot.services
        for (namespace, name), seq in self.touched_services.items():
            service = services.get((namespace, name))
            if service is None:
                continue
            message = s.DeltaMessage(
                seq=seq,
                topic="services",
                change="modified",
                kind="Service",
                namespace=namespace,
                name=name,
                object=_dump(self.context.service_summary(service)),
            )
            self.out.append(_delta("services", namespace, seq, message))
        self.out.sort(key=lambda message: message.seq)
        return self.out


def _selects(service: Service, pod: Pod) -> bool:
    selector = service.selector or {}
    return all(pod.labels.get(key) == value for key, value in selector.items())


def changes_to_messages(changes: Iterable[Change], context: ViewContext) -> list[Outgoing]:
    batch = _Batch(context)
    for change in changes:
        batch.add(change)
    return batch.finish()


def metrics_data(context: ViewContext) -> s.MetricsData:
    """Per-pod and per-service usage from the context's latest scrape."""
    usage = context.snapshot.container_usage
    pods: list[s.PodUsage] = []
    totals: dict[tuple[str, str], tuple[float, int]] = {}
    for (namespace, pod, _), reading in usage.items():
        cpu, memory = totals.get((namespace, pod), (0.0, 0))
        totals[(namespace, pod)] = (cpu + reading.cpu_millicores, memory + reading.memory_bytes)
    for (namespace, pod), (cpu, memory) in sorted(totals.items()):
        pods.append(s.PodUsage(namespace=namespace, name=pod, cpu_millicores=round(cpu, 3), memory_bytes=memory))
    services = []
    for service in context.snapshot.services.values():
        summary = context.service_summary(service)
        if summary.resources.cpu_usage_millicores is None:
            continue
        services.append(
            s.ServiceUsage(
                namespace=service.namespace,
                name=service.name,
                cpu_millicores=summary.resources.cpu_usage_millicores,
                memory_bytes=summary.resources.memory_usage_bytes or 0,
                cpu_request_millicores=summary.resources.cpu_request_millicores,
                memory_request_bytes=summary.resources.memory_request_bytes,
            )
        )
    stamps = [reading.timestamp for reading in usage.values()]
    return s.MetricsData(timestamp=max(stamps) if stamps else None, pods=pods, services=services)


def _for_namespace(payload: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """Filter a metrics/recommendations/anomalies payload's lists to one namespace."""
    if namespace is None:
        return payload
    filtered = dict(payload)
    for key in _NAMESPACED_LIST_KEYS:
        if key in filtered:
            filtered[key] = [item for item in filtered[key] if _item_namespace(item) == namespace]
    return filtered


def _item_namespace(item: dict[str, Any]) -> str | None:
    if "namespace" in item:
        return str(item["namespace"])
    target = item.get("target")
    return str(target.get("namespace")) if isinstance(target, dict) else None


def _object_lists(context: ViewContext, wanted: set[s.Topic], namespace: str | None) -> dict[str, Any]:
    def in_ns(ns: str) -> bool:
        return namespace is None or ns == namespace

    snap = context.snapshot
    builders: dict[s.Topic, Callable[[], list[Any]]] = {
        "services": lambda: [context.service_summary(v) for k, v in sorted(snap.services.items()) if in_ns(k[0])],
        "pods": lambda: [context.pod_out(v) for k, v in sorted(snap.pods.items()) if in_ns(k[0])],
        "nodes": lambda: [context.node_out(v) for _, v in sorted(snap.nodes.items())],
        "hpa": lambda: [hpa_out(v) for k, v in sorted(snap.hpas.items()) if in_ns(k[0])],
        "workloads": lambda: [context.workload_summary(w) for w in context.served_workloads() if in_ns(w.namespace)],
        "events": lambda: [event_out(v) for k, v in sorted(snap.events.items()) if in_ns(k[0])],
    }
    return {topic: build() for topic, build in builders.items() if topic in wanted}


def snapshot_data(context: ViewContext, topics: Iterable[s.Topic], namespace: str | None) -> s.SnapshotData:
    """The full state of `topics`, in the REST shapes."""
    wanted = set(topics)
    data = _object_lists(context, wanted, namespace)
    if "metrics" in wanted:
        data["metrics"] = s.MetricsData.model_validate(_for_namespace(_dump(metrics_data(context)), namespace))
    report = context.report
    if "recommendations" in wanted:
        recs = report.recommendations if report else ()
        data["recommendations"] = [
            recommendation_out(r) for r in recs if namespace is None or r.target.namespace == namespace
        ]
    if "anomalies" in wanted:
        anomalies = report.anomalies if report else ()
        data["anomalies"] = [anomaly_out(a) for a in anomalies if namespace is None or a.target.namespace == namespace]
    return s.SnapshotData(**data)


# ------------------------------------------------------------------------------------------ the hub


class Hub:
    """Fans the model's change feed out to WebSocket clients (see the module docstring for the policy)."""

    def __init__(
        self,
        state: ApiState,
        *,
        client_queue_size: int = 256,
        flush_seconds: float = 0.05,
        heartbeat_seconds: float = 15.0,
        feed_size: int = 20_000,
        on_metrics_tick: asyncio.Event | None = None,
    ) -> None:
        self.state = state
        self.client_queue_size = client_queue_size
        self.flush_seconds = flush_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.feed_size = feed_size
        self.on_metrics_tick = on_metrics_tick
        self.clients: set[WsClient] = set()
        self._pending: list[Change] = []
        self._wake = asyncio.Event()
        # Snapshot texts of the current view, shared by every client asking for the same one (1,000
        # dashboards subscribing to the same topics cost one build, not 1,000).
        self._snapshots: dict[tuple[int, str, tuple[s.Topic, ...], str | None], asyncio.Future[str]] = {}
        self._snapshots_for: ViewContext | None = None

    # -- feed side -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the change feed forever; resubscribe (and resync everyone) after an overflow."""
        while True:
            subscription = self.state.live.subscribe(self.feed_size)
            async for change in subscription:
                self._pending.append(change)
                self._wake.set()
                if change.kind == "MetricsTick" and self.on_metrics_tick is not None:
                    self.on_metrics_tick.set()
            if not subscription.overflowed:
                return
            logger.warning("WebSocket hub fell behind the change feed; resyncing %d clients", len(self.clients))
            self._pending.clear()
            for client in self.clients:
                client.offer(Control("resync"))

    async def run_flusher(self) -> None:
        last_flush = float("-inf")
        while True:
            await self._wake.wait()
            # Leading edge: a change after a quiet spell goes out at once (the batching delay was a fixed
            # 50 ms of every delta's latency); a burst is still batched, at most one flush per flush_seconds.
            await asyncio.sleep(max(0.0, self.flush_seconds - (time.monotonic() - last_flush)))
            self._wake.clear()
            last_flush = time.monotonic()
            try:
                await self.flush()
            except Exception:
                # One bad conversion must not silence every client; they get a snapshot instead.
                logger.exception("WebSocket flush failed; resyncing clients")
                for client in self.clients:
                    client.offer(Control("resync"))

    async def flush(self) -> None:
        changes, self._pending = self._pending, []
        if not changes or not self.clients:
            return
        _, context = await self.state.views.fresh()
        for message in changes_to_messages(changes, context):
            self.broadcast(message)
        ticks = [change for change in changes if change.kind == "MetricsTick"]
        if ticks and any("metrics" in client.topics for client in self.clients):
            # Per-service usage sums every service: at 2,000 services that belongs off the event loop.
            data = await asyncio.to_thread(metrics_data, context)
            payload = {"type": "metrics", "seq": ticks[-1].seq, **_dump(data)}
            self.broadcast(Outgoing("metrics", "", ticks[-1].seq, payload))

    def broadcast(self, message: Outgoing) -> None:
        for client in list(self.clients):
            if client.wants(message):
                client.offer(message)

    def publish_analysis(self, previous: AnalysisReport | None, report: AnalysisReport) -> None:
        """Send `recommendations` / `anomalies` messages when the sets of ids changed."""
        if not self.clients:
            return  # nobody to tell: at 10,000 containers building the messages costs the event loop ~100 ms
        seq = self.state.live.seq
        old_recs = {r.id for r in previous.recommendations} if previous else set()
        new_recs = {r.id for r in report.recommendations}
        if previous is None or old_recs != new_recs:
            message = s.RecommendationsMessage(
                seq=seq,
                items=[recommendation_out(r) for r in report.recommendations],
                added=sorted(new_recs - old_recs),
                removed=sorted(old_recs - new_recs),
            )
            self.broadcast(Outgoing("recommendations", "", seq, _dump(message)))
        old_anomalies = {anomaly_out(a).id for a in previous.anomalies} if previous else set()
        items = [anomaly_out(a) for a in report.anomalies]
        new_anomalies = {a.id for a in items}
        if previous is None or old_anomalies != new_anomalies:
            message_a = s.AnomaliesMessage(
                seq=seq,
                items=items,
                added=sorted(new_anomalies - old_anomalies),
                removed=sorted(old_anomalies - new_anomalies),
            )
            self.broadcast(Outgoing("anomalies", "", seq, _dump(message_a)))

    # -- client side ---------------------------------------------------------------------------------
    def connect(self) -> WsClient:
        client = WsClient(self.client_queue_size)
        self.clients.add(client)
        self.state.metrics.ws_clients = len(self.clients)
        return client

    def disconnect(self, client: WsClient) -> None:
        self.clients.discard(client)
        self.state.metrics.ws_clients = len(self.clients)

    async def serve(self, websocket: WebSocket) -> None:
        """Run one accepted connection until the client leaves."""
        client = self.connect()
        sender = asyncio.create_task(self._send_loop(websocket, client), name="ws-sender")
        try:
            await self._receive_loop(websocket, client, sender)
        finally:
            self.disconnect(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await sender

    async def _receive_loop(self, websocket: WebSocket, client: WsClient, sender: asyncio.Task[None]) -> None:
        while not sender.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", errors="replace")
            self._handle_frame(client, text or "")

    def _handle_frame(self, client: WsClient, text: str) -> None:
        if len(text.encode()) > MAX_FRAME_BYTES:
            client.offer(Control("error", code="too-large", detail=f"frames are limited to {MAX_FRAME_BYTES} bytes"))
            return
        if not client.allow_message():
            client.offer(
                Control("error", code="rate-limited", detail=f"at most {MESSAGES_PER_SECOND:g} messages per second")
            )
            return
        try:
            json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested arrays (reliability fuzz)
            client.offer(Control("error", code="bad-json", detail=f"frame is not JSON: {exc}"))
            return
        try:
            op = _CLIENT_MESSAGES.validate_json(text)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'op'}: {e['msg']}" for e in exc.errors())
            client.offer(Control("error", code="bad-message", detail=detail))
            return
        self._apply_op(client, op)

    def _apply_op(self, client: WsClient, op: s.SubscribeOp | s.UnsubscribeOp | s.PingOp) -> None:
        if isinstance(op, s.PingOp):
            client.offer(Control("pong"))
        elif isinstance(op, s.UnsubscribeOp):
            client.topics.difference_update(op.topics)
        else:
            if op.namespace is not None:
                client.namespace = op.namespace or None
            client.offer(Control("subscribe", topics=tuple(op.topics), since=op.since))

    async def _send_loop(self, websocket: WebSocket, client: WsClient) -> None:
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), timeout=self.heartbeat_seconds)
            except TimeoutError:
                heartbeat = s.HeartbeatMessage(seq=max(client.last_seq, 0), at=datetime.now(UTC))
                await websocket.send_json(_dump(heartbeat))
                continue
            if isinstance(item, Outgoing):
                await self._send_outgoing(websocket, client, item)
            else:
                await self._send_control(websocket, client, item)

    async def _send_outgoing(self, websocket: WebSocket, client: WsClient, item: Outgoing) -> None:
        if item.is_delta:
            if item.seq <= client.floor_seq:
                return
            client.last_seq = max(client.last_seq, item.seq)
            await websocket.send_text(item.text)
            return
        payload = _for_namespace(item.payload, client.namespace)
        payload["seq"] = max(item.seq, client.last_seq, 0)
        await websocket.send_json(payload)

    async def _send_control(self, websocket: WebSocket, client: WsClient, item: Control) -> None:
        seq = max(client.last_seq, 0)
        if item.action == "pong":
            await websocket.send_json(_dump(s.PongMessage(seq=seq)))
        elif item.action == "error":
            await websocket.send_json({"type": "error", "seq": seq, "code": item.code, "detail": item.detail})
        elif item.action == "resync":
            client.resync_pending = False
            self.state.metrics.ws_resyncs += 1
            await self._send_snapshot(websocket, client, tuple(sorted(client.topics)), "resync")
        else:
            await self._subscribe(websocket, client, item.topics, item.since)

    async def _subscribe(
        self, websocket: WebSocket, client: WsClient, topics: tuple[s.Topic, ...], since: int | None
    ) -> None:
        client.topics.update(topics)
        if since is None:
            await self._send_snapshot(websocket, client, topics, "subscribe")
            return
        changes = self.state.live.changes_since(since)
        # A seq above the current one was issued by an earlier backend process (restart): start over.
        if changes is None or since > self.state.live.seq:
            await self._send_snapshot(websocket, client, topics, "since-expired")
            return
        client.last_seq = max(client.last_seq, since)
        client.floor_seq = max(client.floor_seq, since)
        _, context = await self.state.views.fresh()
        replay = [m for m in changes_to_messages(changes, context) if m.topic in topics and client.wants(m)]
        for message in replay:
            await self._send_outgoing(websocket, client, message)
        if changes:
            client.floor_seq = max(client.floor_seq, changes[-1].seq)

    async def _send_snapshot(
        self, websocket: WebSocket, client: WsClient, topics: tuple[s.Topic, ...], reason: SnapshotReason
    ) -> None:
        seq, context = await self.state.views.fresh()
        text = await self._snapshot_text(context, seq, reason, topics, client.namespace)
        client.last_seq = max(client.last_seq, seq)
        client.floor_seq = max(client.floor_seq, seq)
        await websocket.send_text(text)

    async def _snapshot_text(
        self,
        context: ViewContext,
        seq: int,
        reason: SnapshotReason,
        topics: tuple[s.Topic, ...],
        namespace: str | None,
    ) -> str:
        """Build (once per view and request shape) and encode a snapshot off the event loop."""
        if self._snapshots_for is not context:
            self._snapshots, self._snapshots_for = {}, context
        key = (seq, reason, topics, namespace)
        built = self._snapshots.get(key)
        if built is None:
            if len(self._snapshots) >= _SNAPSHOT_CACHE_ENTRIES:
                self._snapshots.clear()  # waiters keep their futures; only new requests rebuild
            # Building and encoding 10,000 pods takes seconds: do it in a worker thread.
            built = asyncio.ensure_future(asyncio.to_thread(_snapshot_text, context, seq, reason, topics, namespace))
            self._snapshots[key] = built
        try:
            return await asyncio.shield(built)
        except Exception:
            if self._snapshots.get(key) is built:
                del self._snapshots[key]  # a failed build is not cached
            raise


_SNAPSHOT_CACHE_ENTRIES = 32


def _snapshot_text(
    context: ViewContext, seq: int, reason: SnapshotReason, topics: tuple[s.Topic, ...], namespace: str | None
) -> str:
    message = s.SnapshotMessage(
        seq=seq,
        reason=reason,
        topics=list(topics),
        namespace=namespace,
        data=snapshot_data(context, topics, namespace),
    )
    return message.model_dump_json()


# ------------------------------------------------------------------------------------------ handshake


def handshake_problem(websocket: WebSocket, allowed_origins: list[str], token: str | None) -> str | None:
    """Why this upgrade must be refused (cross-site WebSocket hijacking, missing token), or None."""
    origin = websocket.headers.get("origin")
    if origin is not None and not _origin_allowed(
        origin, websocket.headers.get("host", ""), allowed_origins, _scheme(websocket)
    ):
        return f"origin {origin!r} is not allowed"
    if token is not None:
        offered = websocket.query_params.get("token") or _bearer(websocket.headers.get("authorization"))
        if offered is None or not hmac.compare_digest(offered.encode(), token.encode()):
            return "a valid token is required (?token= or Authorization: Bearer)"
    return None


def _scheme(websocket: WebSocket) -> str:
    """The page's scheme for a same-origin socket: the proxy's X-Forwarded-Proto, else ws→http, wss→https."""
    forwarded = websocket.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded in {"http", "https"}:
        return forwarded
    return "https" if websocket.url.scheme == "wss" else "http"


def _origin_allowed(origin: str, host: str, allowed_origins: list[str], scheme: str) -> bool:
    if origin.rstrip("/") in {o.rstrip("/") for o in allowed_origins}:
        return True
    parts = urlsplit(origin)  # same origin is scheme and host[:port]: https://h is not http://h
    return bool(host) and parts.scheme.lower() == scheme and parts.netloc.lower() == host.lower()


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
