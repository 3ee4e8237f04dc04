"""The dashboard for everyone and every screen (WCAG 2.1 AA, a 390 px phone, the keyboard), checked in real
Chromium through real nginx against the real backend.

axe-core (the dashboard's devDependency, never a CDN copy) is injected into every routed view in both
themes at 1280 px and 390 px; any serious or critical violation of the WCAG 2.0/2.1 A and AA rules fails
the test, and so does a page that scrolls sideways on the phone or a control there smaller than 24 px.
A keyboard-only walk goes through the main flow (skip link → navigation → a service → its detail → back)
and checks that focus is always visible and lands where the next key press is useful. A new
recommendation is announced in the live region exactly once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.dashboard_servers import NginxServer
from tests.e2e.a11y import axe_blocking, resize, sideways_overflow, small_targets
from tests.e2e.conftest import screenshot
from tests.simcluster import SimCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "k8s-optimizer"
# Every routed view, with the element that says it has drawn its live content (axe must see the real page,
# not a spinner).
VIEWS: list[tuple[str, str, str]] = [
    ("overview", "/", f'[data-testid="node-{NAMESPACE}-worker"]'),
    ("services", "/services", f'[data-testid="service-row-{NAMESPACE}-echo-demo"]'),
    # The charts draw once the backend has two scrapes of the pods (up to ~30 s after it starts).
    ("service", f"/services/{NAMESPACE}/echo-demo", '[data-testid="chart-cpu"] canvas'),
    ("recommendations", "/recommendations", '[data-testid="recommendation"]'),
    ("network", "/network", f'[data-testid="map-node-{NAMESPACE}-worker"]'),
    ("not-found", "/no/such/view", '[data-testid="not-found"]'),
]
PHONE, LAPTOP, REFLOW = 390, 1280, 320


def _context(browser: Any, dashboard: NginxServer, width: int, theme: str) -> Any:
    # The theme comes from prefers-color-scheme on a first visit (no stored choice), which this also checks.
    context = browser.new_context(
        base_url=dashboard.url,
        viewport={"width": width, "height": 844 if width == PHONE else 900},
        color_scheme=theme,
        reduced_motion="reduce",
    )
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def errors() -> Iterator[list[str]]:
    found: list[str] = []
    yield found
    assert found == [], f"uncaught errors or CSP violations in the page: {found}"


def _watch(page: Any, errors: list[str]) -> None:
    def console(message: Any) -> None:
        # nginx serves a strict CSP; a violation is only a console error.
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", console)


def _open(page: Any, path: str, ready: str) -> None:
    page.goto(path)
    page.wait_for_selector('[data-testid="connection-state"][data-state="live"]')
    page.wait_for_selector(ready, timeout=60_000)
    # Lazily drawn parts (charts, fetched sections) settle: no spinner left in the view.
    page.wait_for_function("!document.querySelector('main [data-testid=\"loading\"]')")


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_view_passes_axe_and_fits_the_screen(
    browser: Any, dashboard: NginxServer, errors: list[str], theme: str, width: int
) -> None:
    context = _context(browser, dashboard, width, theme)
    try:
        page = context.new_page()
        _watch(page, errors)
        violations: dict[str, list[dict[str, Any]]] = {}
        too_wide: dict[str, list[Any]] = {}
        too_small: dict[str, list[str]] = {}
        for view, path, ready in VIEWS:
            _open(page, path, ready)
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            found = axe_blocking(page)
            if found:
                violations[view] = found
            overflow = sideways_overflow(page)
            if overflow:
                too_wide[view] = overflow
            if width == PHONE and (small := small_targets(page)):
                too_small[view] = small
            if width == PHONE:
                # WCAG 1.4.10 reflow is judged at 320 px: the phone layout holds down to there too.
                resize(page, REFLOW, 844)
                if overflow := sideways_overflow(page):
                    too_wide[f"{view}@{REFLOW}"] = overflow
                resize(page, PHONE, 844)
            screenshot(page, f"a11y-{view}-{theme}-{width}")
        if width == PHONE:
            # The phone's navigation menu, open over the page.
            page.get_by_test_id("nav-toggle").click()
            page.wait_for_selector("#nav.open")
            found = axe_blocking(page)
            if found:
                violations["menu"] = found
            screenshot(page, f"a11y-menu-{theme}-{width}")
        assert violations == {}, json.dumps(violations, indent=1)
        assert too_wide == {}, f"views wider than the {width} px screen (page width, widest elements): {too_wide}"
        assert too_small == {}, f"touch targets under 24 px: {too_small}"
    finally:
        context.close()


def _focused(page: Any) -> dict[str, Any]:
    """What has focus, and whether a sighted keyboard user can see it (inside the viewport, with a ring)."""
    found: dict[str, Any] = page.evaluate(
        """() => {
            const el = document.activeElement;
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
                || style.boxShadow !== 'none';
            return {
                tag: el.tagName.toLowerCase(), id: el.id, testid: el.dataset.testid || '',
                text: (el.textContent || '').trim().slice(0, 60), href: el.getAttribute('href') || '',
                visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight
                    && box.right > 0 && box.left < innerWidth,
                ring: ring || el.id === 'main',
            };
        }"""
    )
    return found


def _tab_to(page: Any, matches: Any, limit: int = 60) -> dict[str, Any]:
    """Press Tab until `matches(focused)`; every stop on the way must show visible focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused["tag"] != "body":
            assert focused["visible"], f"focus is outside the screen: {focused}"
            assert focused["ring"], f"focus has no visible ring: {focused}"
        if matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the target; last focus: {_focused(page)}")


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_keyboard_walk_through_the_main_flow(
    browser: Any, dashboard: NginxServer, errors: list[str], width: int
) -> None:
    context = _context(browser, dashboard, width, "dark")
    try:
        page = context.new_page()
        _watch(page, errors)
        _open(page, "/", VIEWS[0][2])
        # The first Tab reaches the skip link, shown on focus; Enter moves focus to the content.
        skip = _tab_to(page, lambda f: True, limit=1)
        assert skip["href"] == "#main", skip
        page.keyboard.press("Enter")
        assert _focused(page)["id"] == "main"
        # Back to the navigation (on the phone it sits behind the menu button) and on to Services.
        page.keyboard.press("Shift+Tab")
        # The menu button exists only where the navigation does not fit.
        assert page.get_by_test_id("nav-toggle").is_visible() == (width == PHONE)
        if width == PHONE:
            menu = _tab_to(page, lambda f: f["testid"] == "nav-toggle")
            assert menu["tag"] == "button"
            page.keyboard.press("Enter")
            page.wait_for_selector("#nav.open")
            # Escape closes the menu and leaves focus on its button; Enter opens it again.
            page.keyboard.press("Escape")
            page.wait_for_selector("#nav:not(.open)", state="attached")
            assert _focused(page)["testid"] == "nav-toggle"
            page.keyboard.press("Enter")
            page.wait_for_selector("#nav.open")
        _tab_to(page, lambda f: f["testid"] == "nav-services")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'[data-testid="service-row-{NAMESPACE}-echo-demo"]')
        # Focus follows the navigation to the new view's content, not back to the top of the page.
        assert _focused(page)["id"] == "main"
        service_href = f"/services/{NAMESPACE}/echo-demo"
        _tab_to(page, lambda f: f["href"] == service_href)
        page.keyboard.press("Enter")
        page.wait_for_selector('[data-testid="traffic-path"]')
        assert page.url.endswith(service_href)
        assert _focused(page)["id"] == "main"
        screenshot(page, f"a11y-keyboard-detail-{width}")
        # Back, by keyboard: the breadcrumb's Services link; then the browser's back returns focus to the
        # link that was followed.
        _tab_to(page, lambda f: f["testid"] == "crumb-services")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'[data-testid="service-row-{NAMESPACE}-echo-demo"]')
        page.go_back()
        page.wait_for_selector('[data-testid="traffic-path"]')
        page.go_back()
        page.wait_for_selector(f'[data-testid="service-row-{NAMESPACE}-echo-demo"]')
        page.wait_for_function(f"document.activeElement.getAttribute('href') === '{service_href}'")
        assert _focused(page)["visible"]
    finally:
        context.close()


