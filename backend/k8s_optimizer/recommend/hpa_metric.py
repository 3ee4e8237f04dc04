"""HPA recommendations for HPAs that scale on a `Pods`, `Object` or `External` metric.

Such an HPA can only be replayed from the series that feeds it (requests per second, queue length), which
metrics.k8s.io does not have; a history source that does (Prometheus) hands it over as
`WorkloadHistory.metric_series`. The replay reuses the CPU replay's controller: a `Pods` metric with an
`AverageValue` target T behaves exactly like CPU utilisation against a per-pod "request" of T at 100 %
(desired = ceil(replicas × (load / replicas) / T)), so the workload's total load (the per-pod average ×
the pods that reported it) goes through `simulate` unchanged. `Object`/`External` metrics with an
`AverageValue` target divide the metric's value by T the same way; a plain `Value` target depends on
how the metric reacts to replicas, which history cannot tell, so it is not replayed.

Without the series the recommendation says so plainly: "not simulated (metric source unknown)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from k8s_optimizer.analysis.cost import Prices
from k8s_optimizer.analysis.hpa import DEFAULT_CONFIG
from k8s_optimizer.analysis.hpa_simulation import (
    SearchSpace,
    SimulationResult,
    best_candidate,
    candidates,
    simulate,
    spec_for,
)
from k8s_optimizer.domain.autoscaling import HpaControllerConfig
from k8s_optimizer.domain.history import WorkloadHistory
from k8s_optimizer.domain.objects import HPA, HPAMetricTarget, Workload
from k8s_optimizer.domain.usage import UsagePoint
from k8s_optimizer.recommend import patches
from k8s_optimizer.recommend.hpa_tuning import _timeline
from k8s_optimizer.recommend.model import DataUsed, HPASettings, Recommendation
from k8s_optimizer.recommend.policy import Policy

SCALE = 1000  # metric values are fractional (rps); the controller's per-pod arithmetic is in integer "milli"
CUSTOM_TYPES = ("Pods", "Object", "External")


@dataclass(frozen=True, slots=True)
class MetricReplay:
    """A replayable metric: its name, the total load over time, and the per-pod target it is divided by."""

    name: str
    load: tuple[UsagePoint, ...]
    target_per_pod: float


def custom_metric(hpa: HPA) -> HPAMetricTarget | None:
    """The HPA's one non-resource metric (HPAs with several metrics are not replayed)."""
    found = [m for m in hpa.metrics if m.type in CUSTOM_TYPES]
    return found[0] if len(found) == 1 and len(hpa.metrics) == 1 else None


def _replicas_at(replicas: Sequence[UsagePoint], t: float, default: float) -> float:
    current = default
    for point in replicas:
        if point.timestamp_seconds > t:
            break
        current = point.value
    return current


def metric_replay(metric: HPAMetricTarget, history: WorkloadHistory, fallback_replicas: int) -> MetricReplay | None:
    """The total load and per-pod target of a Pods metric, or of an AverageValue Object/External metric."""
    name = metric.metric_name
    series = history.metric_series.get(name or "")
    if not name or not series or metric.average_value is None or metric.average_value <= 0:
        return None
    if metric.type == "Pods":
        load = tuple(
            UsagePoint(
                p.timestamp_seconds, p.value * _replicas_at(history.replicas, p.timestamp_seconds, fallback_replicas)
            )
            for p in series
        )
    else:
        load = series  # Object/External AverageValue: the value is already the total
    return MetricReplay(name, load, metric.average_value)


def replay_metric_hpa(
    replay: MetricReplay,
    hpa: HPA,
    *,
    min_replicas: int,
    max_replicas: int,
    initial_replicas: int,
    hour_usd: float,
    config: HpaControllerConfig = DEFAULT_CONFIG,
) -> SimulationResult:
    """One replay of the metric through the HPA controller with these bounds (the target stays the HPA's)."""
    usage = [UsagePoint(p.timestamp_seconds, p.value * SCALE) for p in replay.load]
    spec = spec_for(hpa, min_replicas=min_replicas, max_replicas=max_replicas, target_percent=100)
    request = max(1, round(replay.target_per_pod * SCALE))
    return simulate(
        usage, spec, request_millicores_per_pod=request, initial_replicas=initial_replicas, replica_hour_usd=hour_usd,
        config=config,
    )  # fmt: skip


