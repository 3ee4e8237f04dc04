"""Accessibility probes shared by the browser tests: axe-core's WCAG 2.0/2.1 A and AA rules, and whether the
page scrolls sideways. axe comes from the dashboard's own devDependency (dashboard/node_modules), never a
CDN copy; it is evaluated through the DevTools protocol, which the page's CSP (script-src 'self') allows
without loosening it."""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.dashboard_servers import REPO

AXE = REPO / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}

# The outermost elements that reach past the screen's right edge (what to fix when the page is too wide).
_WIDEST = """() => {
    const out = [...document.querySelectorAll('body *')].filter((el) => {
        const box = el.getBoundingClientRect();
        return box.right > innerWidth + 0.5 && !el.parentElement.closest('.table-wrap')
            && el.parentElement.getBoundingClientRect().right <= innerWidth + 0.5;
    });
    return [document.documentElement.scrollWidth,
            out.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)];
}"""


@cache
def _axe_source() -> str:
    assert AXE.is_file(), "axe-core is missing: `cd dashboard && npm ci` installs the devDependencies"
    return AXE.read_text()


def axe_blocking(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG A/AA violations on the page as it is now, summarised for a message."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate("async (options) => (await window.axe.run(document, options)).violations", options)
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "count": len(v["nodes"]),
            "nodes": [(n["target"], n.get("failureSummary", "")[:240]) for n in v["nodes"][:5]],
        }
        for v in result
        if v["impact"] in BLOCKING
    ]


def sideways_overflow(page: Any) -> list[Any] | None:
    """None when the page fits the screen's width; else its width and the elements that stick out."""
    if page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        return None
    found: list[Any] = page.evaluate(_WIDEST)
    return found


# Controls (not links inside text, which WCAG exempts) smaller than 24 × 24 CSS px.
_SMALL_TARGETS = """() => [...document.querySelectorAll(
        'button, select, input, [role="tab"], .nav-item, .brand, .chip')]
    .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && (box.width < 24 || box.height < 24);
    })
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${el.textContent.trim().slice(0, 30)}`)"""


def small_targets(page: Any) -> list[str]:
    """Visible controls under the 24 px touch-target minimum (WCAG 2.5.8)."""
    found: list[str] = page.evaluate(_SMALL_TARGETS)
    return found


def resize(page: Any, width: int, height: int) -> None:
    """Resize the viewport and let the page settle: ResizeObservers (the charts) run before the next frame."""
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
