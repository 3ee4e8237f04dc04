"""Dry-run, apply and rollback through the API with a fake writer: auth, audit, annotations, undo."""

from __future__ import annotations

import hashlib
import json

import pytest

from k8s_optimizer.api.apply import ANNOTATION_CHANGE, ANNOTATION_PREVIOUS
from tests.api.conftest import TOKEN, BackendFactory
from tests.api.fakes import WEB, build_report, web_recommendation

AUTH = {"Authorization": f"Bearer {TOKEN}"}
APPLY = "/api/v1/recommendations/rec-web-app/apply"
DRY_RUN = "/api/v1/recommendations/rec-web-app/dry-run"


def test_apply_disabled_by_default(make_backend: BackendFactory) -> None:
    backend = make_backend(apply_token=TOKEN)
    for path in (DRY_RUN, APPLY, "/api/v1/changes/chg-1/rollback"):
        response = backend.client.post(path, headers=AUTH)
        assert response.status_code == 403
        assert response.json()["detail"].startswith("apply is disabled")
    assert backend.writer.calls == []


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authorization: Bearer <token> header required"),
        ({"Authorization": "Bearer nope"}, "bearer token is not valid"),
        ({"Authorization": f"Basic {TOKEN}"}, "Authorization: Bearer <token> header required"),
    ],
)
def test_apply_needs_the_token(make_backend: BackendFactory, headers: dict[str, str], detail: str) -> None:
    backend = make_backend(apply_enabled=True, apply_token=TOKEN)
    response = backend.client.post(APPLY, headers=headers)
    assert (response.status_code, response.json()["detail"]) == (401, detail)
    assert response.headers["www-authenticate"] == "Bearer"
    assert backend.writer.calls == []


def test_token_from_file(make_backend: BackendFactory, tmp_path: object) -> None:
    from pathlib import Path

    secret = Path(str(tmp_path)) / "token"
    secret.write_text("from-file\n", encoding="utf-8")
    backend = make_backend(apply_enabled=True, apply_token="ignored", apply_token_file=secret)
    assert backend.client.post(DRY_RUN, headers={"Authorization": "Bearer from-file"}).status_code == 200
    assert backend.client.post(DRY_RUN, headers={"Authorization": "Bearer ignored"}).status_code == 401


def test_dry_run_returns_the_diff_and_changes_nothing(make_backend: BackendFactory) -> None:
    backend = make_backend(apply_enabled=True, apply_token=TOKEN)
    response = backend.client.post(DRY_RUN, headers=AUTH)
    body = response.json()
    assert response.status_code == 200, body
    assert body["diff"] == [
        {"path": "spec.template.spec.containers[app].resources.requests.cpu", "before": "500m", "after": "150m"}
    ]
    assert "-            cpu: 500m\n+            cpu: 150m\n" in body["unified_diff"]
    assert backend.writer.calls == [(WEB.key(), True, web_recommendation().patch)]
    assert (
        backend.writer.objects[WEB.key()]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        == "500m"
    )


def test_apply_then_rollback_restores_exactly(make_backend: BackendFactory) -> None:
    backend = make_backend(apply_enabled=True, apply_token=TOKEN)
    original = json.loads(json.dumps(backend.writer.objects[WEB.key()]))
    applied = backend.client.post(APPLY, headers=AUTH).json()
    assert applied["action"] == "apply"
    assert applied["token_id"] == hashlib.sha256(TOKEN.encode()).hexdigest()[:12]
    assert applied["before"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "resources": {"requests": {"cpu": "500m"}}}
    ]
    assert applied["after"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "resources": {"requests": {"cpu": "150m"}}}
    ]
    stored = backend.writer.objects[WEB.key()]
    annotations = stored["metadata"]["annotations"]
    assert annotations[ANNOTATION_CHANGE] == applied["id"]
    assert json.loads(annotations[ANNOTATION_PREVIOUS]) == {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "500m"}}}]}}}
    }
    assert stored["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "150m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    changes = backend.client.get("/api/v1/changes").json()
    assert [c["id"] for c in changes["items"]] == [applied["id"]]

    rolled = backend.client.post(f"/api/v1/changes/{applied['id']}/rollback", headers=AUTH).json()
    assert (rolled["action"], rolled["rollback_of"]) == ("rollback", applied["id"])
    assert backend.writer.objects[WEB.key()] == original  # annotations removed, values restored, sidecar untouched
    log = backend.client.get("/api/v1/changes").json()["items"]
    assert [(c["action"], c["rolled_back_by"]) for c in log] == [("rollback", None), ("apply", rolled["id"])]
    again = backend.client.post(f"/api/v1/changes/{applied['id']}/rollback", headers=AUTH)
    assert again.status_code == 409
    assert again.json()["detail"] == f"change {applied['id']} was already rolled back by {rolled['id']}"


def test_rollback_removes_keys_the_apply_added(make_backend: BackendFactory) -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"cpu": "1"}}}]}}}}
    backend = make_backend(
        apply_enabled=True, apply_token=TOKEN, report=build_report((web_recommendation(patch=patch),))
    )
    original = json.loads(json.dumps(backend.writer.objects[WEB.key()]))
    applied = backend.client.post(APPLY, headers=AUTH).json()
    assert applied["diff"] == [
        {"path": "spec.template.spec.containers[app].resources.limits.cpu", "before": None, "after": "1"}
    ]
    backend.client.post(f"/api/v1/changes/{applied['id']}/rollback", headers=AUTH)
    assert backend.writer.objects[WEB.key()] == original


