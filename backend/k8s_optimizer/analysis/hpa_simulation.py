"""Replay recorded load through the real HPA algorithm to tune minReplicas / maxReplicas / target.

No anchor tool tunes HPAs from history (KRR skips them, VPA fights them). Because `analysis.hpa` is the
exact autoscaling/v2 controller (the embedded cluster runs the same code), replaying a workload's
recorded aggregate CPU usage through it, sync by sync, shows what the HPA *would* have done under
other settings. The replayed HPA is the workload's own domain HPA (its behavior and per-direction
tolerances kept) with candidate bounds and CPU target, stepped with the cluster's controller settings
(`HpaControllerConfig`). Load is treated as independent of the replica count: per-pod utilisation =
total usage ÷ (replicas × per-pod request), which is how CPU load spreads behind a Service.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from k8s_optimizer.analysis.hpa import DEFAULT_CONFIG, HpaState, tolerances_for, uniform_pods
from k8s_optimizer.domain import objects
from k8s_optimizer.domain.autoscaling import DEFAULT_METRICS, HpaControllerConfig
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.usage import UsagePoint

HOUR_SECONDS = 3600.0
# A replayed run may exceed its target briefly (the HPA reacts one sync late and tolerates 10 %);
# a candidate is acceptable when utilisation stays under target × (1 + tolerance) this share of the time.
ACCEPTABLE_OVER_TARGET_SHARE = 0.05
DEFAULT_REPLAY_SECONDS = 24 * HOUR_SECONDS


@dataclass(frozen=True, slots=True)
class SimulatedStep:
    timestamp_seconds: float
    usage_millicores: float
    replicas: int


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """What one replay cost and how well it held the target (the recommendation and the API carry it)."""

    replica_hours: float
    cost_usd: float
    time_at_max_seconds: float
    time_at_min_seconds: float
    scale_events_per_hour: float
    max_utilization_percent: float
    time_over_target_seconds: float


@dataclass(frozen=True, slots=True)
class SimulationResult:
    min_replicas: int
    max_replicas: int
    target_utilization_percent: int
    steps: tuple[SimulatedStep, ...]
    summary: SimulationSummary
    sync_period_seconds: float = DEFAULT_CONFIG.sync_period_seconds

    @property
    def duration_seconds(self) -> float:
        return len(self.steps) * self.sync_period_seconds


def aggregate_cpu_usage(
    history: WorkloadHistory, *, resolution_seconds: float = DEFAULT_CONFIG.sync_period_seconds
) -> list[UsagePoint]:
    """Total CPU of the workload over time: every pod's containers summed per time slot."""
    slots: dict[int, float] = {}
    for per_pod in history.containers.values():
        for container in per_pod:
            for point in container.cpu_millicores:
                slot = round(point.timestamp_seconds / resolution_seconds)
                slots[slot] = slots.get(slot, 0.0) + point.value
    return [UsagePoint(slot * resolution_seconds, slots[slot]) for slot in sorted(slots)]


def cpu_target_percent(hpa: objects.HPA) -> int | None:
    """The CPU Utilization target of an HPA (None when it scales on something else)."""
    for metric in hpa.metrics:
        if metric.type == "Resource" and metric.resource == "cpu" and metric.target_type == "Utilization":
            return metric.average_utilization
    if not hpa.metrics:  # an HPA built without the API's defaulting
        return DEFAULT_METRICS[0].average_utilization
    return None


def memory_target_percent(hpa: objects.HPA) -> int | None:
    """The memory Utilization target of an HPA, if it scales on memory."""
    for metric in hpa.metrics:
        if metric.type == "Resource" and metric.resource == "memory" and metric.target_type == "Utilization":
            return metric.average_utilization
    return None


def spec_for(hpa: objects.HPA, *, min_replicas: int, max_replicas: int, target_percent: int) -> objects.HPA:
    """The replayed HPA: the workload's own (behavior, tolerances) with candidate bounds and CPU target."""
    metric = objects.HPAMetricTarget("Resource", "cpu", "Utilization", target_percent)
    return dataclasses.replace(hpa, min_replicas=min_replicas, max_replicas=max_replicas, metrics=(metric,))


def _usage_at_syncs(
    usage: Sequence[UsagePoint], replay_seconds: float, sync_seconds: float
) -> list[tuple[float, float]]:
    """Sample the usage series at every controller sync (the latest reading at or before the sync)."""
    if not usage:
        return []
    end = usage[-1].timestamp_seconds
    start = max(usage[0].timestamp_seconds, end - replay_seconds)
    samples: list[tuple[float, float]] = []
    index = 0
    now = start
    while now <= end + 1e-9:
        while index + 1 < len(usage) and usage[index + 1].timestamp_seconds <= now + 1e-9:
            index += 1
        samples.append((now, usage[index].value))
        now += sync_seconds
    return samples


