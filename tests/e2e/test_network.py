"""The service detail's kube-proxy rules and a NetworkPolicy-denied edge, in Chromium through nginx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard import NAMESPACE, _expect, _wait_live
from tests.simcluster import SimCluster

pytestmark = pytest.mark.e2e

ISOLATED = """
apiVersion: v1
kind: Namespace
metadata: {name: e2e-net}
---
apiVersion: v1
kind: Namespace
metadata: {name: e2e-net-client}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e-net}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{containerPort: 8080, name: http}]
        resources: {requests: {cpu: 50m, memory: 32Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: e2e-net}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: e2e-net-client}
spec:
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 10m, memory: 16Mi}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: e2e-net}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def test_rules_tab_shows_kube_proxy_chains_and_switches_mode(page: Any, sim: SimCluster) -> None:
    page.goto(f"/services/{NAMESPACE}/echo-demo")
    _wait_live(page)
    rules = page.get_by_test_id("rules-text")
    _expect(page)(rules).to_contain_text("-j KUBE-SVC-")
    _expect(page)(page.get_by_test_id("rules-listing")).to_contain_text("Chain KUBE-SVC-")
    assert page.get_by_test_id("rules-endpoint").count() >= 1
    # Each DNAT branch of the path links to its KUBE-SEP chain in the rules below.
    _expect(page)(page.get_by_test_id("path-rule-link").first).to_contain_text("KUBE-SEP-")
    page.get_by_test_id("rules-mode").select_option("nftables")
    _expect(page)(rules).to_contain_text("add rule ip kube-proxy service-")
    screenshot(page, "service-rules")


def test_a_network_policy_denied_edge_names_the_policy(page: Any, sim: SimCluster) -> None:
    result = sim.kubectl("apply", "-f", "-", stdin=ISOLATED)
    assert result.returncode == 0, result.stderr
    page.goto("/services/e2e-net/web")
    _wait_live(page)
    page.get_by_test_id("reachability-from").fill("e2e-net-client/client")
    page.get_by_role("button", name="Check").click()
    edge = page.get_by_test_id("reachability-edge")
    _expect(page)(edge).to_have_attribute("data-verdict", "denied")
    _expect(page)(page.get_by_test_id("reachability-reason")).to_contain_text(
        "connections time out: NetworkPolicy default-deny in e2e-net selects"
    )
    screenshot(page, "reachability-denied")
