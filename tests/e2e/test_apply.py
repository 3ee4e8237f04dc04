"""Apply and roll back from the browser against a backend that allows it (apply enabled, bearer token).

A second backend and nginx run on the shared embedded cluster with OPTIMIZER_APPLY_ENABLED and a token.
Such a backend also refuses token-less WebSockets, so the dashboard first shows *reconnecting*, offers the
token form, and goes live once the token is entered; then a recommendation is dry-run (server-side diff),
applied, and rolled back from the change history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard_servers import BackendServer, NginxServer
from tests.e2e.a11y import axe_blocking, resize, sideways_overflow
from tests.e2e.conftest import screenshot
from tests.simcluster import SimCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKEN = "e2e-apply-token-0123456789"


@pytest.fixture(scope="module")
def apply_dashboard(sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    backend = BackendServer(
        sim.kubeconfig,
        tmp_path_factory.mktemp("apply-backend-data"),
        extra_env={"OPTIMIZER_APPLY_ENABLED": "true", "OPTIMIZER_APPLY_TOKEN": TOKEN},
    )
    backend.start_and_wait()
    try:
        with NginxServer(backend.url) as server:
            yield server
    finally:
        backend.stop()


def test_token_dry_run_apply_and_rollback(browser: Any, apply_dashboard: NginxServer) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=apply_dashboard.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/recommendations")
        indicator = page.get_by_test_id("connection-state")
        expect(indicator).to_have_attribute("data-state", "reconnecting")
        page.get_by_role("button", name="Token…").click()
        assert axe_blocking(page) == []  # the token form, open over the page
        # On a phone the form stays on screen and the page does not scroll sideways.
        resize(page, 390, 844)
        form = page.get_by_test_id("token-form").bounding_box()
        assert form is not None
        assert (form["x"] >= 0, form["x"] + form["width"] <= 390) == (True, True), form
        assert sideways_overflow(page) is None
        screenshot(page, "token-form-390")
        resize(page, 1440, 900)
        # Escape closes the form and gives focus back to the button that opened it.
        page.keyboard.press("Escape")
        expect(page.get_by_test_id("token-form")).to_have_count(0)
        expect(page.get_by_role("button", name="Token…")).to_be_focused()
        page.keyboard.press("Enter")
        page.get_by_label("Apply token").fill(TOKEN)
        page.get_by_role("button", name="Use token").click()
        expect(indicator).to_have_attribute("data-state", "live")

        card = page.get_by_test_id("recommendation").filter(has=page.get_by_test_id("rec-apply")).first
        expect(card.get_by_test_id("rec-apply")).to_be_enabled()
        card.get_by_test_id("rec-dry-run").click()
        expect(card.get_by_test_id("rec-diff")).to_be_visible()
        assert axe_blocking(page) == []  # the coloured diff lines keep their contrast
        page.get_by_test_id("theme-toggle").click()
        assert axe_blocking(page) == []
        card.get_by_test_id("rec-apply").click()
        expect(page.get_by_role("status").filter(has_text="Applied as change")).to_be_visible()

        history = page.get_by_test_id("change-history")
        expect(history.get_by_role("button", name="Roll back")).to_have_count(1)
        screenshot(page, "recommendations-applied")
        history.get_by_role("button", name="Roll back").click()
        expect(history).to_contain_text("rollback")
        expect(history.get_by_role("button", name="Roll back")).to_have_count(0)
    finally:
        context.close()
    assert errors == []
