"""Usage readings as they come from metrics.k8s.io, keyed with their namespace (the original was not).

Timestamps are the metrics API's own sample timestamps, never the local clock, so simulated time and
real time are both correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from k8s_optimizer.domain.objects import ObjectRef


class ContainerKey(NamedTuple):
    """One container of one pod: the key of usage readings and histories (a NamedTuple, like ObjectRef)."""

    namespace: str
    pod: str
    container: str


@dataclass(frozen=True, slots=True)
class ContainerUsage:
    key: ContainerKey
    timestamp: datetime
    window_seconds: float
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class NodeUsage:
    node: str
    timestamp: datetime
    window_seconds: float
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class UsagePoint:
    """One point of a series: (seconds since epoch, value in the series' unit)."""

    timestamp_seconds: float
    value: float


@dataclass(frozen=True, slots=True)
class Termination:
    """A container termination seen in pod status (OOMKilled, Error...), recorded once per occurrence."""

    key: ContainerKey
    reason: str
    finished_at: datetime
    restart_count: int


@dataclass(frozen=True, slots=True)
class ScrapedContainer:
    """One container's reading with what the history store needs beside it.

    The collector resolves the owning workload (Pod -> ReplicaSet -> Deployment) at scrape time, so
    history stays attached to the workload after its pods are replaced; the CPU request weighs the
    VPA histogram sample (max(request, 100m)).
    """

    usage: ContainerUsage
    workload: ObjectRef | None
    cpu_request_millicores: int | None
    memory_request_bytes: int | None
