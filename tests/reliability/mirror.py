"""A WebSocket client that mirrors the backend's pods and services, the way the dashboard does.

It applies `snapshot` (replace) and `delta` (upsert/delete) messages, and when the socket drops it
reconnects and resubscribes with `since` = the last seq it saw and its `epoch`, as docs/api.md prescribes.
Runs in its own thread with the synchronous `websockets` client so the test's blocking calls (kubectl,
urllib) never stall it. Reliability tests compare its state to the REST API's and to `kubectl get`.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

TOPICS = ("pods", "services")
Key = tuple[str, str]


class WsMirror:
    """One mirroring client; `start()` runs it in a daemon thread until `stop()`."""

    def __init__(self, backend_url: str) -> None:
        self.url = backend_url.replace("http://", "ws://", 1) + "/ws"
        self.state: dict[str, dict[Key, dict[str, Any]]] = {topic: {} for topic in TOPICS}
        self.last_seq = -1
        self.epoch: str | None = None
        self.connections = 0  # 1 = never had to reconnect
        self.snapshots: list[str] = []  # reasons, in order
        self.messages = 0
        self.failure: BaseException | None = None  # anything but a dropped socket ends the mirror
        self.lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ws-mirror")

    def start(self) -> WsMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(15)
        assert not self._thread.is_alive(), "mirror thread did not stop"

    def keys(self, topic: str) -> set[Key]:
        with self.lock:
            return set(self.state[topic])

    def objects(self, topic: str) -> dict[Key, dict[str, Any]]:
        with self.lock:
            return dict(self.state[topic])

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._session()
                except (ConnectionClosed, InvalidHandshake, OSError):
                    time.sleep(0.2)  # the backend dropped us: reconnect with `since`
        except (AssertionError, KeyError, TypeError, ValueError) as error:  # surfaced through .failure
            self.failure = error

    def _session(self) -> None:
        with connect(self.url, open_timeout=10, max_size=None) as socket_:
            self.connections += 1
            subscribe: dict[str, Any] = {"op": "subscribe", "topics": list(TOPICS)}
            if self.last_seq >= 0 and self.epoch is not None:
                subscribe["since"], subscribe["epoch"] = self.last_seq, self.epoch
            socket_.send(json.dumps(subscribe))
            self._receive(socket_)

    def _receive(self, socket_: ClientConnection) -> None:
        while not self._stopping.is_set():
            try:
                raw = socket_.recv(timeout=0.5)
            except TimeoutError:
                continue
            self._apply(json.loads(raw))

    def _apply(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.messages += 1
            if message["epoch"] != self.epoch:  # a restarted backend numbers its changes afresh
                self.epoch, self.last_seq = message["epoch"], -1
            self.last_seq = max(self.last_seq, int(message["seq"]))
            if message["type"] == "snapshot":
                self.snapshots.append(message["reason"])
                for topic in message["topics"]:
                    if topic in self.state:
                        items = message["data"][topic]
                        self.state[topic] = {(item["namespace"], item["name"]): item for item in items}
            elif message["type"] == "delta" and message["topic"] in self.state:
                key = (message["namespace"], message["name"])
                if message["change"] == "deleted":
                    self.state[message["topic"]].pop(key, None)
                else:
                    self.state[message["topic"]][key] = message["object"]
            elif message["type"] == "error":
                raise AssertionError(f"server error message: {message}")
