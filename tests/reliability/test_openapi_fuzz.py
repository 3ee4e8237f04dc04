"""Schemathesis over the served OpenAPI document against the real backend process (≥ 500 generated cases).

The API owner's tests/api/test_openapi.py fuzzes an in-process app with fakes; this one sends the generated
requests over HTTP to `k8s-optimizer serve` wired to the embedded cluster, so real parsing, real caches
and real uvicorn are in the path. Every response must be non-5xx and match its declared schema.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from k8s_optimizer.app import create_app
from k8s_optimizer.settings import Settings
from tests.dashboard_servers import BackendServer

MIN_CASES = 500
# 26 operations; those without parameters yield one case, so the rest need ~25 each to pass MIN_CASES.
EXAMPLES_PER_OPERATION = 10

schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
_cases_sent: list[str] = []


@pytest.fixture(scope="module")
def http_session() -> Any:
    with requests.Session() as session:
        yield session


def test_served_document_is_the_fuzzed_one(shared_backend: BackendServer) -> None:
    with urllib.request.urlopen(f"{shared_backend.url}/api/v1/openapi.json", timeout=10) as response:
        served = json.loads(response.read())
    assert sorted(served["paths"]) == sorted(schema.raw_schema["paths"])


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_schema_conformance(
    case: schemathesis.Case[Any], shared_backend: BackendServer, http_session: requests.Session
) -> None:
    kwargs = case.as_transport_kwargs(base_url=shared_backend.url)
    kwargs.pop("cookies", None)  # no route reads cookies
    response = http_session.request(**kwargs, timeout=30)
    _cases_sent.append(f"{case.method} {case.path}")
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_enough_cases_were_generated(shared_backend: BackendServer) -> None:
    """Runs after the parametrized test (file order): the issue asks for at least 500 generated cases."""
    assert len(_cases_sent) >= MIN_CASES, f"only {len(_cases_sent)} cases"
    sys.stderr.write(f"schemathesis: {len(_cases_sent)} cases sent\n")
    documented = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item}
    assert documented <= set(_cases_sent)  # every operation was exercised (plus undocumented methods)
    with urllib.request.urlopen(f"{shared_backend.url}/health", timeout=10) as response:
        assert response.status == 200
    assert shared_backend.process is not None
    assert shared_backend.process.poll() is None