def simulate(
    usage: Sequence[UsagePoint],
    hpa: objects.HPA,
    *,
    request_millicores_per_pod: int,
    initial_replicas: int,
    replica_hour_usd: float = 0.0,
    replay_seconds: float = DEFAULT_REPLAY_SECONDS,
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> SimulationResult:
    """Run one HPA over the recorded load; replicas change at the sync after the decision (instant pods)."""
    state = HpaState(config)
    replicas = min(max(initial_replicas, hpa.min_replicas), hpa.max_replicas)
    steps: list[SimulatedStep] = []
    for now, total in _usage_at_syncs(usage, replay_seconds, config.sync_period_seconds):
        per_pod = math.ceil(total / replicas) if replicas else 0
        pods = uniform_pods(replicas, request_milli=request_millicores_per_pod, usage_milli_per_pod=per_pod)
        steps.append(SimulatedStep(now, total, replicas))
        decision = state.step(hpa, now_seconds=now, current_replicas=replicas, pods=pods)
        replicas = decision.desired_replicas
    target = hpa.metrics[0].average_utilization or 0
    summary = summarise(steps, hpa, target, request_millicores_per_pod, replica_hour_usd, config=config)
    return SimulationResult(
        hpa.min_replicas, hpa.max_replicas, target, tuple(steps), summary, config.sync_period_seconds
    )


def summarise(
    steps: Sequence[SimulatedStep],
    hpa: objects.HPA,
    target_percent: int,
    request_millicores: int,
    replica_hour_usd: float,
    *,
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> SimulationSummary:
    """Replica-hours, cost, time at the bounds, churn, and time over target × (1 + scale-up tolerance)."""
    sync = config.sync_period_seconds
    hours_per_step = sync / HOUR_SECONDS
    replica_hours = sum(step.replicas for step in steps) * hours_per_step
    utilizations = [_utilization(step, request_millicores) for step in steps]
    limit = target_percent * (1 + tolerances_for(hpa, config).up)
    events = sum(1 for before, after in itertools.pairwise(steps) if before.replicas != after.replicas)
    hours = len(steps) * hours_per_step
    return SimulationSummary(
        replica_hours=round(replica_hours, 4),
        cost_usd=round(replica_hours * replica_hour_usd, 4),
        time_at_max_seconds=sum(sync for step in steps if step.replicas >= hpa.max_replicas),
        time_at_min_seconds=sum(sync for step in steps if step.replicas <= hpa.min_replicas),
        scale_events_per_hour=round(events / hours, 3) if hours else 0.0,
        max_utilization_percent=round(max(utilizations, default=0.0), 1),
        time_over_target_seconds=sum(sync for value in utilizations if value > limit),
    )


def _utilization(step: SimulatedStep, request_millicores: int) -> float:
    if step.replicas <= 0 or request_millicores <= 0:
        return 0.0
    return step.usage_millicores * 100 / (step.replicas * request_millicores)


@dataclass(frozen=True, slots=True)
class SearchSpace:
    min_replicas_floor: int = 2
    max_replicas_cap: int = 50
    targets_percent: tuple[int, ...] = (60, 70, 80)


def _quantile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def candidates(
    usage: Sequence[UsagePoint], request_millicores: int, space: SearchSpace
) -> Iterable[tuple[int, int, int]]:
    """(min, max, target) around what the load needs: min from the quiet 10 %, max from the peak + 25 %."""
    totals = [point.value for point in usage]
    for target in space.targets_percent:
        per_replica = request_millicores * target / 100
        quiet = math.ceil(_quantile(totals, 0.1) / per_replica)
        peak = math.ceil(max(totals) / per_replica * 1.25)
        low = max(space.min_replicas_floor, min(quiet, space.max_replicas_cap))
        high = max(low, min(peak, space.max_replicas_cap))
        for minimum in sorted({max(space.min_replicas_floor, low - 1), low}):
            yield minimum, high, target


def acceptable(result: SimulationResult) -> bool:
    duration = result.duration_seconds
    if duration <= 0:
        return False
    return result.summary.time_over_target_seconds <= ACCEPTABLE_OVER_TARGET_SHARE * duration


def best_candidate(results: Iterable[SimulationResult]) -> SimulationResult | None:
    """Fewest replica-hours among the runs that keep utilisation under target (ties: fewer scale events)."""
    feasible = [result for result in results if acceptable(result)]
    if not feasible:
        return None
    return min(
        feasible,
        key=lambda result: (result.summary.replica_hours, result.summary.scale_events_per_hour, -result.min_replicas),
    )
