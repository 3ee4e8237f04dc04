"""Fixtures: the app wired to fakes at its Protocol seams, served through Starlette's TestClient."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.app import create_app
from k8s_optimizer.recommend.model import AnalysisReport
from k8s_optimizer.settings import Settings
from tests.api.fakes import FakeHistory, FakeLive, FakeWriter, build_report

TOKEN = "s3cret-token"


class Backend:
    """One app + client + its fakes."""

    def __init__(self, client: TestClient, live: FakeLive, writer: FakeWriter, history: FakeHistory) -> None:
        self.client = client
        self.live = live
        self.writer = writer
        self.history = history

    def in_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a fake's mutation on the app's event loop (the change feed is not thread-safe)."""
        assert self.client.portal is not None
        return self.client.portal.call(function, *args)

    def wait_analysis(self, timeout_seconds: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_seconds
        while self.client.app.state.api.views.report is None:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "analysis did not run"
            time.sleep(0.01)


BackendFactory = Callable[..., Backend]


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[BackendFactory]:
    clients: list[TestClient] = []

    def factory(*, report: AnalysisReport | None = None, live: FakeLive | None = None, **settings: Any) -> Backend:
        fake_live = live or FakeLive()
        writer = FakeWriter()
        history = FakeHistory()
        fixed = report or build_report()
        app = create_app(
            Settings(data_dir=tmp_path, **settings),
            live=fake_live,
            history=history,
            analyzer=lambda snapshot, histories, now: fixed,
            writer=writer,
        )
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        backend = Backend(client, fake_live, writer, history)
        if fake_live.synced:
            backend.wait_analysis()
        return backend

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def backend(make_backend: BackendFactory) -> Backend:
    return make_backend()


@pytest.fixture
def client(backend: Backend) -> TestClient:
    return backend.client
