"""One real Prometheus per module, holding 14 days of generated cAdvisor and kube-state-metrics history.

The history is written as OpenMetrics and turned into TSDB blocks by promtool, exactly the way the
demo backfills the embedded cluster's history. CPU usage is constant over each aligned 5-minute
block, so `rate(...[5m])` at 5-minute steps returns each block's value exactly and the tests can say
what every strategy must compute from the data itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from k8s_optimizer.demo_prometheus import PrometheusProcess, PrometheusUnavailableError, binaries, create_blocks

DAY = 86400
STEP = 300
SCRAPE = 150  # two samples per 5-minute window: rate() is each block's value exactly
MIB = 1024 * 1024


def _cpu_cores(pod_index: int, block: int) -> float:
    """A daily wave with a per-pod offset, constant within each 5-minute block."""
    t = block * STEP
    return round(0.2 + 0.05 * pod_index + 0.1 * math.sin(2 * math.pi * t / DAY) + 0.03 * ((block * 7) % 5), 4)


def _memory_bytes(pod_index: int, t: int) -> float:
    return float(200 * MIB + pod_index * 10 * MIB + int(40 * MIB * (1 + math.sin(2 * math.pi * t / (3 * DAY)))))


@dataclass
class Dataset:
    """What was written: per (namespace, pod, container) the CPU block rates and memory samples."""

    end: int
    start: int
    cpu: dict[tuple[str, str, str], dict[int, float]] = field(default_factory=dict)  # step end -> cores
    memory: dict[tuple[str, str, str], dict[int, float]] = field(default_factory=dict)  # sample time -> bytes
    oom_at: int = 0


PODS = {
    # (namespace, pod, container): (owner kind, owner name, pod index, first sample offset from start)
    ("shop", "web-7f9c-aaaaa", "app"): ("ReplicaSet", "web-7f9c", 0, 0),
    ("shop", "web-7f9c-bbbbb", "app"): ("ReplicaSet", "web-7f9c", 1, 0),
    ("shop", "db-0", "postgres"): ("StatefulSet", "db", 2, 0),
    ("young", "fresh-5d8-xxxxx", "app"): ("ReplicaSet", "fresh-5d8", 0, 14 * DAY - 2 * 3600),
}
REPLICASETS = {("shop", "web-7f9c"): "web", ("young", "fresh-5d8"): "fresh"}


def _labels(namespace: str, pod: str, container: str, **extra: str) -> str:
    pairs = {"namespace": namespace, "pod": pod, "container": container, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def write_openmetrics(path: Path, end: int) -> Dataset:
    start = end - 14 * DAY
    data = Dataset(end=end, start=start, oom_at=end - 4 * DAY)
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for (namespace, pod, container), (_, _, index, offset) in PODS.items():
        total, rates = 0.0, {}
        first = start - 2 * STEP + offset
        for t in range(first, end + 1, SCRAPE):
            if t > first:
                total += _cpu_cores(index, (t - 1) // STEP) * SCRAPE
            lines.append(f"container_cpu_usage_seconds_total{_labels(namespace, pod, container)} {total:.6f} {t}")
            if t % STEP == 0 and t - STEP >= first:
                rates[t] = _cpu_cores(index, (t - 1) // STEP)
        data.cpu[(namespace, pod, container)] = rates
        # the pause container and the pod cgroup, which every query must leave out
        if namespace == "shop" and container == "app":
            for other in ("POD", ""):
                lines += [
                    f"container_cpu_usage_seconds_total{_labels(namespace, pod, other)} {9.0 * (t - first):.1f} {t}"
                    for t in range(first, end + 1, STEP)
                ]
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for (namespace, pod, container), (_, _, index, offset) in PODS.items():
        samples = {}
        # off the step boundaries, so closed (2.x) and left-open (3.x) range windows hold the same samples
        for t in range(start - 2 * STEP + offset + 30, end + 1, SCRAPE):
            samples[t] = _memory_bytes(index, t)
            lines.append(f"container_memory_working_set_bytes{_labels(namespace, pod, container)} {samples[t]:.0f} {t}")
        data.memory[(namespace, pod, container)] = samples
        if namespace == "shop" and container == "app":
            lines += [
                f"container_memory_working_set_bytes{_labels(namespace, pod, 'POD')} {5e9:.0f} {t}"
                for t in range(start, end + 1, STEP)
            ]
    lines += _state_metrics(data)
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def _state_metrics(data: Dataset) -> list[str]:
    lines = ["# TYPE kube_pod_owner gauge"]
    for (namespace, pod, _), (kind, name, _, offset) in PODS.items():
        labels = f'{{namespace="{namespace}",pod="{pod}",owner_kind="{kind}",owner_name="{name}"}}'
        lines += [f"kube_pod_owner{labels} 1 {t}" for t in range(data.start + offset, data.end + 1, STEP)]
    lines.append("# TYPE kube_replicaset_owner gauge")
    for (namespace, replicaset), deployment in REPLICASETS.items():
        labels = (
            f'{{namespace="{namespace}",replicaset="{replicaset}",owner_kind="Deployment",owner_name="{deployment}"}}'
        )
        lines += [f"kube_replicaset_owner{labels} 1 {t}" for t in range(data.start, data.end + 1, STEP)]
    restarts = _labels("shop", "db-0", "postgres")
    lines.append("# TYPE kube_pod_container_status_restarts counter")
    lines += [
        f"kube_pod_container_status_restarts_total{restarts} {1 if t >= data.oom_at else 0} {t}"
        for t in range(data.start, data.end + 1, STEP)
    ]
    reason = _labels("shop", "db-0", "postgres", reason="OOMKilled")
    lines.append("# TYPE kube_pod_container_status_last_terminated_reason gauge")
    lines += [
        f"kube_pod_container_status_last_terminated_reason{reason} 1 {t}"
        for t in range(data.oom_at, data.end + 1, STEP)
    ]
    lines.append("# TYPE http_requests_per_second gauge")
    for pod in ("web-7f9c-aaaaa", "web-7f9c-bbbbb"):
        labels = f'{{namespace="shop",pod="{pod}"}}'
        lines += [
            f"http_requests_per_second{labels} {50 + 40 * math.sin(2 * math.pi * t / DAY):.3f} {t}"
            for t in range(data.start, data.end + 1, STEP)
        ]
    return lines


@dataclass
class Backfilled:
    server: PrometheusProcess
    data: Dataset


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    try:
        binaries()
    except PrometheusUnavailableError as exc:
        pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("prometheus")
    end = (int(time.time()) // STEP) * STEP - STEP  # aligned, and well inside the 5-minute lookback
    data = write_openmetrics(root / "history.om", end)
    create_blocks(root / "history.om", root / "data")
    server = PrometheusProcess(root / "data")
    server.start()
    try:
        yield Backfilled(server, data)
    finally:
        server.stop()
