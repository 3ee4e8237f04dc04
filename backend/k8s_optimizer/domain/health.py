"""A component's health as `/health` shows it (ok, or degraded with the reason): the live model's watches,
metrics and store, and the Prometheus history source, all report in this one shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HealthStatus = Literal["ok", "degraded"]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    status: HealthStatus
    reason: str | None = None

    @classmethod
    def ok(cls) -> ComponentHealth:
        return cls("ok")

    @classmethod
    def degraded(cls, reason: str) -> ComponentHealth:
        return cls("degraded", reason)
