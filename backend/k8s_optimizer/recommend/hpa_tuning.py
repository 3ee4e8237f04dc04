"""HPA recommendations backed by a simulated replica timeline (the gap no anchor tool fills).

Replays the workload's recorded aggregate CPU through the real HPA algorithm for the current settings
and for candidates, and proposes the candidate with the fewest replica-hours that keeps utilisation
under target. The timeline (usage, current replicas, proposed replicas per sync) goes into the
recommendation so the dashboard can draw it.
"""

from __future__ import annotations

import math

from k8s_optimizer.analysis.cost import Prices
from k8s_optimizer.analysis.hpa_simulation import (
    SearchSpace,
    SimulationResult,
    aggregate_cpu_usage,
    best_candidate,
    candidates,
    cpu_target_percent,
    simulate,
    spec_for,
)
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import HPA, Workload
from k8s_optimizer.recommend import patches
from k8s_optimizer.recommend.model import (
    DataUsed,
    HPASettings,
    Recommendation,
    TimelinePoint,
)
from k8s_optimizer.recommend.policy import Policy

MAX_TIMELINE_POINTS = 240


def _timeline(current: SimulationResult, proposed: SimulationResult) -> tuple[TimelinePoint, ...]:
    stride = max(1, -(-len(current.steps) // MAX_TIMELINE_POINTS))
    return tuple(
        TimelinePoint(now.timestamp_seconds, round(now.usage_millicores, 1), now.replicas, new.replicas)
        for now, new in list(zip(current.steps, proposed.steps, strict=True))[::stride]
    )


def _initial_replicas(hpa: HPA, history: WorkloadHistory) -> int:
    if history.replicas:
        return max(int(history.replicas[0].value), 1)
    return hpa.current_replicas or hpa.min_replicas


def recommend_hpa(
    hpa: HPA, workload: Workload, history: WorkloadHistory | None, policy: Policy, prices: Prices
) -> Recommendation | None:
    target = cpu_target_percent(hpa)
    request = sum(container.cpu_request_millicores or 0 for container in workload.containers)
    if target is None or history is None or request <= 0 or len(hpa.metrics) > 1:
        return None
    usage = aggregate_cpu_usage(history, resolution_seconds=policy.hpa_controller.sync_period_seconds)
    span = usage[-1].timestamp_seconds - usage[0].timestamp_seconds if usage else 0.0
    regular = max(2, math.ceil(span / policy.sparse_sample_interval_seconds))  # the strategies' gate
    if span < policy.min_history_seconds or len(usage) < min(policy.points_required, regular):
        return None
    memory = sum(container.memory_request_bytes or 0 for container in workload.containers)
    hour_usd = prices.pod_hour_usd(request, memory)
    initial = _initial_replicas(hpa, history)

    def run(minimum: int, maximum: int, percent: int) -> SimulationResult:
        spec = spec_for(hpa, min_replicas=minimum, max_replicas=maximum, target_percent=percent)
        return simulate(
            usage,
            spec,
            request_millicores_per_pod=request,
            initial_replicas=initial,
            replica_hour_usd=hour_usd,
            config=policy.hpa_controller,
        )

    current = run(hpa.min_replicas, hpa.max_replicas, target)
    targets = tuple(sorted({target, policy.hpa_target_utilization_percent}))
    space = SearchSpace(policy.min_replicas, policy.hpa_max_replicas_cap, targets)
    best = best_candidate(run(*candidate) for candidate in candidates(usage, request, space))
    if best is None:
        return None
    proposed = HPASettings(best.min_replicas, best.max_replicas, best.target_utilization_percent)
    if proposed == HPASettings(hpa.min_replicas, hpa.max_replicas, target):
        return None
    return _recommendation(
        hpa, HPASettings(hpa.min_replicas, hpa.max_replicas, target), proposed, current, best, prices, len(usage)
    )


def _rationale(current: SimulationResult, best: SimulationResult, proposed: HPASettings) -> str:
    hours = current.duration_seconds / 3600
    now, new = current.summary, best.summary
    return (
        f"replayed {hours:.1f} h of load through the HPA: min/max/target {current.min_replicas}/"
        f"{current.max_replicas}/{current.target_utilization_percent} % → {now.replica_hours:.1f} replica-h, "
        f"{now.time_at_max_seconds / 60:.0f} min at max, "
        f"{now.time_over_target_seconds / 60:.0f} min over target; "
        f"{proposed.min_replicas}/{proposed.max_replicas}/{proposed.target_cpu_utilization_percent} % → "
        f"{new.replica_hours:.1f} replica-h, {new.time_over_target_seconds / 60:.0f} min over target"
    )


def _recommendation(
    hpa: HPA,
    current_settings: HPASettings,
    proposed: HPASettings,
    current: SimulationResult,
    best: SimulationResult,
    prices: Prices,
    points: int,
) -> Recommendation:
    hours = current.duration_seconds / 3600
    savings = (current.summary.cost_usd - best.summary.cost_usd) / hours * prices.hours_per_month if hours else 0.0
    patch = patches.hpa_patch(proposed)
    ref = hpa.ref()
    over = (
        current.summary.time_over_target_seconds > 0.05 * current.duration_seconds
        or current.summary.time_at_max_seconds > 0
    )
    return Recommendation(
        id=patches.recommendation_id(ref, None, "hpa", proposed),
        target=ref,
        container=None,
        kind="hpa",
        priority="high" if over else "medium",
        severity="warning" if over else "ok",
        savings_monthly_usd=round(savings, 2),
        confidence=round(min(hours / 24, 1.0), 3),
        rationale=_rationale(current, best, proposed),
        current=current_settings,
        proposed=proposed,
        bounds=None,
        data=DataUsed(current.duration_seconds, points, 0),
        patch=patch,
        patch_yaml=patches.patch_yaml(patch),
        kubectl_patch=patches.kubectl_patch(ref, patch),
        verify_commands=patches.verify_commands(ref, None),
        timeline=_timeline(current, best),
        simulation_current=current.summary,
        simulation_proposed=best.summary,
    )
