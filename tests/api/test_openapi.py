"""Schemathesis over the OpenAPI document: generated requests never get a 5xx, responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.api.fakes import FakeHistory, FakeLive, FakeWriter, build_report

TOKEN = "fuzz-token"
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    report = build_report()
    app = create_app(
        Settings(data_dir=Path(tmp_path_factory.mktemp("fuzz")), apply_enabled=True, apply_token=TOKEN),
        live=FakeLive(),
        history=FakeHistory(),
        analyzer=lambda snapshot, histories, now: report,
        writer=FakeWriter(),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_openapi_document_is_served(fuzz_client: TestClient) -> None:
    document: dict[str, Any] = fuzz_client.get("/api/v1/openapi.json").json()
    assert document["info"]["title"] == "k8s-service-optimizer"
    assert "/api/v1/services/{namespace}/{name}/path" in document["paths"]
    assert fuzz_client.get("/api/docs").status_code == 200


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case[Any], fuzz_client: TestClient) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)  # none of our routes reads cookies; httpx deprecates per-request ones
    kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {TOKEN}"
    response = fuzz_client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
