"""The scale scenario at full size: 10,000 pods list complete in pages and in one piece (speed: `make bench`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config

from k8s_sim.resources import PODS
from tests.sim.builders import pod, seed_namespaces
from tests.sim.conftest import Served
from tests.simcluster import SimCluster

PODS_TOTAL = 10_000


def _seed(served: Served) -> None:
    namespaces = [f"ns-{index:02d}" for index in range(20)]
    seed_namespaces(served.store, *namespaces)
    for index in range(PODS_TOTAL):
        served.store.create(PODS, pod(f"pod-{index:05d}", namespaces[index % 20], {"app": f"a{index % 50}"}))


async def test_paginated_list_of_10000_pods_is_fast_and_complete(served: Served) -> None:
    _seed(served)
    names: list[str] = []
    async with aiohttp.ClientSession() as session:
        token = ""
        while True:
            params = {"limit": "500", **({"continue": token} if token else {})}
            async with session.get(f"{served.url}/api/v1/pods", params=params) as response:
                page = await response.json()
            names += [item["metadata"]["name"] for item in page["items"]]
            token = page["metadata"].get("continue", "")
            if not token:
                break
        async with session.get(f"{served.url}/api/v1/pods") as response:
            whole = json.loads(await response.read())
    assert len(names) == len(set(names)) == PODS_TOTAL
    assert len(whole["items"]) == PODS_TOTAL


async def test_label_selected_page_scans_without_resorting(served: Served) -> None:
    _seed(served)
    keys_before = served.store.sorted_keys(PODS)
    async with aiohttp.ClientSession() as session:
        params = {"labelSelector": "app=a7", "limit": "50"}
        async with session.get(f"{served.url}/api/v1/pods", params=params) as response:
            page = await response.json()
    assert len(page["items"]) == 50
    assert {item["metadata"]["labels"]["app"] for item in page["items"]} == {"a7"}
    assert "remainingItemCount" not in page["metadata"]
    assert served.store.sorted_keys(PODS) is keys_before


@pytest.mark.slow
async def test_scale_scenario_serves_a_full_paginated_pod_list_through_the_kubeconfig() -> None:
    cluster = await asyncio.to_thread(SimCluster.start, scenario="scale", pods=PODS_TOTAL, services=2_000)
    try:
        configuration = client.Configuration()
        await config.load_kube_config(config_file=str(cluster.kubeconfig), client_configuration=configuration)
        async with client.ApiClient(configuration) as api_client:
            core: Any = client.CoreV1Api(api_client)
            keys: list[tuple[str, str]] = []
            token = None
            while True:
                # Raw JSON: deserialising 10,000 pods into client models would only slow the test down.
                response = await core.list_pod_for_all_namespaces(limit=500, _continue=token, _preload_content=False)
                page = json.loads(await response.read())
                keys += [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in page["items"]]
                token = page["metadata"].get("continue")
                if not token:
                    break
            services = await core.list_service_for_all_namespaces()
    finally:
        await asyncio.to_thread(cluster.stop)
    assert len(keys) == len(set(keys)) >= PODS_TOTAL
    assert keys == sorted(keys)
    assert len(services.items) >= 2_000


async def test_deleting_a_thousand_pods_does_not_scan_the_store_per_pod(served: Served) -> None:
    _seed(served)
    async with aiohttp.ClientSession() as session:
        params = {"labelSelector": "app in (a1,a2,a3,a4,a5)"}
        async with session.delete(f"{served.url}/api/v1/pods", params=params) as response:
            deleted = await response.json()
    assert len(deleted["items"]) == 1_000  # five apps of fifty, 200 pods each
    assert served.store.count(PODS) == PODS_TOTAL - 1_000
