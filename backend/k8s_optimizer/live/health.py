"""Per-component health as the live model reports it to `/health` (status + the reason when degraded)."""

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
