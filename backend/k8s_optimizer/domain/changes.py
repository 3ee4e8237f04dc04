"""The live model's change feed: what the WebSocket hub streams to clients.

Every add/modify/delete seen by the watch caches becomes a `Change` with a monotonic `seq`, and so do
derived service-level changes (a Service's endpoints or readiness changed, an HPA's replicas changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChangeType = Literal["added", "modified", "deleted"]


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    type: ChangeType
    kind: str  # Pod, Service, Deployment, ... or a derived kind: ServiceEndpoints, ServiceReadiness, HPAReplicas
    namespace: str
    name: str
    object: object | None  # the domain object after the change (None when deleted)
    derived: bool = False
