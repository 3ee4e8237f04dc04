"""The browser tests' stack: the embedded cluster (demo scenario, with 3 h of pre-run history so there are
recommendations), the real backend (`k8s-optimizer serve`) on it, real nginx with dashboard/nginx.conf in
front, and Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard_servers import DIST, REPO, BackendServer, NginxServer
from tests.simcluster import SimCluster

ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def sim() -> Iterator[SimCluster]:
    # Speed 1: the HPA acts on the real-time scale, so it does not undo `kubectl scale` during a 2 s check.
    with SimCluster.start(scenario="demo", speed=1.0, history_hours=3.0, timeout_seconds=180) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def backend(sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendServer]:
    server = BackendServer(sim.kubeconfig, tmp_path_factory.mktemp("backend-data"))
    server.start_and_wait()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dashboard(backend: BackendServer) -> Iterator[NginxServer]:
    assert (DIST / "index.html").is_file(), "the dashboard is not built: run `make dashboard`"
    with NginxServer(backend.url) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API owns an event loop while it runs, and pytest-asyncio's
    # tests in later modules need the main thread's loop back.
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "chromium is not installed: `make system-deps` installs it"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, dashboard: NginxServer) -> Iterator[Any]:
    """A fresh page on the dashboard origin; fails the test on any uncaught page error."""
    context = browser.new_context(base_url=dashboard.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # nginx serves a strict CSP (no inline scripts); a violation is only a console error, so watch for it.
    page.on("console", lambda message: _record_csp_violation(message, errors))
    yield page
    context.close()
    assert errors == [], f"uncaught errors or CSP violations in the page: {errors}"


def _record_csp_violation(message: Any, errors: list[str]) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        errors.append(message.text)


def screenshot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