def test_traffic_path_tabs_follow_the_arrow_keys(browser: Any, dashboard: NginxServer, errors: list[str]) -> None:
    """A NodePort Service has two entry points, shown as WAI-ARIA tabs: one Tab stop, the arrows between."""
    context = _context(browser, dashboard, PHONE, "light")
    try:
        page = context.new_page()
        _watch(page, errors)
        _open(page, f"/services/{NAMESPACE}/optimizer-dashboard", '[role="tab"]')
        tabs = page.get_by_role("tab")
        assert tabs.count() == 2
        tabs.first.focus()
        page.keyboard.press("ArrowRight")
        from playwright.sync_api import expect

        expect(tabs.nth(1)).to_be_focused()
        expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
        assert [tabs.nth(i).get_attribute("tabindex") for i in range(2)] == ["-1", "0"]
        expect(page.get_by_role("tabpanel")).to_have_attribute("aria-labelledby", "path-tab-1")
        expect(page.get_by_role("tabpanel")).to_contain_text("NodePort")
        page.keyboard.press("Home")
        expect(tabs.first).to_be_focused()
        assert axe_blocking(page) == []
        assert sideways_overflow(page) is None
    finally:
        context.close()


def test_charts_redraw_in_the_theme_colours(browser: Any, dashboard: NginxServer, errors: list[str]) -> None:
    """uPlot bakes colours into its canvas: a theme switch redraws the lines in the new theme's palette (each
    3:1 against its chart), which the legend's markers show."""
    context = _context(browser, dashboard, LAPTOP, "dark")
    marker = '[data-testid="chart-cpu"] .u-series:nth-child(2) .u-marker'
    try:
        page = context.new_page()
        _watch(page, errors)
        _open(page, VIEWS[2][1], VIEWS[2][2])
        page.wait_for_selector('[data-testid="chart-cpu"] canvas')
        page.wait_for_selector(marker, state="attached")
        colour = f"getComputedStyle(document.querySelector('{marker}')).borderColor"
        assert page.evaluate(colour) == "rgb(108, 176, 255)"  # --series-1, dark
        page.get_by_test_id("theme-toggle").click()
        page.wait_for_function(f"{colour} === 'rgb(10, 88, 202)'")  # --series-1, light
        assert axe_blocking(page) == []
    finally:
        context.close()


