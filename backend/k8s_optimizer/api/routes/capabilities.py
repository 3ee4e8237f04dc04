"""What the backend allows (apply on or off, token needed or not), as a read-only route.

The dashboard used to find out by sending a token-less POST to a mutating route and reading the status
code; this answers the same question without touching a mutating route, and says why apply is off.
It needs no cluster sync, so it answers as soon as the backend serves.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter

from k8s_optimizer import __version__
from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import StateDep
from k8s_optimizer.api.state import history_source
from k8s_optimizer.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["meta"])
log = logging.getLogger(__name__)


def _configured_token(settings: Settings) -> tuple[bool, str | None]:
    """Whether a token is configured; an unreadable token file counts as none (and says so)."""
    try:
        return settings.read_apply_token() is not None, None
    except OSError as exc:
        log.warning("apply token file unreadable: %s", exc)
        return False, f"the apply token file is unreadable ({settings.apply_token_file})"


def capabilities_of(settings: Settings, history_source: str = "sqlite") -> s.Capabilities:
    """The same decision `require_apply` makes per request, without a request."""
    if not settings.apply_enabled:
        reason: str | None = "apply is disabled (set OPTIMIZER_APPLY_ENABLED=true and a token to enable it)"
        has_token = False
    else:
        has_token, reason = _configured_token(settings)
        if not has_token and reason is None:
            reason = "apply is enabled but no token is configured (OPTIMIZER_APPLY_TOKEN[_FILE])"
    return s.Capabilities(
        apply_enabled=has_token,
        token_required=has_token,
        apply_disabled_reason=None if has_token else reason,
        version=__version__,
        source="prometheus" if history_source == "prometheus" else "sqlite",
    )


@router.get("/capabilities")
async def capabilities(state: StateDep) -> s.Capabilities:
    """Whether apply/dry-run/rollback are allowed and need a bearer token; the backend version."""
    return capabilities_of(state.settings, history_source(state.history))
