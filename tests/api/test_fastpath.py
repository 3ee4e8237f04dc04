"""The service-list fast path: repeats answered from cached bytes, identical to the route, never stale."""

from __future__ import annotations

from tests.api.conftest import Backend, BackendFactory
from tests.api.fakes import web_pod

URL = "/api/v1/services?sort=-cpu&limit=1"


def _served_by_fast_path(backend: Backend) -> int:
    listing = backend.client.app.state.api.views.ready_listing()  # type: ignore[attr-defined]
    return 0 if listing is None else len(listing._raw)


def test_repeat_is_identical_and_counted_under_the_route(backend: Backend) -> None:
    first = backend.client.get(URL)
    assert _served_by_fast_path(backend) == 1  # the route validated it and recorded the mapping
    second = backend.client.get(URL)
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["content-length"] == str(len(first.content))
    assert [item["name"] for item in second.json()["items"]] == ["web"]
    metrics = backend.client.get("/metrics").text
    assert 'optimizer_http_request_duration_seconds_count{route="/api/v1/services",method="GET",status="200"} 2' in (
        metrics
    )
    assert "\noptimizer_service_list_pages_cached 1\n" in metrics


def test_a_change_is_visible_on_the_next_request(backend: Backend) -> None:
    assert backend.client.get(URL).json()["items"][0]["endpoints"] == {"ready": 2, "not_ready": 0}
    backend.client.get(URL)
    before = backend.client.get(URL).json()["items"][0]["resources"]["cpu_request_millicores"]
    backend.client.app.state.api.views.min_rebuild_seconds = 0.0  # type: ignore[attr-defined]
    backend.in_loop(backend.live.put_pod, web_pod(7))
    after = backend.client.get(URL).json()["items"][0]["resources"]["cpu_request_millicores"]
    assert (before, after) == (1000, 1500)  # a third pod's 500m request: a new view, not the cached page


def test_invalid_queries_never_reach_the_cache(backend: Backend) -> None:
    for _ in range(2):
        assert backend.client.get("/api/v1/services?limit=0").status_code == 422
        assert backend.client.get("/api/v1/services?cursor=%25%25%25").status_code == 400
    assert _served_by_fast_path(backend) == 0


def test_cors_requests_take_the_normal_path(make_backend: BackendFactory) -> None:
    backend = make_backend(cors_origins=["https://ui.example"])
    backend.client.get(URL)
    allowed = backend.client.get(URL, headers={"Origin": "https://ui.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
