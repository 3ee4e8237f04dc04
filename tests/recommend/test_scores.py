from __future__ import annotations

import pytest

from k8s_optimizer.analysis.cost import CostLine
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.recommend.model import (
    CheckResult,
    ContainerRecommendation,
    DataUsed,
    Diagnosis,
    ResourceBounds,
    ResourceValues,
)
from k8s_optimizer.recommend.scores import efficiency_score, krr_score, letter, polaris_score, service_score

SVC = ObjectRef("Service", "shop", "web")


def _check(passed: bool, severity: str = "warning") -> CheckResult:
    return CheckResult("x", severity, SVC, passed, "m", "f")  # type: ignore[arg-type]


def _rec(cpu: str, memory: str) -> ContainerRecommendation:
    return ContainerRecommendation(
        "app", "balanced", ResourceValues(), ResourceValues(1, None, 1, 1), ResourceBounds(), 0.5,
        DataUsed(0, 0, 0), "r", cpu, memory,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("score", "grade"), [(95, "A"), (90, "A"), (89.9, "B"), (70, "B"), (55, "C"), (30, "D"), (29.9, "F")]
)
def test_krr_letters(score, grade):
    assert letter(score) == grade


def test_polaris_formula():
    assert polaris_score(8, 2, 1) == pytest.approx(2 * 8 / (16 + 2 + 2) * 100)
    assert polaris_score(0, 0, 0) == 100.0


def test_krr_formula():
    assert (
        krr_score([_rec("critical", "good"), _rec("warning", "ok"), _rec("good", "good"), _rec("ok", "good")]) == 57.0
    )
    assert krr_score([]) == 100.0


def test_efficiency_is_cost_weighted_and_capped():
    line = CostLine(cpu_monthly_usd=3.0, memory_monthly_usd=1.0, cpu_request_millicores=1000, cpu_usage_millicores=250,
                    memory_request_bytes=100, memory_usage_bytes=300)  # fmt: skip
    assert efficiency_score(line) == 43.8  # (0.25 × $3 + min(3, 1) × $1) / $4, one decimal


def test_overall_and_the_unreachable_cap():
    cost = CostLine(1.0, 1.0, 100, 50, 100, 50)
    score = service_score(SVC, cost, [_check(True)] * 4, [], [_rec("good", "good")])
    assert (score.reliability, score.efficiency, score.right_sizing) == (100.0, 50.0, 100.0)
    assert score.overall == 85.0
    assert score.letter == "B"
    danger = Diagnosis("selectorMatchesNoPods", SVC, "danger", "m", "kubectl …", "f")
    capped = service_score(SVC, cost, [_check(True)] * 4, [danger], [_rec("good", "good")])
    assert capped.overall == 49.0
    assert capped.checks_danger == 1


def test_unmeasured_efficiency_is_left_out():
    cost = CostLine(1.0, 1.0, 100, 0, 100, 0)
    score = service_score(SVC, cost, [_check(True)], [], [_rec("critical", "good")])
    assert score.efficiency_measured is False
    assert score.overall == pytest.approx(100 * 0.4 / 0.7, abs=0.1)
