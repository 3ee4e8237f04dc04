"""Snapshot texts: clients asking for the same snapshot of the same view share one build."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_optimizer.api.ws import convert
from tests.api.conftest import Backend
from tests.api.ws.conftest import receive


def test_clients_asking_for_the_same_snapshot_share_one_build(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[tuple[Any, ...]] = []
    real = convert.snapshot_text

    def counting(*args: Any) -> str:
        _, seq, _, reason, topics, namespace = args
        builds.append((seq, reason, topics, namespace))
        return real(*args)

    monkeypatch.setattr(convert, "snapshot_text", counting)
    texts = []
    for _ in range(3):
        with backend.client.websocket_connect("/ws") as ws:
            ws.send_json({"op": "subscribe", "topics": ["services", "workloads"], "namespace": "shop"})
            texts.append(receive(ws, "snapshot"))
    assert texts[0] == texts[1] == texts[2]
    assert [w["name"] for w in texts[0]["data"]["workloads"]] == ["web"]
    assert builds == [(texts[0]["seq"], "subscribe", ("services", "workloads"), "shop")]
