"""The simulated HPA timeline in a real browser, on a cluster fast enough to have an HPA recommendation.

The shared e2e stack runs the embedded cluster at real-time speed (its scale test needs that), so its
backend never records the 3 h of usage an HPA recommendation needs. This module runs its own stack: the
demo scenario at 600x with a backend scraping every second, which records 3 simulated hours in about
20 s. Once the echo-demo HPA recommendation exists, a metrics-server outage is injected so the history
(and so the recommendation) stops changing and the page can be compared with REST exactly. Its chart
must render (a uPlot canvas with the current and proposed replica lines and the usage) in the
recommendation's card and in the service's Autoscaling section, with the summary numbers of both
simulations as the backend computed them. The apply buttons follow GET /api/v1/capabilities.
Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.dashboard_servers import BackendServer, NginxServer
from tests.e2e.a11y import axe_blocking, resize, sideways_overflow
from tests.e2e.conftest import screenshot
from tests.simcluster import SimCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HPA_RECOMMENDATION_TIMEOUT_SECONDS = 120.0


class FastStack:
    def __init__(self, cluster: SimCluster, backend: BackendServer, dashboard: NginxServer) -> None:
        self.cluster = cluster
        self.backend = backend
        self.dashboard = dashboard


@pytest.fixture(scope="module")
def fast_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastStack]:
    with SimCluster.start(scenario="demo", speed=600.0, timeout_seconds=120) as cluster:
        backend = BackendServer(
            cluster.kubeconfig,
            tmp_path_factory.mktemp("fast-backend-data"),
            extra_env={"OPTIMIZER_METRICS_INTERVAL_SECONDS": "1"},
        )
        backend.start_and_wait()
        try:
            with NginxServer(backend.url) as dashboard:
                yield FastStack(cluster, backend, dashboard)
        finally:
            backend.stop()


def _echo_hpa_recommendation(stack: FastStack) -> dict[str, Any] | None:
    response = httpx.get(f"{stack.backend.url}/api/v1/recommendations", params={"kind": "hpa"}, timeout=10)
    if response.status_code != 200:
        return None
    found = [r for r in response.json()["items"] if r["target"]["name"] == "echo-demo-hpa" and len(r["timeline"]) >= 2]
    return dict(found[0]) if found else None


def _wait_for(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + HPA_RECOMMENDATION_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(1.0)
    pytest.fail(f"{what} within {HPA_RECOMMENDATION_TIMEOUT_SECONDS:.0f} s")


@pytest.fixture(scope="module")
def hpa_recommendation(fast_stack: FastStack) -> dict[str, Any]:
    """The echo-demo HPA recommendation once enough history is recorded, frozen by a metrics outage."""
    _wait_for("no echo-demo HPA recommendation with a timeline", lambda: _echo_hpa_recommendation(fast_stack))
    fast_stack.cluster.set_faults("metrics-outage=3600")
    previous: list[dict[str, Any] | None] = [None]

    def stable() -> dict[str, Any] | None:
        current = _echo_hpa_recommendation(fast_stack)
        settled = current is not None and current == previous[0]
        previous[0] = current
        return current if settled else None

    frozen: dict[str, Any] = _wait_for("the HPA recommendation did not settle after the metrics outage", stable)
    return frozen


@pytest.fixture
def fast_page(browser: Any, fast_stack: FastStack) -> Iterator[Any]:
    context = browser.new_context(base_url=fast_stack.dashboard.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _check_chart(chart: Any) -> None:
    """A drawn uPlot chart: a sized canvas and the three series in the legend."""
    expect = _expect()
    expect(chart.locator("canvas")).to_have_count(1)
    box = chart.locator("canvas").bounding_box()
    assert box is not None
    assert (box["width"] > 200, box["height"] > 100) == (True, True), box
    legend = chart.locator(".u-legend")
    for label in ("replicas, current HPA", "replicas, proposed HPA", "CPU usage"):
        expect(legend).to_contain_text(label)


def _check_summary(section: Any, rec: dict[str, Any]) -> None:
    expect = _expect()
    current, proposed = rec["simulation_current"], rec["simulation_proposed"]
    row = section.get_by_test_id("sim-replica_hours")
    expect(row).to_contain_text(f"{current['replica_hours']:.1f}")
    expect(row).to_contain_text(f"{proposed['replica_hours']:.1f}")
    expect(section.get_by_test_id("sim-cost_usd")).to_contain_text(f"${current['cost_usd']:,.2f}")
    expect(section.get_by_test_id("sim-scale_events_per_hour")).to_contain_text(
        f"{proposed['scale_events_per_hour']:.2f}"
    )


def _check_accessible(page: Any) -> None:
    """The populated view (charts, simulation table) passes axe in both themes and fits a 390 px phone."""
    for _theme in ("first", "second"):
        assert axe_blocking(page) == []
        page.get_by_test_id("theme-toggle").click()
    resize(page, 390, 844)
    assert sideways_overflow(page) is None
    assert axe_blocking(page) == []
    resize(page, 1440, 900)


def _settings_text(rec: dict[str, Any]) -> str:
    before, after = rec["current"], rec["proposed"]
    key = "target_cpu_utilization_percent"
    return f"target {before[key]}% → {after[key]}%" if before[key] != after[key] else f"target {after[key]}%"


def test_hpa_recommendation_card_draws_the_simulated_timeline(
    fast_page: Any, hpa_recommendation: dict[str, Any]
) -> None:
    expect = _expect()
    page = fast_page
    page.goto("/recommendations")
    card = page.locator(f"#rec-{hpa_recommendation['id']}")
    expect(card).to_be_visible()
    timeline = card.get_by_test_id("hpa-timeline")
    expect(card.get_by_test_id("rec-values")).to_contain_text("Target CPU utilization")
    _check_chart(timeline.get_by_test_id("chart-hpa-timeline"))
    _check_summary(timeline, hpa_recommendation)
    screenshot(page, "recommendations-hpa")
    _check_accessible(page)


def test_service_detail_autoscaling_shows_the_simulated_timeline(
    fast_page: Any, hpa_recommendation: dict[str, Any]
) -> None:
    page = fast_page
    page.goto(f"/services/{hpa_recommendation['target']['namespace']}/echo-demo")
    section = page.get_by_test_id("hpa")
    _expect()(section.get_by_test_id("hpa-settings-change")).to_contain_text(_settings_text(hpa_recommendation))
    _check_chart(section.get_by_test_id("chart-hpa-timeline"))
    _check_summary(section, hpa_recommendation)
    screenshot(page, "service-detail-hpa")
    _check_accessible(page)


def test_apply_buttons_follow_the_capabilities(fast_page: Any, fast_stack: FastStack) -> None:
    expect = _expect()
    capabilities = httpx.get(f"{fast_stack.backend.url}/api/v1/capabilities", timeout=10).json()
    assert (capabilities["apply_enabled"], capabilities["token_required"]) == (False, False)
    page = fast_page
    page.goto("/recommendations")
    card = page.get_by_test_id("recommendation").filter(has=page.get_by_test_id("rec-apply")).first
    expect(card.get_by_test_id("rec-apply")).to_be_disabled()
    expect(card.get_by_test_id("apply-disabled-reason")).to_have_text(
        f"Read-only backend: {capabilities['apply_disabled_reason']}. Copy the command instead."
    )
    page.goto("/")
    screenshot(page, "overview-populated")
    _expect()(page.get_by_test_id("stat-recommendations")).not_to_have_text("0")
    _check_accessible(page)