def test_apply_errors(make_backend: BackendFactory) -> None:
    from k8s_optimizer.domain.objects import ObjectRef

    gone = web_recommendation(target=ObjectRef("Deployment", "shop", "gone"))
    backend = make_backend(apply_enabled=True, apply_token=TOKEN, report=build_report((gone,)))
    missing_object = backend.client.post(APPLY, headers=AUTH)
    assert (missing_object.status_code, missing_object.json()["detail"]) == (
        404,
        "cluster: Deployment/shop/gone not found",
    )
    missing_rec = backend.client.post("/api/v1/recommendations/nope/apply", headers=AUTH)
    assert missing_rec.status_code == 404
    missing_change = backend.client.post("/api/v1/changes/chg-nope/rollback", headers=AUTH)
    assert (missing_change.status_code, missing_change.json()["detail"]) == (404, "change chg-nope not found")
    bad_id = backend.client.post("/api/v1/changes/bad%20id/rollback", headers=AUTH)
    assert bad_id.status_code == 422


def test_unpatchable_recommendation(make_backend: BackendFactory) -> None:
    from k8s_optimizer.domain.objects import ObjectRef

    rec = web_recommendation(target=ObjectRef("PodDisruptionBudget", "shop", "web"), patch={})
    backend = make_backend(apply_enabled=True, apply_token=TOKEN, report=build_report((rec,)))
    response = backend.client.post(APPLY, headers=AUTH)
    assert response.status_code == 422
    assert (
        response.json()["detail"]
        == "recommendation rec-web-app has no patch that can be applied to a PodDisruptionBudget"
    )
    assert backend.client.get("/api/v1/recommendations/rec-web-app").json()["applicable"] is False


def test_cluster_unavailable_is_503(make_backend: BackendFactory) -> None:
    from k8s_optimizer.k8s.errors import ClusterUnavailableError

    backend = make_backend(apply_enabled=True, apply_token=TOKEN)

    async def refuse(*args: object, **kwargs: object) -> dict[str, object]:
        raise ClusterUnavailableError("GET /apis/apps/v1/namespaces/shop/deployments/web failed: timeout")

    backend.writer.read = refuse  # type: ignore[method-assign]
    response = backend.client.post(DRY_RUN, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["detail"] == "cluster: GET /apis/apps/v1/namespaces/shop/deployments/web failed: timeout"


def test_server_rejection_is_422(make_backend: BackendFactory) -> None:
    from k8s_optimizer.k8s.errors import ClusterInvalidError

    backend = make_backend(apply_enabled=True, apply_token=TOKEN)

    async def reject(*args: object, **kwargs: object) -> dict[str, object]:
        raise ClusterInvalidError("422 from PATCH: spec.template.spec.containers[0].resources.requests: Invalid value")

    backend.writer.patch = reject  # type: ignore[method-assign]
    response = backend.client.post(APPLY, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("cluster: 422 from PATCH: spec.template")
    assert backend.client.get("/api/v1/changes").json()["total"] == 0  # nothing audited for a failed apply