def not_simulated(hpa: HPA, metric: HPAMetricTarget) -> Recommendation:
    """Said plainly: the HPA's metric has no known source, so no replay backs any advice."""
    ref = hpa.ref()
    name = metric.metric_name or "?"
    return Recommendation(
        id=patches.recommendation_id(ref, None, "hpa", f"unsimulated-{name}"),
        target=ref,
        container=None,
        kind="hpa",
        priority="low",
        severity="ok",
        savings_monthly_usd=0.0,
        confidence=0.0,
        rationale=(
            f"not simulated (metric source unknown): this HPA scales on the {metric.type} metric {name!r}, "
            "which metrics.k8s.io does not record; set OPTIMIZER_PROMETHEUS_URL (and map the metric in "
            "OPTIMIZER_PROMETHEUS_METRIC_QUERIES if Prometheus names it differently) to replay it"
        ),
        current=HPASettings(hpa.min_replicas, hpa.max_replicas, 0),
        proposed=None,
        bounds=None,
        data=None,
        patch={},
        patch_yaml="",
        kubectl_patch="",
        verify_commands=patches.verify_commands(ref, None),
    )


def recommend_metric_hpa(
    hpa: HPA, workload: Workload, history: WorkloadHistory | None, policy: Policy, prices: Prices
) -> Recommendation | None:
    metric = custom_metric(hpa)
    if metric is None:
        return None
    initial = hpa.current_replicas or hpa.min_replicas
    replay = metric_replay(metric, history, initial) if history is not None else None
    if replay is None:
        return not_simulated(hpa, metric)
    span = replay.load[-1].timestamp_seconds - replay.load[0].timestamp_seconds
    if span < policy.min_history_seconds:
        return None
    cpu = sum(c.cpu_request_millicores or 0 for c in workload.containers)
    memory = sum(c.memory_request_bytes or 0 for c in workload.containers)
    hour_usd = prices.pod_hour_usd(cpu, memory)

    def run(minimum: int, maximum: int) -> SimulationResult:
        return replay_metric_hpa(
            replay, hpa, min_replicas=minimum, max_replicas=maximum, initial_replicas=initial, hour_usd=hour_usd,
            config=policy.hpa_controller,
        )  # fmt: skip

    current = run(hpa.min_replicas, hpa.max_replicas)
    request = max(1, round(replay.target_per_pod * SCALE))
    usage = [UsagePoint(p.timestamp_seconds, p.value * SCALE) for p in replay.load]
    space = SearchSpace(policy.min_replicas, policy.hpa_max_replicas_cap, (100,))
    best = best_candidate(run(low, high) for low, high, _ in candidates(usage, request, space))
    if best is None or (best.min_replicas, best.max_replicas) == (hpa.min_replicas, hpa.max_replicas):
        return None
    return _recommendation(hpa, replay, current, best, prices)


def _recommendation(
    hpa: HPA, replay: MetricReplay, current: SimulationResult, best: SimulationResult, prices: Prices
) -> Recommendation:
    hours = current.duration_seconds / 3600
    now, new = current.summary, best.summary
    savings = (now.cost_usd - new.cost_usd) / hours * prices.hours_per_month if hours else 0.0
    patch = {"spec": {"minReplicas": best.min_replicas, "maxReplicas": best.max_replicas}}
    ref = hpa.ref()
    proposed = HPASettings(best.min_replicas, best.max_replicas, 0)
    over = now.time_over_target_seconds > 0.05 * current.duration_seconds or now.time_at_max_seconds > 0
    rationale = (
        f"replayed {hours:.1f} h of {replay.name} (target {replay.target_per_pod:g} per pod) through the HPA: "
        f"min/max {current.min_replicas}/{current.max_replicas} → {now.replica_hours:.1f} replica-h, "
        f"{now.time_at_max_seconds / 60:.0f} min at max, {now.time_over_target_seconds / 60:.0f} min over "
        f"target; {best.min_replicas}/{best.max_replicas} → {new.replica_hours:.1f} replica-h, "
        f"{new.time_over_target_seconds / 60:.0f} min over target"
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
        rationale=rationale,
        current=HPASettings(hpa.min_replicas, hpa.max_replicas, 0),
        proposed=proposed,
        bounds=None,
        data=DataUsed(current.duration_seconds, len(replay.load), 0),
        patch=patch,
        patch_yaml=patches.patch_yaml(patch),
        kubectl_patch=patches.kubectl_patch(ref, patch),
        verify_commands=patches.verify_commands(ref, None),
        timeline=_timeline(current, best),
        simulation_current=now,
        simulation_proposed=new,
    )


__all__ = ["metric_replay", "not_simulated", "recommend_metric_hpa", "replay_metric_hpa"]
