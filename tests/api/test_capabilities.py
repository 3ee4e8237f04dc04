"""GET /api/v1/capabilities: what the dashboard reads to show or hide apply, matching what the routes enforce."""

from __future__ import annotations

from pathlib import Path

from k8s_optimizer import __version__
from tests.api.conftest import TOKEN, BackendFactory
from tests.api.fakes import FakeLive

DISABLED = "apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it)"
NO_TOKEN = "apply is enabled but no token is configured (OPTIMIZER_APPLY_TOKEN[_FILE])"


def test_read_only_backend_reports_apply_disabled_and_the_routes_agree(make_backend: BackendFactory) -> None:
    backend = make_backend()
    body = backend.client.get("/api/v1/capabilities").json()
    assert body == {
        "apply_enabled": False,
        "token_required": False,
        "apply_disabled_reason": DISABLED,
        "version": __version__,
        "source": "sqlite",
    }
    refused = backend.client.post("/api/v1/recommendations/anything/dry-run")
    assert (refused.status_code, refused.json()["detail"]) == (403, DISABLED)


def test_apply_enabled_with_a_token_needs_the_token(make_backend: BackendFactory) -> None:
    backend = make_backend(apply_enabled=True, apply_token=TOKEN)
    response = backend.client.get("/api/v1/capabilities")
    assert response.status_code == 200
    assert response.json() == {
        "apply_enabled": True,
        "token_required": True,
        "apply_disabled_reason": None,
        "version": __version__,
        "source": "sqlite",
    }
    assert backend.client.post("/api/v1/recommendations/anything/dry-run").status_code == 401


def test_enabled_without_a_token_is_not_applicable(make_backend: BackendFactory) -> None:
    backend = make_backend(apply_enabled=True)
    body = backend.client.get("/api/v1/capabilities").json()
    assert (body["apply_enabled"], body["token_required"], body["apply_disabled_reason"]) == (False, False, NO_TOKEN)
    refused = backend.client.post("/api/v1/recommendations/anything/dry-run")
    assert (refused.status_code, refused.json()["detail"]) == (403, NO_TOKEN)


def test_token_file_enables_apply_and_a_missing_file_is_named(make_backend: BackendFactory, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    enabled = make_backend(apply_enabled=True, apply_token_file=token_file).client.get("/api/v1/capabilities")
    assert (enabled.json()["apply_enabled"], enabled.json()["token_required"]) == (True, True)
    missing = tmp_path / "absent"
    body = make_backend(apply_enabled=True, apply_token_file=missing).client.get("/api/v1/capabilities").json()
    assert body["apply_enabled"] is False
    assert body["apply_disabled_reason"] == f"the apply token file is unreadable ({missing})"


def test_answers_before_the_cluster_caches_sync(make_backend: BackendFactory) -> None:
    backend = make_backend(live=FakeLive(synced=False), apply_enabled=True, apply_token=TOKEN)
    response = backend.client.get("/api/v1/capabilities")
    assert (response.status_code, response.json()["apply_enabled"]) == (200, True)
