"""kubernetes.io-style documents (tests/sim/data/documents.yaml) against the embedded cluster's API server.

Each case is sent as kubectl sends it (`fieldValidation=Strict`), and must come back as a v1.31
kube-apiserver answers it: accepted, or rejected with the same status code, reason and message (the field
path and wording). The server runs in process over a real EmbeddedCluster, so admission, the
admission plugins (quota, priority) and the update rules all take part.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml
from aiohttp import web

from k8s_sim.cluster import EmbeddedCluster
from k8s_sim.faults import Faults
from k8s_sim.server import build_app

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "data" / "documents.yaml").read_text())
NAMESPACE = "docs"


def test_there_are_at_least_a_hundred_documents() -> None:
    assert sum(len(case["docs"]) for case in CASES) >= 100
    assert len({case["name"] for case in CASES}) == len(CASES)


class Api:
    def __init__(self, cluster: EmbeddedCluster, url: str, session: aiohttp.ClientSession) -> None:
        self.cluster = cluster
        self.url = url
        self.session = session

    def _path(self, doc: dict[str, Any], namespace: str, named: bool) -> str:
        group_version = doc["apiVersion"]
        group = group_version.split("/")[0] if "/" in group_version else ""
        rt = self.cluster.store.type_of_kind(doc["kind"], group)
        assert rt is not None, doc["kind"]
        base = f"/apis/{group_version}" if group else f"/api/{group_version}"
        scope = f"/namespaces/{namespace}" if rt.namespaced else ""
        name = f"/{doc['metadata']['name']}" if named else ""
        return f"{base}{scope}/{rt.plural}{name}?fieldValidation=Strict"

    async def send(self, doc: dict[str, Any], namespace: str, *, update: bool) -> tuple[int, Any]:
        method = "PUT" if update else "POST"
        path = self._path(doc, namespace, named=update)
        async with self.session.request(method, self.url + path, data=json.dumps(doc).encode()) as response:
            return response.status, json.loads(await response.text())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api() -> AsyncIterator[Api]:
    cluster = EmbeddedCluster(scenario="broken", speed=1.0, seed=3)
    await cluster.start()
    runner = web.AppRunner(build_app(cluster, Faults(seed=1)), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses if isinstance(address, tuple))
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        served = Api(cluster, f"http://127.0.0.1:{port}", session)
        namespaces = {NAMESPACE} | {case["namespace"] for case in CASES if "namespace" in case}
        for namespace in sorted(namespaces):
            status, body = await served.send(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, "", update=False
            )
            assert status == 201, body
        yield served
    await runner.cleanup()
    await cluster.stop()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_document_is_judged_as_kube_apiserver_judges_it(api: Api, case: dict[str, Any]) -> None:
    namespace = case.get("namespace", NAMESPACE)
    *setup, judged = case["docs"]
    for doc in setup if not case.get("update") else setup[:1]:
        status, body = await api.send(doc, namespace, update=False)
        assert status == 201, body
    status, body = await api.send(judged, namespace, update=bool(case.get("update")))
    expected = case["expect"]
    if expected == "accepted":
        assert status in (200, 201), body
        assert body["kind"] == judged["kind"]
        return
    assert (status, body["kind"], body["reason"]) == (expected["code"], "Status", expected["reason"])
    assert expected["message"] in body["message"]
