"""Per-service scores, 0–100 with a letter, components always visible (users distrust opaque scores).

- efficiency: OpenCost's cost-weighted (cpuEff·cpuCost + memEff·memCost)/(cpuCost + memCost), with
  eff = usage/request capped at 1 (over-use is a reliability problem, not extra efficiency).
- reliability: Polaris 2·pass / (2·pass + warn + 2·danger) over the service's workload checks, with
  each connectivity diagnosis counted as one more failed check of its severity.
- right_sizing: KRR (N − Σcost)/N, cost 1 per critical and 0.7 per warning container recommendation.
- overall (ours): 0.4·reliability + 0.3·efficiency + 0.3·right_sizing; a service with a danger
  diagnosis (it refuses connections) is capped at 49 — an unreachable service is never a C or better.
  With no usage reading at all (no metrics yet) efficiency is unmeasured, not 0: `efficiency_measured`
  is False and the overall uses reliability and right-sizing alone (4:3).
"""

from __future__ import annotations

from collections.abc import Sequence

from k8s_optimizer.analysis.cost import CostLine
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.recommend.model import CheckResult, ContainerRecommendation, Diagnosis, ServiceScore

OVERALL_WEIGHTS = (0.4, 0.3, 0.3)  # reliability, efficiency, right-sizing
UNREACHABLE_CAP = 49.0
# KRR letters: F < 30 ≤ D < 55 ≤ C < 70 ≤ B < 90 ≤ A.
LETTERS = ((90, "A"), (70, "B"), (55, "C"), (30, "D"))


def letter(score: float) -> str:
    for threshold, grade in LETTERS:
        if score >= threshold:
            return grade
    return "F"


def _efficiency_of(usage: float, request: float) -> float:
    if request <= 0:
        return 1.0 if usage > 0 else 0.0
    return min(usage / request, 1.0)


def efficiency_score(cost: CostLine) -> float:
    total = cost.total_monthly_usd
    if total <= 0:
        return 100.0
    cpu = _efficiency_of(cost.cpu_usage_millicores, cost.cpu_request_millicores)
    memory = _efficiency_of(cost.memory_usage_bytes, cost.memory_request_bytes)
    return round((cpu * cost.cpu_monthly_usd + memory * cost.memory_monthly_usd) / total * 100, 1)


def polaris_score(passed: int, warnings: int, dangers: int) -> float:
    denominator = 2 * passed + warnings + 2 * dangers
    return 100.0 if denominator == 0 else round(2 * passed / denominator * 100, 1)


def krr_score(recommendations: Sequence[ContainerRecommendation]) -> float:
    scored = [rec for rec in recommendations if rec.proposed is not None]
    if not scored:
        return 100.0
    cost = sum(1.0 if rec.severity == "critical" else 0.7 if rec.severity == "warning" else 0.0 for rec in scored)
    return float(int((len(scored) - cost) / len(scored) * 100))


def service_score(
    service: ObjectRef,
    cost: CostLine,
    checks: Sequence[CheckResult],
    diagnoses: Sequence[Diagnosis],
    recommendations: Sequence[ContainerRecommendation],
) -> ServiceScore:
    passed = sum(1 for check in checks if check.passed)
    warnings = sum(1 for check in checks if not check.passed and check.severity == "warning")
    warnings += sum(1 for diagnosis in diagnoses if diagnosis.severity == "warning")
    dangers = sum(1 for check in checks if not check.passed and check.severity == "danger")
    dangers += sum(1 for diagnosis in diagnoses if diagnosis.severity == "danger")
    measured = cost.cpu_usage_millicores > 0 or cost.memory_usage_bytes > 0 or cost.total_monthly_usd == 0
    efficiency = efficiency_score(cost) if measured else 0.0
    reliability = polaris_score(passed, warnings, dangers)
    right_sizing = krr_score(recommendations)
    weights = OVERALL_WEIGHTS if measured else (OVERALL_WEIGHTS[0] / 0.7, 0.0, OVERALL_WEIGHTS[2] / 0.7)
    overall = round(weights[0] * reliability + weights[1] * efficiency + weights[2] * right_sizing, 1)
    if any(diagnosis.severity == "danger" for diagnosis in diagnoses):
        overall = min(overall, UNREACHABLE_CAP)
    return ServiceScore(
        service=service,
        efficiency=efficiency,
        reliability=reliability,
        right_sizing=right_sizing,
        overall=overall,
        letter=letter(overall),
        checks_passed=passed,
        checks_warning=warnings,
        checks_danger=dangers,
        containers_scored=sum(1 for rec in recommendations if rec.proposed is not None),
        efficiency_measured=measured,
    )
