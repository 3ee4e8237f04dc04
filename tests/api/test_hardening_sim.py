"""Issue 14 against the embedded cluster: no secret in any answer, confined apply, safe rollback.

The analyzer is replaced by fixed recommendations aimed at real Deployments that kubectl applies to the
embedded cluster (so the last-applied annotation is the one kubectl really writes); everything else —
the watch caches, the writer, dry-run, apply, rollback — is the product's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from k8s_optimizer.app import create_app
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.settings import Settings
from tests.api.fakes import build_report, web_recommendation
from tests.api.test_sim import eventually
from tests.api.ws.conftest import receive
from tests.simcluster import SimCluster

TOKEN = "harden-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "hunter2-db-password"
REPLICAS_PATCH = {"spec": {"replicas": 2}}


def deployment(namespace: str, *, replicas: int = 1, labels: str = "{app: web}") -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}, labels: {labels}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env:
        - {{name: DB_PASSWORD, value: {PASSWORD}}}
        - name: FROM_SECRET
          valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
        resources: {{requests: {{cpu: 500m, memory: 256Mi}}, limits: {{memory: 512Mi}}}}
"""


def _rec(rec_id: str, namespace: str, patch: dict[str, Any] | None = None) -> Any:
    return dataclasses.replace(web_recommendation(ObjectRef("Deployment", namespace, "web"), patch), id=rec_id)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimCluster]:
    with SimCluster.start(scenario="demo", speed=1.0) as cluster:
        for namespace, labels in [
            ("secrets", "{app: web}"),
            ("rollback", "{app: web}"),
            ("kube-system", "{app: web}"),
            ("own", "{app: web, app.kubernetes.io/part-of: k8s-service-optimizer}"),
        ]:
            result = cluster.kubectl("apply", "-f", "-", stdin=deployment(namespace, labels=labels))
            assert result.returncode == 0, result.stderr
        yield cluster


@pytest.fixture(scope="module")
def client(sim: SimCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        kubeconfig=sim.kubeconfig,
        data_dir=Path(tmp_path_factory.mktemp("harden-sim")),
        apply_enabled=True,
        apply_token=TOKEN,
        metrics_interval_seconds=1.0,
    )
    report = build_report(
        (
            _rec("rec-secrets", "secrets"),
            _rec("rec-replicas", "rollback", REPLICAS_PATCH),
            _rec("rec-system", "kube-system"),
            _rec("rec-own", "own"),
        )
    )
    app = create_app(settings, analyzer=lambda snapshot, histories, now: report)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        eventually(lambda: test_client.get("/ready").status_code == 200, 20.0, "ready")
        eventually(lambda: test_client.get("/api/v1/workloads/own/Deployment/web").status_code == 200, 20.0, "cached")
        yield test_client


def _kubectl_json(sim: SimCluster, namespace: str) -> dict[str, Any]:
    out = sim.kubectl("-n", namespace, "get", "deployment", "web", "-o", "json")
    return dict(json.loads(out.stdout))


def test_no_answer_carries_env_values_or_the_last_applied_manifest(sim: SimCluster, client: TestClient) -> None:
    # the reproduction is real: kubectl stored the whole manifest, the password included, on the object
    live = _kubectl_json(sim, "secrets")
    assert PASSWORD in live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    eventually(lambda: client.get("/api/v1/recommendations/rec-secrets").status_code == 200, what="analysis")

    answers = {
        "workloads": client.get("/api/v1/workloads?namespace=secrets").text,
        "workload": client.get("/api/v1/workloads/secrets/Deployment/web").text,
        "services": client.get("/api/v1/services?namespace=secrets").text,
        "pods": client.get("/api/v1/pods?namespace=secrets").text,
        **{f"report-{f}": client.get(f"/api/v1/report?format={f}").text for f in ("json", "yaml", "csv", "markdown")},
        "dry-run": client.post("/api/v1/recommendations/rec-secrets/dry-run", headers=AUTH).text,
    }
    with client.websocket_connect("/ws", headers=AUTH) as ws:
        ws.send_json({"op": "subscribe", "topics": ["workloads", "pods", "recommendations"], "namespace": "secrets"})
        answers["ws-snapshot"] = json.dumps(receive(ws, "snapshot"))
    leaking = sorted(name for name, text in answers.items() if PASSWORD in text or "last-applied" in text)
    assert leaking == []
    workload = json.loads(answers["workload"])
    assert "kubectl.kubernetes.io/last-applied-configuration" not in workload["annotations"]
    assert json.loads(answers["dry-run"])["diff"][0]["after"] == "150m"


def _marked(client: TestClient, rec_id: str) -> dict[str, Any] | None:
    shown: dict[str, Any] = client.get(f"/api/v1/recommendations/{rec_id}").json()
    return shown if shown["not_applicable_reason"] else None


def test_apply_outside_the_scope_is_shown_but_refused_with_the_reason(sim: SimCluster, client: TestClient) -> None:
    eventually(lambda: client.get("/api/v1/recommendations/rec-system").status_code == 200, what="analysis")
    cases = {
        "rec-system": "namespace 'kube-system' is a system namespace; apply never patches it",
        "rec-own": "Deployment/own/web is part of k8s-service-optimizer itself; the optimizer never patches itself",
    }
    for rec_id, reason in cases.items():
        # the labels come from the watch cache: wait for an analysis that saw the object
        shown = eventually(functools.partial(_marked, client, rec_id), what=f"{rec_id} marked")
        assert (shown["applicable"], shown["not_applicable_reason"]) == (False, reason)
        for action in ("dry-run", "apply"):
            refused = client.post(f"/api/v1/recommendations/{rec_id}/{action}", headers=AUTH)
            assert (refused.status_code, refused.json()["detail"]) == (403, reason)
    assert client.get("/api/v1/recommendations/rec-secrets").json()["applicable"] is True
    assert (
        _kubectl_json(sim, "kube-system")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        == "500m"
    )


def test_rollback_refuses_to_overwrite_a_later_change(sim: SimCluster, client: TestClient) -> None:
    """The finding: apply replicas 1→2, someone scales to 5, rollback → 1 without a word."""
    eventually(lambda: client.get("/api/v1/recommendations/rec-replicas").status_code == 200, what="analysis")
    applied = client.post("/api/v1/recommendations/rec-replicas/apply", headers=AUTH)
    assert applied.status_code == 200, applied.text
    assert _kubectl_json(sim, "rollback")["spec"]["replicas"] == 2
    scaled = sim.kubectl("-n", "rollback", "scale", "deployment/web", "--replicas=5")
    assert scaled.returncode == 0, scaled.stderr

    change = applied.json()["id"]
    refused = client.post(f"/api/v1/changes/{change}/rollback", headers=AUTH)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"changed since change {change} was applied: spec.replicas is 5 now, the apply set 2; "
        "roll back with force=true to overwrite"
    )
    assert refused.json()["errors"] == [{"path": "spec.replicas", "applied": 2, "current": 5}]
    assert _kubectl_json(sim, "rollback")["spec"]["replicas"] == 5

    forced = client.post(f"/api/v1/changes/{change}/rollback?force=true", headers=AUTH)
    assert forced.status_code == 200, forced.text
    assert _kubectl_json(sim, "rollback")["spec"]["replicas"] == 1
