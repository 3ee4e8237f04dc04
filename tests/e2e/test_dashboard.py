"""The dashboard in a real browser, through real nginx, against the real backend on the embedded cluster.

Each view is loaded and screenshotted into test-artifacts/e2e/. The live behaviour is checked end to end:
a `kubectl scale` shows up in the services table without a reload, the traffic path lists the pods' real
IPs, recommendations show their YAML patch and kubectl command, and the connection indicator follows the
backend going away and coming back.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from tests.dashboard_servers import BackendServer
from tests.e2e.a11y import axe_blocking, resize, sideways_overflow
from tests.e2e.conftest import screenshot
from tests.simcluster import SimCluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "k8s-optimizer"
# The demo scenario applies deploy/base and deploy/demo: these are its Services in the k8s-optimizer namespace.
DEMO_SERVICES = ["echo-demo", "optimizer-backend", "optimizer-dashboard"]


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
    expect(page.get_by_test_id(f"service-row-{NAMESPACE}-optimizer-backend")).to_have_count(0)
    assert "q=echo" in page.url  # filters live in the URL: the view is shareable
    page.get_by_test_id("service-search").fill("")
    screenshot(page, "services")


def test_scaling_shows_six_endpoints_without_a_reload(page: Any, sim: SimCluster) -> None:
    page.goto("/services")
    _wait_live(page)
    row = page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo")
    _expect(page)(row).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")
    # The HPA owns echo-demo's size and would scale a manual 6 back down at its next sync; disabling its
    # scale-down (autoscaling/v2 behavior) keeps the check about the dashboard, not about HPA timing.
    hpa_patch = '{"spec":{"behavior":{"scaleDown":{"selectPolicy":"Disabled"}}}}'
    result = sim.kubectl("patch", "hpa", "echo-demo-hpa", "-n", NAMESPACE, "--type=merge", "-p", hpa_patch)
    assert result.returncode == 0, result.stderr
    try:
        result = sim.kubectl("scale", "deploy/echo-demo", "--replicas=6", "-n", NAMESPACE)
        assert result.returncode == 0, result.stderr
        _expect(page)(row.get_by_test_id("endpoints")).to_have_text(re.compile(r"^\d+/6$"), timeout=2_000)
        assert page.evaluate("window.__noReload") == "still here"
        screenshot(page, "services-scaled")
    finally:
        restore = '{"spec":{"behavior":null}}'
        sim.kubectl("patch", "hpa", "echo-demo-hpa", "-n", NAMESPACE, "--type=merge", "-p", restore)
        sim.kubectl("scale", "deploy/echo-demo", "--replicas=3", "-n", NAMESPACE)


def test_traffic_path_lists_the_echo_demo_pod_ips(page: Any, sim: SimCluster) -> None:
    page.goto(f"/services/{NAMESPACE}/echo-demo")  # a deep link: nginx answers it with index.html
    _wait_live(page)
    path = page.get_by_test_id("traffic-path")
    _expect(page)(path).to_be_visible()
    # The HPA may be resizing echo-demo: compare until kubectl and the page agree (the page updates live).
    deadline = time.monotonic() + 20
    while True:
        ips = _echo_pod_ips(sim)
        shown = set(path.get_by_test_id("path-pod-ip").all_inner_texts())
        if (ips and shown == ips) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert ips, "the demo scenario should have ready echo-demo pods"
    assert shown == ips
    _expect(page)(page.get_by_test_id("pods")).to_contain_text(sorted(ips)[0])
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
    # The backend runs read-only (apply disabled by default): the UI says so instead of failing on click.
    offered = page.get_by_test_id("recommendation").filter(has=page.get_by_test_id("rec-apply")).first
    expect(offered.get_by_test_id("rec-apply")).to_be_disabled()
    expect(offered).to_contain_text("Read-only backend")
    # Outside the apply scope (kube-system's own workloads, the optimizer itself): shown with the reason, no button.
    for item in rest:
        if item["target"]["namespace"].startswith("kube-"):
            assert (item["applicable"], item["not_applicable_reason"]) == (
                False,
                f"namespace {item['target']['namespace']!r} is a system namespace; apply never patches it",
            )
    blocked = [item for item in rest if item["not_applicable_reason"]]
    expect(page.get_by_test_id("rec-not-applicable")).to_have_count(len(blocked))
    screenshot(page, "recommendations")


def test_network_map_highlights_a_service_path(page: Any) -> None:
    page.goto("/network")
    _wait_live(page)
    expect = _expect(page)
    for node in ("k8s-optimizer-worker", "k8s-optimizer-worker2"):
        expect(page.get_by_test_id(f"map-node-{node}")).to_be_visible()
    echo_pods = page.locator(f'.chip-pod[title^="{NAMESPACE}/echo-demo-"]')
    expect(echo_pods.first).to_be_visible()
    page.get_by_test_id(f"map-service-{NAMESPACE}-echo-demo").hover()
    # Every echo-demo pod (and nothing else) is highlighted and linked, whatever the HPA has made of it.
    page.wait_for_function(
        """() => {
            const echo = document.querySelectorAll('.chip-pod[title^="k8s-optimizer/echo-demo-"]').length;
            const lit = document.querySelectorAll('.chip-pod.hl');
            const mine = [...lit].every((chip) => chip.title.startsWith('k8s-optimizer/echo-demo-'));
            return echo > 0 && lit.length === echo && mine
                && document.querySelectorAll('.netmap-links path.link-active').length === echo;
        }""",
        timeout=10_000,
    )
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


def test_theme_toggle_switches_and_is_remembered(page: Any) -> None:
    page.goto("/")
    _wait_live(page)
    before = page.evaluate("document.documentElement.dataset.theme")
    assert before in {"dark", "light"}
    after = "light" if before == "dark" else "dark"
    page.get_by_test_id("theme-toggle").click()
    page.wait_for_function(f"document.documentElement.dataset.theme === '{after}'", timeout=5_000)
    page.reload()
    _wait_live(page)
    page.wait_for_function(f"document.documentElement.dataset.theme === '{after}'", timeout=5_000)
    screenshot(page, f"overview-{after}")


def test_connection_indicator_follows_the_backend(page: Any, backend: BackendServer) -> None:
    # Last in this module: it restarts the shared backend.
    page.goto("/services")
    _wait_live(page)
    indicator = page.get_by_test_id("connection-state")
    announcer = page.get_by_test_id("announcer")
    backend.stop()
    try:
        _expect(page)(indicator).to_have_attribute("data-state", "reconnecting", timeout=5_000)
        _expect(page)(indicator).to_contain_text("stale since")
        # Said once to screen readers (a polite live region), and in words on the page, not only by dimming.
        _expect(page)(announcer).to_have_text(re.compile(r"^Connection to the cluster lost\. Showing data as of "))
        _expect(page)(page.get_by_test_id("stale-banner")).to_contain_text("last known state")
        # The stale state is as readable as the live one, on a phone too (the indicator's text is longer).
        assert axe_blocking(page) == []
        resize(page, 390, 844)
        assert sideways_overflow(page) is None
        assert axe_blocking(page) == []
        screenshot(page, "reconnecting-390")
        resize(page, 1440, 900)
        screenshot(page, "reconnecting")
    finally:
        backend.start_and_wait()
    _expect(page)(indicator).to_have_attribute("data-state", "live", timeout=30_000)
    _expect(page)(announcer).to_have_text("Connection restored: the data is live again.", timeout=10_000)
    _expect(page)(page.get_by_test_id(f"service-row-{NAMESPACE}-echo-demo")).to_be_visible()
