"""Anomalies on usage series and on cluster events, each with its time, value and expected range.

Series rules (per the issue): |z| > 3/4/5 → medium/high/critical; spike when a value exceeds 2× the
previous one, drop when it falls under 0.5×; drift when the second half's mean differs from the
first's by > 30 %; oscillation when > 50 % of steps change direction and σ > 0.2·mean. Event rules:
OOMKilled, restart bursts, CrashLoopBackOff, an HPA pinned at maxReplicas.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from k8s_optimizer.analysis.percentiles import values_of
from k8s_optimizer.domain.objects import HPA, ObjectRef, Pod
from k8s_optimizer.domain.usage import UsagePoint

AnomalySeverity = Literal["low", "medium", "high", "critical"]

Z_THRESHOLDS: tuple[tuple[float, AnomalySeverity], ...] = ((5.0, "critical"), (4.0, "high"), (3.0, "medium"))
SPIKE_RATIO = 2.0
DROP_RATIO = 0.5
DRIFT_FRACTION = 0.3
OSCILLATION_SHARE = 0.5
OSCILLATION_CV = 0.2
MIN_POINTS = 8  # fewer points carry no statistical meaning
# Near-zero readings make ratios meaningless (0.1 m → 0.3 m is not a "spike").
SPIKE_FLOOR_FRACTION = 0.05  # previous value must be ≥ 5 % of the series' mean
MAX_PER_KIND = 10  # keep the strongest few per series and kind; the UI lists, it does not scroll forever


def _shown(series: str, value: float) -> str:
    """A value in its series' unit, as people read it: '212m' CPU, '345.2 MiB' memory."""
    if series.endswith("memory_bytes"):
        return f"{value / 2**20:.1f} MiB"
    if series.endswith("cpu_millicores"):
        return f"{value:.0f}m"
    return f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str  # zscore, spike, drop, drift, oscillation, oom_killed, restart_burst, crash_loop, hpa_pinned_at_max
    series: str  # e.g. "Deployment/ns/web/app/cpu_millicores", or the object for events
    target: ObjectRef
    timestamp_seconds: float
    value: float
    expected_low: float | None
    expected_high: float | None
    severity: AnomalySeverity
    message: str


def _zscores(
    series: str,
    target: ObjectRef,
    points: Sequence[UsagePoint],
    extremes: tuple[float, float],
    average: float,
    sigma: float,
) -> Iterator[Anomaly]:
    low, high = average - 3 * sigma, average + 3 * sigma
    if sigma <= 0 or (extremes[0] >= low and extremes[1] <= high):
        return  # the common case: nothing beyond 3σ, skip the per-point walk
    for point in points:
        z = (point.value - average) / sigma
        for threshold, severity in Z_THRESHOLDS:
            if abs(z) > threshold:
                yield Anomaly(
                    "zscore", series, target, point.timestamp_seconds, point.value, low, high, severity,
                    f"{_shown(series, point.value)} is {z:+.1f}σ from the mean {_shown(series, average)}",
                )  # fmt: skip
                break


def _jumps(
    series: str, target: ObjectRef, points: Sequence[UsagePoint], values: list[float], average: float
) -> Iterator[Anomaly]:
    floor = max(SPIKE_FLOOR_FRACTION * average, 0.0)
    # most series have no jump at all: two C-level passes (map/any) prove it before any Python loop
    rest = values[1:]
    if not any(map(operator.gt, rest, map(operator.mul, values, itertools.repeat(SPIKE_RATIO)))) and not any(
        map(operator.lt, rest, map(operator.mul, values, itertools.repeat(DROP_RATIO)))
    ):
        return
    jumps = [
        index
        for index, (previous, value) in enumerate(itertools.pairwise(values), start=1)
        if previous > floor and (value > SPIKE_RATIO * previous or value < DROP_RATIO * previous)
    ]
    for index in jumps:
        previous, value = values[index - 1], values[index]
        ratio = value / previous
        when = points[index].timestamp_seconds
        if ratio > SPIKE_RATIO:
            yield Anomaly(
                "spike", series, target, when, value, 0.0, previous * SPIKE_RATIO,
                "medium" if ratio > 2 * SPIKE_RATIO else "low",
                f"{_shown(series, value)} is {ratio:.1f}× the previous {_shown(series, previous)}",
            )  # fmt: skip
        else:
            yield Anomaly(
                "drop", series, target, when, value, previous * DROP_RATIO, None,
                "low", f"{_shown(series, value)} fell to {ratio:.2f}× the previous {_shown(series, previous)}",
            )  # fmt: skip


def _drift(
    series: str, target: ObjectRef, points: Sequence[UsagePoint], values: list[float], total: float
) -> Iterator[Anomaly]:
    half = len(values) // 2
    first_sum = sum(itertools.islice(values, half))
    first, second = first_sum / half, (total - first_sum) / (len(values) - half)
    if first <= 0:
        return
    change = (second - first) / first
    if abs(change) > DRIFT_FRACTION:
        yield Anomaly(
            "drift", series, target, points[half].timestamp_seconds, second,
            first * (1 - DRIFT_FRACTION), first * (1 + DRIFT_FRACTION),
            "medium" if abs(change) > 2 * DRIFT_FRACTION else "low",
            f"mean moved {change * 100:+.0f} % between halves ({_shown(series, first)} → {_shown(series, second)})",
        )  # fmt: skip


