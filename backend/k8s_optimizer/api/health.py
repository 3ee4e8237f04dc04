"""Liveness and readiness, in the exact shapes curl users and kubelet probes see."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get("/health")
async def health() -> Health:
    """Report whether the backend is healthy."""
    return Health(status="healthy")
