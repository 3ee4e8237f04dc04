"""The WebSocket hub: fans the live model's change feed out to clients, snapshot first and deltas after.

Flow: the hub reads the change feed, batches what arrived within `flush_seconds`, converts the batch
once against one fresh view (ws/convert.py) and offers the messages to every client whose topics and
namespace match (ws/clients.py holds the slow-client policy). Each client has a sender task, the only
code that writes to its socket. If the hub itself falls behind the feed, every client is resynced.
Sequence numbers are the model's change seq, valid within one process `epoch`: deltas at or below
what a client already has are skipped, and a `since` from another epoch (a restarted process, the
other replica) gets a fresh snapshot, so snapshots, replays and live deltas never double-apply and
deleted objects never linger. The hub only fans out: it does not run the analysis, it is told about
new reports (`publish_analysis`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from fastapi import WebSocket, WebSocketDisconnect

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.cache import ViewCache
from k8s_optimizer.api.metrics import ApiMetrics
from k8s_optimizer.api.ports import LiveModel
from k8s_optimizer.api.ws.clients import WsClient
from k8s_optimizer.api.ws.convert import analysis_messages, changes_to_messages, for_namespace, metrics_message
from k8s_optimizer.api.ws.protocol import (
    ClientOp,
    Control,
    Outgoing,
    SnapshotReason,
    dump,
    new_epoch,
    parse_frame,
    rate_limited,
)
from k8s_optimizer.api.ws.snapshots import SnapshotTexts
from k8s_optimizer.domain.changes import Change
from k8s_optimizer.recommend.model import AnalysisReport

logger = logging.getLogger(__name__)


class Hub:
    """Fans the model's change feed out to WebSocket clients (see the module docstring for the policy)."""

    def __init__(
        self,
        live: LiveModel,
        views: ViewCache,
        metrics: ApiMetrics,
        *,
        epoch: str | None = None,
        client_queue_size: int = 256,
        flush_seconds: float = 0.05,
        heartbeat_seconds: float = 15.0,
        feed_size: int = 20_000,
    ) -> None:
        self.live = live
        self.views = views
        self.metrics = metrics
        self.epoch = epoch or new_epoch()
        self.client_queue_size = client_queue_size
        self.flush_seconds = flush_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.feed_size = feed_size
        self.clients: set[WsClient] = set()
        self._pending: list[Change] = []
        self._wake = asyncio.Event()
        self._snapshots = SnapshotTexts(self.epoch)
        self._publishing: set[asyncio.Task[None]] = set()

    # -- feed side -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume the change feed forever; resubscribe (and resync everyone) after an overflow."""
        while True:
            subscription = self.live.subscribe(self.feed_size)
            async for change in subscription:
                self._pending.append(change)
                self._wake.set()
            if not subscription.overflowed:
                return
            logger.warning("WebSocket hub fell behind the change feed; resyncing %d clients", len(self.clients))
            self._pending.clear()
            self.resync_all()

    def resync_all(self) -> None:
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
                self.resync_all()

    async def flush(self) -> None:
        changes, self._pending = self._pending, []
        if not changes or not self.clients:
            return
        _, context = await self.views.fresh()
        for message in changes_to_messages(changes, context, epoch=self.epoch):
            self.broadcast(message)
        ticks = [change for change in changes if change.kind == "MetricsTick"]
        if ticks and any("metrics" in client.topics for client in self.clients):
            # Per-service usage sums every service: at 2,000 services that belongs off the event loop.
            self.broadcast(await asyncio.to_thread(metrics_message, context, ticks[-1].seq, self.epoch))

    def broadcast(self, message: Outgoing) -> None:
        for client in list(self.clients):
            if client.wants(message):
                client.offer(message)

    def publish_analysis(self, previous: AnalysisReport | None, report: AnalysisReport) -> None:
        """Send `recommendations` / `anomalies` messages when the sets of ids changed.

        At 10,000 containers building them takes ~100 ms, so they are built in a worker thread (and not at
        all with nobody connected); the task is kept so it is not collected mid-flight.
        """
        if not self.clients:
            return
        task = asyncio.get_running_loop().create_task(self._publish(previous, report, self.live.seq))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish(self, previous: AnalysisReport | None, report: AnalysisReport, seq: int) -> None:
        try:
            messages = await asyncio.to_thread(analysis_messages, previous, report, seq, self.epoch)
        except Exception:
            logger.exception("building the analysis messages failed; resyncing clients")
            self.resync_all()
            return
        for message in messages:
            self.broadcast(message)

    # -- client side ---------------------------------------------------------------------------------
    def connect(self) -> WsClient:
        client = WsClient(self.client_queue_size)
        self.clients.add(client)
        self.metrics.ws_clients = len(self.clients)
        return client

    def disconnect(self, client: WsClient) -> None:
        self.clients.discard(client)
        self.metrics.ws_clients = len(self.clients)

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
        if not client.allow_message():
            client.offer(rate_limited())
            return
        op = parse_frame(text)
        if isinstance(op, Control):
            client.offer(op)
        else:
            self._apply_op(client, op)

    def _apply_op(self, client: WsClient, op: ClientOp) -> None:
        if isinstance(op, s.PingOp):
            client.offer(Control("pong"))
        elif isinstance(op, s.UnsubscribeOp):
            client.topics.difference_update(op.topics)
        else:
            if op.namespace is not None:
                client.namespace = op.namespace or None
            client.offer(Control("subscribe", topics=tuple(op.topics), since=op.since, epoch=op.epoch))

    async def _send_loop(self, websocket: WebSocket, client: WsClient) -> None:
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), timeout=self.heartbeat_seconds)
            except TimeoutError:
                heartbeat = s.HeartbeatMessage(epoch=self.epoch, seq=max(client.last_seq, 0), at=datetime.now(UTC))
                await websocket.send_json(dump(heartbeat))
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
        payload = for_namespace(item.payload, client.namespace)
        payload["seq"] = max(item.seq, client.last_seq, 0)
        await websocket.send_json(payload)

    async def _send_control(self, websocket: WebSocket, client: WsClient, item: Control) -> None:
        seq = max(client.last_seq, 0)
        if item.action == "pong":
            await websocket.send_json(dump(s.PongMessage(epoch=self.epoch, seq=seq)))
        elif item.action == "error":
            error = {"type": "error", "epoch": self.epoch, "seq": seq, "code": item.code, "detail": item.detail}
            await websocket.send_json(error)
        elif item.action == "resync":
            client.resync_pending = False
            self.metrics.ws_resyncs += 1
            await self._send_snapshot(websocket, client, tuple(sorted(client.topics)), "resync")
        else:
            await self._subscribe(websocket, client, item)

    async def _subscribe(self, websocket: WebSocket, client: WsClient, item: Control) -> None:
        topics, since = item.topics, item.since
        client.topics.update(topics)
        if since is None:
            await self._send_snapshot(websocket, client, topics, "subscribe")
            return
        if item.epoch != self.epoch:
            # Another process's seq (a restart, the other replica): its numbers mean nothing here.
            await self._send_snapshot(websocket, client, topics, "epoch-changed")
            return
        changes = self.live.changes_since(since)
        if changes is None or since > self.live.seq:
            await self._send_snapshot(websocket, client, topics, "since-expired")
            return
        client.last_seq = max(client.last_seq, since)
        client.floor_seq = max(client.floor_seq, since)
        _, context = await self.views.fresh()
        replay = [
            m for m in changes_to_messages(changes, context, epoch=self.epoch) if m.topic in topics and client.wants(m)
        ]
        for message in replay:
            await self._send_outgoing(websocket, client, message)
        if changes:
            client.floor_seq = max(client.floor_seq, changes[-1].seq)

    async def _send_snapshot(
        self, websocket: WebSocket, client: WsClient, topics: tuple[s.Topic, ...], reason: SnapshotReason
    ) -> None:
        seq, context = await self.views.fresh()
        text = await self._snapshots.text(context, seq, reason, topics, client.namespace)
        client.last_seq = max(client.last_seq, seq)
        client.floor_seq = max(client.floor_seq, seq)
        await websocket.send_text(text)