def test_a_new_recommendation_is_announced_once(
    browser: Any, dashboard: NginxServer, sim: SimCluster, errors: list[str]
) -> None:
    """A workload without probes gets a probe recommendation at the next analysis: the live region names it,
    once, while the metrics ticks and re-analyses around it stay silent."""
    context = _context(browser, dashboard, LAPTOP, "dark")
    name = "a11y-announce"
    try:
        page = context.new_page()
        _watch(page, errors)
        _open(page, "/services", VIEWS[1][2])
        announcer = page.get_by_test_id("announcer")
        assert announcer.inner_text() == ""  # the snapshot's recommendations are the baseline, not news
        page.evaluate(_RECORD_ANNOUNCEMENTS)
        created = sim.kubectl("create", "deployment", name, "--image=nginx", "--port=8080", "-n", "default")
        assert created.returncode == 0, created.stderr
        from playwright.sync_api import expect

        expect(announcer).to_have_text(
            re.compile(rf"[Nn]ew recommendations?: .*probe for default/{name}\b"),
            timeout=60_000,
        )
        time.sleep(16)  # a scrape interval: more metrics ticks and another analysis, and nothing more is said
        said = page.evaluate("window.__announced")
        assert len([text for text in said if f"default/{name}" in text]) == 1, said
    finally:
        sim.kubectl("delete", "deployment", name, "-n", "default", "--wait=false")
        context.close()
    # Leave the shared backend as the other modules expect it: the recommendation gone again.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = httpx.get(f"{dashboard.url}/api/v1/recommendations?limit=1000", timeout=10).json()["items"]
        if not any(item["target"]["name"] == name for item in items):
            break
        time.sleep(1)


# Every text the live region takes, in order (a MutationObserver sees each change).
_RECORD_ANNOUNCEMENTS = """() => {
    window.__announced = [];
    const region = document.querySelector('[data-testid="announcer"]');
    new MutationObserver(() => {
        const text = region.textContent.trim();
        if (text) window.__announced.push(text);
    }).observe(region, { childList: true, subtree: true, characterData: true });
}"""