def _oscillation(
    series: str, target: ObjectRef, points: Sequence[UsagePoint], values: list[float], average: float, sigma: float
) -> Iterator[Anomaly]:
    if average <= 0 or sigma <= OSCILLATION_CV * average:
        return  # σ gate first: it is one comparison, the direction count is a pass
    deltas = [b - a for a, b in itertools.pairwise(values) if b != a]
    if len(deltas) < 2:
        return
    changes = sum(1 for a, b in itertools.pairwise(deltas) if (a > 0) != (b > 0))
    share = changes / (len(deltas) - 1)
    if share > OSCILLATION_SHARE:
        yield Anomaly(
            "oscillation", series, target, points[-1].timestamp_seconds, sigma,
            None, OSCILLATION_CV * average, "medium",
            f"{share * 100:.0f} % of steps change direction, σ {_shown(series, sigma)} = {sigma / average:.2f}·mean",
        )  # fmt: skip


_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _strongest(anomalies: list[Anomaly]) -> list[Anomaly]:
    by_kind: dict[str, list[Anomaly]] = {}
    for anomaly in anomalies:
        by_kind.setdefault(anomaly.kind, []).append(anomaly)
    kept: list[Anomaly] = []
    for members in by_kind.values():
        members.sort(key=lambda a: (-_SEVERITY_RANK[a.severity], -abs(a.value), a.timestamp_seconds))
        kept.extend(sorted(members[:MAX_PER_KIND], key=lambda a: a.timestamp_seconds))
    return kept


def series_anomalies(series: str, target: ObjectRef, points: Sequence[UsagePoint]) -> list[Anomaly]:
    """All series rules on one time-ordered series."""
    if len(points) < MIN_POINTS:
        return []
    values = values_of(points)
    lowest, highest = min(values), max(values)
    if lowest == highest:
        return []  # a flat series has nothing to report (and is common: idle memory)
    count = len(values)
    total = sum(values)
    average = total / count
    sigma = math.sqrt(max(sum(map(operator.mul, values, values)) / count - average * average, 0.0))  # population σ
    found = [
        *_zscores(series, target, points, (lowest, highest), average, sigma),
        *_jumps(series, target, points, values, average),
        *_drift(series, target, points, values, total),
        *_oscillation(series, target, points, values, average, sigma),
    ]
    return _strongest(found)


def pod_event_anomalies(pod: Pod, owner: ObjectRef, now_seconds: float, restart_burst: int = 3) -> Iterator[Anomaly]:
    """OOMKilled, CrashLoopBackOff and restart bursts read from one pod's container statuses."""
    series = f"Pod/{pod.namespace}/{pod.name}"
    for status in pod.container_statuses:
        when = status.last_termination_at.timestamp() if status.last_termination_at else now_seconds
        if "OOMKilled" in (status.reason, status.last_termination_reason):
            yield Anomaly(
                "oom_killed",
                f"{series}/{status.name}",
                owner,
                when,
                float(status.restart_count),
                None,
                None,
                "high",
                f"container {status.name} was OOMKilled",
            )
        if status.state == "waiting" and status.reason == "CrashLoopBackOff":
            yield Anomaly(
                "crash_loop",
                f"{series}/{status.name}",
                owner,
                now_seconds,
                float(status.restart_count),
                None,
                None,
                "critical",
                f"container {status.name} is in CrashLoopBackOff",
            )
        if status.restart_count > restart_burst:
            yield Anomaly(
                "restart_burst",
                f"{series}/{status.name}",
                owner,
                when,
                float(status.restart_count),
                0.0,
                float(restart_burst),
                "medium",
                f"container {status.name} restarted {status.restart_count} times",
            )


def hpa_anomalies(hpa: HPA, now_seconds: float) -> Iterator[Anomaly]:
    """An HPA at maxReplicas that still wants more (or reports ScalingLimited/TooManyReplicas)."""
    limited = any(
        c.type == "ScalingLimited" and c.status == "True" and c.reason == "TooManyReplicas" for c in hpa.conditions
    )
    at_max = hpa.current_replicas is not None and hpa.current_replicas >= hpa.max_replicas
    if limited or (at_max and (hpa.desired_replicas or 0) >= hpa.max_replicas):
        yield Anomaly(
            "hpa_pinned_at_max", f"HorizontalPodAutoscaler/{hpa.namespace}/{hpa.name}",
            ObjectRef(hpa.target.kind, hpa.namespace, hpa.target.name), now_seconds,
            float(hpa.current_replicas or hpa.max_replicas), float(hpa.min_replicas), float(hpa.max_replicas), "high",
            f"HPA {hpa.name} is pinned at maxReplicas {hpa.max_replicas}: demand exceeds what it may scale to",
        )  # fmt: skip
