"""Fault injection for the embedded cluster: the failures a real API server inflicts on clients.

The backend must survive dropped watches, 5xx/429 storms, slow responses, 410 Gone on resume and a
missing metrics-server; a healthy simulator never exercises those paths, so tests switch them on here.

Grammar (`--faults` and `POST /sim/v1/faults {"spec": ...}`), comma-separated `key=value` terms:
    watch-drop=S         end every watch stream S real seconds after it started (clients must resume)
    error-rate=F         answer a fraction F (0..1) of API requests with an error …
    error-code=C         … with this code (500, 503 or 429; default 500, or 429 when retry-after is set)
    retry-after=S        send `Retry-After: S` with injected errors (integer seconds)
    latency-ms=N         delay every API response by N ms
    expire-rv=S          compact the event log every S real seconds (older resourceVersions → 410 Gone)
    metrics-outage=D@T   metrics.k8s.io answers 503 for D seconds starting T seconds from now (`@T` optional)
Times are real (wall-clock) seconds measured from when the spec was set. The /sim/v1/* control endpoints
are never affected.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

_ERROR_CODES = (429, 500, 503)


class FaultSpecError(ValueError):
    """A --faults spec that does not parse; the message names the offending term."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    watch_drop_seconds: float | None = None
    error_rate: float = 0.0
    error_code: int | None = None
    retry_after_seconds: int | None = None
    latency_ms: float = 0.0
    expire_rv_seconds: float | None = None
    metrics_outage_seconds: float | None = None
    metrics_outage_start_seconds: float = 0.0
    text: str = ""

    @property
    def effective_error_code(self) -> int:
        if self.error_code is not None:
            return self.error_code
        return 429 if self.retry_after_seconds is not None else 500


def _number(term: str, raw: str, *, low: float = 0.0, high: float | None = None, strict: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FaultSpecError(f"fault {term!r}: {raw!r} is not a number") from None
    if value < low or (strict and value == low) or (high is not None and value > high):
        bounds = f"{'>' if strict else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise FaultSpecError(f"fault {term!r}: value must be {bounds}")
    return value


def _outage(term: str, raw: str) -> dict[str, float]:
    duration, _, start = raw.partition("@")
    return {
        "metrics_outage_seconds": _number(term, duration, strict=True),
        "metrics_outage_start_seconds": _number(term, start) if start else 0.0,
    }


def _error_code(term: str, raw: str) -> int:
    code = int(_number(term, raw))
    if code not in _ERROR_CODES:
        raise FaultSpecError(f"fault {term!r}: error-code must be one of {', '.join(map(str, _ERROR_CODES))}")
    return code


def _term(key: str, raw: str) -> dict[str, Any]:
    term = f"{key}={raw}"
    parsers: dict[str, Any] = {
        "watch-drop": lambda: {"watch_drop_seconds": _number(term, raw, strict=True)},
        "error-rate": lambda: {"error_rate": _number(term, raw, high=1.0)},
        "error-code": lambda: {"error_code": _error_code(term, raw)},
        "retry-after": lambda: {"retry_after_seconds": int(_number(term, raw))},
        "latency-ms": lambda: {"latency_ms": _number(term, raw)},
        "expire-rv": lambda: {"expire_rv_seconds": _number(term, raw, strict=True)},
        "metrics-outage": lambda: _outage(term, raw),
    }
    if key not in parsers:
        raise FaultSpecError(f"unknown fault {key!r} in {term!r}; known: {', '.join(sorted(parsers))}")
    result: dict[str, Any] = parsers[key]()
    return result


def parse_faults(text: str) -> FaultSpec:
    """Parse a fault spec; '' means no faults. Raises FaultSpecError with the bad term in the message."""
    spec = FaultSpec(text=text.strip())
    for raw_term in text.split(","):
        term = raw_term.strip()
        if not term:
            continue
        key, sep, value = term.partition("=")
        if not sep or not value.strip():
            raise FaultSpecError(f"fault term {term!r} must look like key=value")
        spec = replace(spec, **_term(key.strip(), value.strip()))
    return spec


class Faults:
    """The live fault state: the current spec, when it was set, and a seeded RNG for error injection."""

    def __init__(self, spec: FaultSpec | None = None, *, seed: int = 1) -> None:
        self._rng = random.Random(seed)
        self.spec = spec or FaultSpec()
        self.set_at = time.monotonic()

    def set(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.set_at = time.monotonic()

    def metrics_unavailable(self) -> bool:
        spec = self.spec
        if spec.metrics_outage_seconds is None:
            return False
        elapsed = time.monotonic() - self.set_at - spec.metrics_outage_start_seconds
        return 0 <= elapsed < spec.metrics_outage_seconds

    def injected_error(self) -> int | None:
        """The error code to answer this request with, or None to serve it normally."""
        if self.spec.error_rate > 0 and self._rng.random() < self.spec.error_rate:
            return self.spec.effective_error_code
        return None

    def describe(self) -> dict[str, Any]:
        fields = asdict(self.spec)
        return {
            "spec": fields.pop("text"),
            **{_camel(key): value for key, value in fields.items()},
            "metricsUnavailable": self.metrics_unavailable(),
        }


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)
