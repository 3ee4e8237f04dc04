"""Shared fixtures. We test against the real thing: the embedded cluster over HTTP, not mocks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep OPTIMIZER_* settings from the developer's shell out of every test."""
    for name in list(os.environ):
        if name.startswith("OPTIMIZER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPTIMIZER_ALLOWED_HOSTS", TEST_CLIENT_HOST)


TEST_CLIENT_HOST = "testserver"


@pytest.fixture(autouse=True, scope="session")
def _test_client_host() -> Iterator[None]:
    """Starlette's TestClient sends `Host: testserver`, which the Host allow-list (api/guard.py) refuses by
    default; module- and session-scoped apps are built before `_clean_environ` runs, hence this one too.
    The guard's own tests pass `allowed_hosts` explicitly, which wins over the environment."""
    os.environ["OPTIMIZER_ALLOWED_HOSTS"] = TEST_CLIENT_HOST
    yield
    os.environ.pop("OPTIMIZER_ALLOWED_HOSTS", None)
