"""Replay recorded load through the real HPA algorithm to tune minReplicas / maxReplicas / target.

No anchor tool tunes HPAs from history (KRR skips them, VPA fights them). Because `analysis.hpa` is the
exact autoscaling/v2 controller (the embedded cluster runs the same code), replaying a workload's
recorded aggregate CPU usage through it, sync by sync, shows what the HPA *would* have done under
other settings. Load is treated as independent of the replica count: per-pod utilisation =
total usage ÷ (replicas × per-pod request), which is how CPU load spreads behind a Service.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from k8s_optimizer.analysis.hpa import (
    SYNC_PERIOD_SECONDS,
    Behavior,
    HpaSpec,
    HpaState,
    MetricTarget,
    ScalingPolicy,
    ScalingRules,
    uniform_pods,
)
from k8s_optimizer.domain import objects
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
class SimulationResult:
    min_replicas: int
    max_replicas: int
    target_utilization_percent: int
    steps: tuple[SimulatedStep, ...]
    replica_hours: float
    cost_usd: float
    time_at_max_seconds: float
    time_at_min_seconds: float
    scale_events_per_hour: float
    max_utilization_percent: float
    time_over_target_seconds: float

    @property
    def duration_seconds(self) -> float:
        return len(self.steps) * SYNC_PERIOD_SECONDS


def aggregate_cpu_usage(
    history: WorkloadHistory, *, resolution_seconds: float = SYNC_PERIOD_SECONDS
) -> list[UsagePoint]:
    """Total CPU of the workload over time: every pod's containers summed per time slot."""
    slots: dict[int, float] = {}
    for per_pod in history.containers.values():
        for container in per_pod:
            for point in container.cpu_millicores:
                slot = round(point.timestamp_seconds / resolution_seconds)
                slots[slot] = slots.get(slot, 0.0) + point.value
    return [UsagePoint(slot * resolution_seconds, slots[slot]) for slot in sorted(slots)]


def _rules(domain_rules: objects.ScalingRules | None, default: objects.ScalingRules) -> ScalingRules:
    rules = domain_rules or default
    return ScalingRules(
        rules.stabilization_window_seconds,
        rules.select_policy,
        tuple(ScalingPolicy(policy.type, policy.value, policy.period_seconds) for policy in rules.policies),
    )


def cpu_target_percent(hpa: objects.HPA) -> int | None:
    """The CPU Utilization target of an HPA (None when it scales on something else)."""
    for metric in hpa.metrics:
        if metric.type == "Resource" and metric.resource == "cpu" and metric.target_type == "Utilization":
            return metric.average_utilization
    if not hpa.metrics:
        return 80  # the API default when spec.metrics is empty
    return None


def memory_target_percent(hpa: objects.HPA) -> int | None:
    """The memory Utilization target of an HPA, if it scales on memory."""
    for metric in hpa.metrics:
        if metric.type == "Resource" and metric.resource == "memory" and metric.target_type == "Utilization":
            return metric.average_utilization
    return None


def spec_for(hpa: objects.HPA, *, min_replicas: int, max_replicas: int, target_percent: int) -> HpaSpec:
    """The simulator's spec: the HPA's behaviour with candidate bounds and CPU target."""
    behavior = None
    if hpa.scale_up is not None or hpa.scale_down is not None:
        behavior = Behavior(
            _rules(hpa.scale_up, objects.DEFAULT_SCALE_UP), _rules(hpa.scale_down, objects.DEFAULT_SCALE_DOWN)
        )
    metric = MetricTarget(resource="cpu", average_utilization=target_percent)
    return HpaSpec(max_replicas=max_replicas, min_replicas=min_replicas, metrics=(metric,), behavior=behavior)


def _usage_at_syncs(usage: Sequence[UsagePoint], replay_seconds: float) -> list[tuple[float, float]]:
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
        now += SYNC_PERIOD_SECONDS
    return samples


def simulate(
    usage: Sequence[UsagePoint],
    spec: HpaSpec,
    *,
    request_millicores_per_pod: int,
    initial_replicas: int,
    replica_hour_usd: float = 0.0,
    replay_seconds: float = DEFAULT_REPLAY_SECONDS,
) -> SimulationResult:
    """Run one HPA over the recorded load; replicas change at the sync after the decision (instant pods)."""
    state = HpaState()
    replicas = min(max(initial_replicas, spec.min_replicas), spec.max_replicas)
    steps: list[SimulatedStep] = []
    for now, total in _usage_at_syncs(usage, replay_seconds):
        per_pod = math.ceil(total / replicas) if replicas else 0
        pods = uniform_pods(replicas, request_milli=request_millicores_per_pod, usage_milli_per_pod=per_pod)
        steps.append(SimulatedStep(now, total, replicas))
        decision = state.step(spec, now_seconds=now, current_replicas=replicas, pods=pods)
        replicas = decision.desired_replicas
    target = spec.metrics[0].average_utilization or 0
    return summarise(steps, spec, target, request_millicores_per_pod, replica_hour_usd)


def summarise(
    steps: Sequence[SimulatedStep], spec: HpaSpec, target_percent: int, request_millicores: int, replica_hour_usd: float
) -> SimulationResult:
    hours_per_step = SYNC_PERIOD_SECONDS / HOUR_SECONDS
    replica_hours = sum(step.replicas for step in steps) * hours_per_step
    utilizations = [_utilization(step, request_millicores) for step in steps]
    limit = target_percent * 1.1
    events = sum(1 for before, after in itertools.pairwise(steps) if before.replicas != after.replicas)
    hours = len(steps) * hours_per_step
    return SimulationResult(
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        target_utilization_percent=target_percent,
        steps=tuple(steps),
        replica_hours=round(replica_hours, 4),
        cost_usd=round(replica_hours * replica_hour_usd, 4),
        time_at_max_seconds=sum(SYNC_PERIOD_SECONDS for step in steps if step.replicas >= spec.max_replicas),
        time_at_min_seconds=sum(SYNC_PERIOD_SECONDS for step in steps if step.replicas <= spec.min_replicas),
        scale_events_per_hour=round(events / hours, 3) if hours else 0.0,
        max_utilization_percent=round(max(utilizations, default=0.0), 1),
        time_over_target_seconds=sum(SYNC_PERIOD_SECONDS for value in utilizations if value > limit),
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
    return result.time_over_target_seconds <= ACCEPTABLE_OVER_TARGET_SHARE * duration


def best_candidate(results: Iterable[SimulationResult]) -> SimulationResult | None:
    """Fewest replica-hours among the runs that keep utilisation under target (ties: fewer scale events)."""
    feasible = [result for result in results if acceptable(result)]
    if not feasible:
        return None
    return min(feasible, key=lambda result: (result.replica_hours, result.scale_events_per_hour, -result.min_replicas))
