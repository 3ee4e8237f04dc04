"""Issue 14 #11: nothing CPU-heavy on the event loop; `/health` answers while the largest report is built."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.offload import INLINE_ITEMS
from k8s_optimizer.api.params import encode_cursor
from k8s_optimizer.api.report_formats import RENDERERS
from k8s_optimizer.api.routes import report as report_route
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.app import create_app
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.settings import Settings
from tests.api.conftest import BackendFactory
from tests.api.fakes import WEB, FakeHistory, FakeLive, FakeWriter, build_report, build_snapshot, web_recommendation

REPORT_RECOMMENDATIONS = 3000
HEALTH_BUDGET_SECONDS = 0.1  # the bound for /health while the report is produced

# Probes /health from its own process (a client thread in this process would compete for the server's GIL
# and measure itself), one request at a time, until the stop file appears: one JSON line per probe.
_PROBE = """
import http.client, json, os, sys, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
while not os.path.exists(stop):
    connection = http.client.HTTPConnection(host, port, timeout=30)
    started = time.time()
    connection.request("GET", "/health")
    body = connection.getresponse().read()
    print(json.dumps({"at": started, "seconds": time.time() - started, "body": body.decode()}), flush=True)
    connection.close()
    time.sleep(0.02)
"""


def big_report_app(data_dir: str) -> FastAPI:
    recs = tuple(
        dataclasses.replace(web_recommendation(ObjectRef("Deployment", "shop", f"web-{i}")), id=f"rec-{i:05d}")
        for i in range(REPORT_RECOMMENDATIONS)
    )
    report = build_report(recs)
    return create_app(
        Settings(data_dir=Path(data_dir)),
        live=FakeLive(),
        history=FakeHistory(),
        analyzer=lambda snapshot, histories, now: report,
        writer=FakeWriter(),
    )


# The backend in its own process, as in production: the test process's heap (every test module, hypothesis,
# playwright...) would make its garbage collector's pauses the thing measured.
_SERVER = """
import sys
import uvicorn
from tests.api.test_offload import big_report_app
uvicorn.run(big_report_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "backend"), str(root)])}
    process = subprocess.Popen([sys.executable, "-c", _SERVER, str(tmp_path), str(port)], cwd=root, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the backend exited"
            assert time.monotonic() < deadline, "the backend did not start"
            try:
                total = httpx.get(f"http://127.0.0.1:{port}/api/v1/recommendations?limit=1").json().get("total")
            except httpx.TransportError:
                total = None
            if total == REPORT_RECOMMENDATIONS:
                break
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_health_answers_within_100ms_while_the_largest_report_is_produced(
    server: tuple[str, int], tmp_path: Path
) -> None:
    host, port = server
    base = f"http://{host}:{port}"
    stop = tmp_path / "stop"
    probe = subprocess.Popen(
        [sys.executable, "-c", _PROBE, host, str(port), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        time.sleep(0.3)  # the probe is warmed up and probing
        started = time.time()
        response = httpx.get(f"{base}/api/v1/report?format=yaml", timeout=120)
        finished = time.time()
    finally:
        stop.touch()
        out, _ = probe.communicate(timeout=30)
    assert response.status_code == 200
    assert response.text.count("\n- id: rec-") == REPORT_RECOMMENDATIONS
    probes = [json.loads(line) for line in out.splitlines()]
    during = [p for p in probes if started < p["at"] and p["at"] + p["seconds"] < finished]
    # Meaningful: the report is heavy enough that an inline build would have held several probes back.
    assert finished - started > 1.0
    assert len(during) >= 10, (finished - started, probes)
    assert {p["body"] for p in during} == {'{"status":"healthy"}'}
    # Robust on a shared, loaded machine: the OS may deschedule any process for a moment, so the bound holds
    # for nine probes in ten, and none waits a whole render (~5 s+) as every probe did when the report was
    # produced on the event loop (issue 14 #11: a /health took 4.3 s).
    latencies = sorted(p["seconds"] for p in during)
    within = [seconds for seconds in latencies if seconds < HEALTH_BUDGET_SECONDS]
    assert len(within) >= 0.9 * len(latencies), latencies
    assert latencies[-1] < 1.0, latencies


def test_a_large_page_is_the_same_json_as_a_small_one(make_backend: BackendFactory) -> None:
    recs = tuple(
        dataclasses.replace(web_recommendation(ObjectRef("Deployment", "shop", f"web-{i}")), id=f"rec-{i:04d}")
        for i in range(INLINE_ITEMS + 50)
    )
    client = make_backend(report=build_report(recs)).client
    large = client.get(f"/api/v1/recommendations?limit={INLINE_ITEMS + 50}")  # rendered in a worker thread
    small = [
        client.get("/api/v1/recommendations?limit=75"),
        client.get(f"/api/v1/recommendations?limit=75&cursor={encode_cursor(75)}"),
    ]
    assert large.headers["content-type"] == "application/json"
    assert large.json()["items"] == small[0].json()["items"] + small[1].json()["items"]
    assert [large.json()["total"], large.json()["next_cursor"]] == [INLINE_ITEMS + 50, None]


class _FrozenClock(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _FrozenClock:
        return cls(2026, 11, 26, 12, 0, tzinfo=tz)


def test_a_large_report_rendered_in_a_worker_process_is_the_same_as_inline(
    make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_route, "datetime", _FrozenClock)
    recs = tuple(
        dataclasses.replace(web_recommendation(ObjectRef("Deployment", "shop", f"web-{i}")), id=f"rec-{i:04d}")
        for i in range(INLINE_ITEMS + 1)
    )
    client = make_backend(report=build_report(recs)).client
    for format in RENDERERS:
        served = client.get(f"/api/v1/report?format={format}").text
        as_json = client.get("/api/v1/report?format=json").json()
        expected = RENDERERS[format](s.Report.model_validate(as_json))
        assert served == expected, format


def test_a_detail_with_many_pods_is_built_off_the_loop_and_unchanged(make_backend: BackendFactory) -> None:
    live = FakeLive(build_snapshot(replicas=INLINE_ITEMS + 20))
    backend = make_backend(live=live)
    context = ViewContext.build(live.current, build_report())
    service = backend.client.get("/api/v1/services/shop/web")
    workload = backend.client.get("/api/v1/workloads/shop/Deployment/web")
    assert (service.status_code, workload.status_code) == (200, 200)
    assert len(service.json()["pods"]) == len(workload.json()["pods"]) == INLINE_ITEMS + 20
    assert service.json() == context.service_detail(live.current.services[("shop", "web")]).model_dump(mode="json")
    web = live.current.workloads[WEB]
    assert workload.json() == context.workload_detail(web).model_dump(mode="json")
