"""Reads of metrics.k8s.io (what metrics-server serves; `kubectl top` reads the same).

Only the latest reading per pod/node exists there, which is why the live collector polls it and
hands the readings to the history store. Sample timestamps are the API's own, never our clock.
A 10,000-pod scrape translates in a worker thread (with the cyclic GC paused), so the event loop
keeps serving requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from k8s_optimizer.domain.usage import ContainerUsage, NodeUsage
from k8s_optimizer.interpreter import GC_PAUSE
from k8s_optimizer.k8s.connection import ApiReader, Json
from k8s_optimizer.k8s.translate import translate_node_metrics, translate_pod_metrics

METRICS_PREFIX = "/apis/metrics.k8s.io/v1beta1"


async def fetch_pod_metrics(connection: ApiReader, namespaces: Sequence[str] = ()) -> list[ContainerUsage]:
    """Every container's latest reading (all namespaces, or each of `namespaces`)."""
    paths = (
        [f"{METRICS_PREFIX}/namespaces/{namespace}/pods" for namespace in namespaces]
        if namespaces
        else [f"{METRICS_PREFIX}/pods"]
    )
    readings: list[ContainerUsage] = []
    for path in paths:
        body = await connection.get_json(path)
        readings.extend(await asyncio.to_thread(_pod_readings, body))
    return readings


def _pod_readings(body: Json) -> list[ContainerUsage]:
    with GC_PAUSE.paused():
        return [reading for item in body.get("items") or [] for reading in translate_pod_metrics(item)]


async def fetch_node_metrics(connection: ApiReader) -> list[NodeUsage]:
    body = await connection.get_json(f"{METRICS_PREFIX}/nodes")
    readings = (translate_node_metrics(item) for item in body.get("items") or [])
    return [reading for reading in readings if reading is not None]
