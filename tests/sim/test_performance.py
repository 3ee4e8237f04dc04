"""The scale scenario's sizes stay fast: 10,000 pods list in pages and in one piece, and watch start-up."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from k8s_optimizer.sim.resources import PODS
from tests.sim.builders import pod, seed_namespaces
from tests.sim.conftest import Served

PODS_TOTAL = 10_000


def _seed(served: Served) -> None:
    namespaces = [f"ns-{index:02d}" for index in range(20)]
    seed_namespaces(served.store, *namespaces)
    for index in range(PODS_TOTAL):
        served.store.create(PODS, pod(f"pod-{index:05d}", namespaces[index % 20], {"app": f"a{index % 50}"}))


async def test_paginated_list_of_10000_pods_is_fast_and_complete(served: Served) -> None:
    _seed(served)
    loop = asyncio.get_running_loop()
    names: list[str] = []
    started = loop.time()
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
        paged_seconds = loop.time() - started
        started = loop.time()
        async with session.get(f"{served.url}/api/v1/pods") as response:
            whole = json.loads(await response.read())
        whole_seconds = loop.time() - started
    assert len(names) == len(set(names)) == PODS_TOTAL
    assert len(whole["items"]) == PODS_TOTAL
    assert paged_seconds < 6.0
    assert whole_seconds < 6.0


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
