"""Changes turned into messages: one conversion per batch, the Service of a changed pod touched too."""

from __future__ import annotations

import dataclasses
import json

from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.api.ws.convert import changes_to_messages
from k8s_optimizer.domain.changes import Change
from tests.api.fakes import FakeLive, build_report, build_snapshot, web_pod


def test_snapshot_helper_is_pure() -> None:
    # A resync never mutates the report or snapshot it reads.
    live = FakeLive()
    before = dataclasses.replace(live.current)
    assert before == live.current


def test_pod_change_touches_its_service_through_the_index_and_encodes_once() -> None:
    snapshot = build_snapshot()
    context = ViewContext.build(snapshot, build_report())
    assert context.topology.pod_services[("shop", "web-7d4b9-0")] == ["web"]
    pod = snapshot.pods[("shop", "web-7d4b9-0")]
    gone = web_pod(42)  # deleted: not in the view, found by scanning the selectors instead
    changes = [
        Change(7, "modified", "Pod", "shop", pod.name, pod),
        Change(8, "deleted", "Pod", "shop", gone.name, gone),
    ]
    messages = changes_to_messages(changes, context, epoch="e1")
    assert [(m.topic, m.payload["kind"], m.payload["name"], m.seq) for m in messages] == [
        ("pods", "Pod", "web-7d4b9-0", 7),
        ("pods", "Pod", "web-7d4b9-42", 8),
        ("services", "Service", "web", 8),
    ]
    for message in messages:
        assert json.loads(message.text) == message.payload
        assert message.payload["epoch"] == "e1"
