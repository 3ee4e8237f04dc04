"""Charts: a workload's, pod's or node's cpu/memory/replicas over a window, from the history source."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from k8s_optimizer.api import schemas as s
from k8s_optimizer.api.deps import ContextDep, StateDep
from k8s_optimizer.api.errors import ApiError
from k8s_optimizer.api.params import parse_duration_seconds
from k8s_optimizer.api.views import ViewContext
from k8s_optimizer.domain.history import HistoryUnavailableError, RollupPoint, SeriesQueryError, SeriesTarget
from k8s_optimizer.domain.objects import ContainerSpec
from k8s_optimizer.live.scheduler import snapshot_now_seconds

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])

_MIN_STEP_SECONDS = 10


def _points(points: tuple[RollupPoint, ...]) -> list[s.SeriesPoint]:
    return [
        s.SeriesPoint(t=p.timestamp_seconds, samples=p.samples, min=p.min, avg=p.avg, max=p.max, p95=p.p95)
        for p in points
    ]


def _containers(context: ViewContext, target: SeriesTarget) -> tuple[list[ContainerSpec], int | None]:
    """The target's current container specs (for request/limit lines) and replica count."""
    if target.kind == "Pod":
        pod = context.snapshot.pods.get((target.namespace, target.name))
        specs, replicas = (list(pod.containers), 1) if pod else ([], None)
    else:
        workload = context.snapshot.workloads.get(target.owner())
        specs = list(workload.containers) if workload else []
        replicas = workload.replicas if workload else None
    return [c for c in specs if target.container is None or c.name == target.container], replicas


_SPEC_FIELDS = {
    ("cpu", "request"): "cpu_request_millicores",
    ("cpu", "limit"): "cpu_limit_millicores",
    ("memory", "request"): "memory_request_bytes",
    ("memory", "limit"): "memory_limit_bytes",
}


def _line(specs: list[ContainerSpec], metric: str, which: Literal["request", "limit"]) -> float | None:
    """Sum over the selected containers; None when any is unset (the line would be misleading)."""
    field = _SPEC_FIELDS.get((metric, which))
    if field is None or not specs:
        return None
    values: list[int | None] = [getattr(spec, field) for spec in specs]
    known = [v for v in values if v is not None]
    return float(sum(known)) if len(known) == len(values) else None


def _source(resolution: str) -> Literal["raw", "rollup", "prometheus"]:
    if resolution in ("rollup", "prometheus"):
        return "rollup" if resolution == "rollup" else "prometheus"
    return "raw"


@router.get("/timeseries")
async def timeseries(
    state: StateDep,
    context: ContextDep,
    target: Annotated[str, Query(min_length=5, max_length=600, description="<kind>/<namespace>/<name>[/<container>]")],
    metric: Literal["cpu", "memory", "replicas"] = "cpu",
    window: Annotated[str, Query(max_length=12, description="30m, 6h, 7d (≤ 14d)")] = "1h",
    step: Annotated[str | None, Query(max_length=12, description="step, e.g. 15s, 5m (default: window/120)")] = None,
) -> s.TimeSeries:
    """Usage over time (sum over pods and per pod) with the current request and limit per pod."""
    if state.history is None:
        raise ApiError(503, "no history store is configured")
    window_seconds = parse_duration_seconds(window, "window")
    step_seconds = parse_duration_seconds(step, "step") if step else max(_MIN_STEP_SECONDS, window_seconds // 120)
    if step_seconds < _MIN_STEP_SECONDS or step_seconds > window_seconds:
        raise ApiError(400, f"step: must be between {_MIN_STEP_SECONDS}s and the window")
    try:
        parsed = SeriesTarget.parse(target)
        series = await state.history.series(
            parsed,
            metric,
            window_seconds=window_seconds,
            step_seconds=step_seconds,
            now_seconds=snapshot_now_seconds(context.snapshot),
        )
    except SeriesQueryError as exc:
        raise ApiError(400 if exc.field == "target" else 422, str(exc)) from exc
    except HistoryUnavailableError as exc:
        # the history source failed, not the request: say why (4xx, so no client retries a 5xx storm)
        raise ApiError(424, f"history source unavailable: {exc}") from exc
    specs, replicas = _containers(context, parsed)
    return s.TimeSeries(
        target=series.target,
        metric=metric,
        unit=series.unit,
        window_seconds=series.window_seconds,
        step_seconds=series.step_seconds,
        source=_source(series.resolution),
        total=_points(series.total),
        per_pod={pod: _points(points) for pod, points in sorted(series.per_pod.items())},
        request_per_pod=_line(specs, metric, "request"),
        limit_per_pod=_line(specs, metric, "limit"),
        replicas=replicas,
    )
