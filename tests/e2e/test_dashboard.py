"""The dashboard in a real browser, through real nginx, against the real backend on the embedded cluster.

Each view is loaded and screenshotted into test-artifacts/e2e/. The live behaviour is checked end to end:
a `kubectl scale` shows up in the services table without a reload, the traffic path lists the pods' real
IPs, recommendations show their YAML patch and kubectl command, and the connection indicator follows the
backend going away and coming back.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.dashboard_servers import BackendServer
from tests.e2e.conftest import screenshot
from tests.simcluster import SimCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "k8s-optimizer"
DEMO_SERVICES = ["echo-demo", "high-cpu-app", "memory-intensive-app", "optimizer-backend", "optimizer-dashboard"]


def _expect(page: Any) -> Any:
    from playwright.sync_api import expect

    return expect


def _wait_live(page: Any) -> None:
    _expect(page)(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "live", timeout=20_000)


def _echo_pod_ips(sim: SimCluster) -> set[str]:
    result = sim.kubectl("get", "pods", "-n", NAMESPACE, "-l", "app=echo-demo", "-o", "json")
    assert result.returncode == 0, result.stderr
    pods = json.loads(result.stdout)["items"]
    return {
        pod["status"]["podIP"]
        for pod in pods
        if pod["status"].get("podIP")
        and not pod["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
    }


def test_overview_shows_nodes_planes_and_totals(page: Any) -> None:
    page.goto("/")
    _wait_live(page)
    expect = _expect(page)
    for node in ("k8s-optimizer-control-plane", "k8s-optimizer-worker", "k8s-optimizer-worker2"):
        expect(page.get_by_test_id(f"node-{node}")).to_be_visible()
    expect(page.get_by_test_id("node-k8s-optimizer-worker")).to_contain_text("172.20.0.2")
    expect(page.get_by_test_id("network-planes")).to_contain_text("10.96.0.0/12")
    expect(page.get_by_test_id("stat-cost")).not_to_have_text(re.compile("—"))
    screenshot(page, "overview")


def test_services_table_lists_the_demo_services(page: Any) -> None:
    page.goto("/services")
    _wait_live(page)
    expect = _expect(page)
    for name in DEMO_SERVICES:
        expect(page.get_by_test_id(f"service-row-{NAMESPACE}-{name}")).to_be_visible()
    page.get_by_test_id("service-search").fill("echo")
    expect(page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo")).to_be_visible()
    expect(page.get_by_test_id(f"service-row-{NAMESPACE}-high-cpu-app")).to_have_count(0)
    assert "q=echo" in page.url  # filters live in the URL: the view is shareable
    page.get_by_test_id("service-search").fill("")
    screenshot(page, "services")


def test_scaling_shows_six_endpoints_without_a_reload(page: Any, sim: SimCluster) -> None:
    page.goto("/services")
    _wait_live(page)
    row = page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo")
    _expect(page)(row).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")
    try:
        result = sim.kubectl("scale", "deploy/echo-demo", "--replicas=6", "-n", NAMESPACE)
        assert result.returncode == 0, result.stderr
        _expect(page)(row.get_by_test_id("endpoints")).to_have_text(re.compile(r"^\d+/6$"), timeout=2_000)
        assert page.evaluate("window.__noReload") == "still here"
        screenshot(page, "services-scaled")
    finally:
        sim.kubectl("scale", "deploy/echo-demo", "--replicas=3", "-n", NAMESPACE)


def test_traffic_path_lists_the_echo_demo_pod_ips(page: Any, sim: SimCluster) -> None:
    page.goto(f"/services/{NAMESPACE}/echo-demo")  # a deep link: nginx answers it with index.html
    _wait_live(page)
    expect = _expect(page)
    expect(page.get_by_test_id("traffic-path")).to_be_visible()
    ips = _echo_pod_ips(sim)
    assert ips, "the demo scenario should have ready echo-demo pods"
    for ip in ips:
        expect(page.get_by_test_id("traffic-path").get_by_text(ip, exact=True)).to_be_visible()
    expect(page.get_by_test_id("pods")).to_contain_text(sorted(ips)[0])
    screenshot(page, "service-detail")


def test_recommendations_show_yaml_patch_and_kubectl_command(page: Any) -> None:
    page.goto("/recommendations")
    _wait_live(page)
    expect = _expect(page)
    first = page.get_by_test_id("recommendation").first
    expect(first).to_be_visible()
    rest = page.request.get("/api/v1/recommendations?limit=1000").json()["items"]
    assert rest, "the demo with 3 h of history should have recommendations"
    shown = page.get_by_test_id("rec-kubectl").all_inner_texts()
    assert sorted(shown) == sorted(item["kubectl_command"] for item in rest)
    yaml_text = first.get_by_test_id("rec-yaml").inner_text()
    assert yaml_text.strip() in {item["patch_yaml"].strip() for item in rest}
    assert all(command.startswith("kubectl ") for command in shown)
    screenshot(page, "recommendations")


def test_network_map_highlights_a_service_path(page: Any, sim: SimCluster) -> None:
    page.goto("/network")
    _wait_live(page)
    expect = _expect(page)
    for node in ("k8s-optimizer-worker", "k8s-optimizer-worker2"):
        expect(page.get_by_test_id(f"map-node-{node}")).to_be_visible()
    page.get_by_test_id(f"map-service-{NAMESPACE}-echo-demo").hover()
    highlighted = page.locator(".chip-pod.hl")
    expect(highlighted).to_have_count(len(_echo_pod_ips(sim)))
    expect(page.locator(".netmap-links path").first).to_be_attached()
    screenshot(page, "network-map")


def test_navigation_keeps_urls_and_the_back_button(page: Any) -> None:
    page.goto("/")
    _wait_live(page)
    page.get_by_test_id("nav-services").click()
    page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo").get_by_role("link", name="echo-demo").click()
    _expect(page)(page.get_by_test_id("service-detail")).to_be_visible()
    assert page.url.endswith(f"/services/{NAMESPACE}/echo-demo")
    page.go_back()
    _expect(page)(page.get_by_test_id("services")).to_be_visible()
    page.go_back()
    _expect(page)(page.get_by_test_id("overview")).to_be_visible()
    page.goto("/no/such/view")
    _expect(page)(page.get_by_test_id("not-found")).to_be_visible()


def test_light_theme(page: Any) -> None:
    page.goto("/")
    _wait_live(page)
    page.get_by_test_id("theme-toggle").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    screenshot(page, "overview-light")


def test_connection_indicator_follows_the_backend(page: Any, backend: BackendServer) -> None:
    # Last in this module: it restarts the shared backend.
    page.goto("/services")
    _wait_live(page)
    indicator = page.get_by_test_id("connection-state")
    backend.stop()
    try:
        _expect(page)(indicator).to_have_attribute("data-state", "reconnecting", timeout=5_000)
        _expect(page)(indicator).to_contain_text("stale since")
        screenshot(page, "reconnecting")
    finally:
        backend.start_and_wait()
    _expect(page)(indicator).to_have_attribute("data-state", "live", timeout=30_000)
    _expect(page)(page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo")).to_be_visible()
