"""Shared fixtures. We test against the real thing: the embedded cluster over HTTP, not mocks."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep OPTIMIZER_* settings from the developer's shell out of every test."""
    for name in list(os.environ):
        if name.startswith("OPTIMIZER_"):
            monkeypatch.delenv(name)
