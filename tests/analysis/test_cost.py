from __future__ import annotations

import pytest

from k8s_optimizer.analysis.cost import Prices, Usage, cluster_cost, container_cost, pod_cost
from k8s_optimizer.domain.quantities import GIB, MIB
from tests.recommend.factories import container, deployment, node, pod

PRICES = Prices()


def test_default_price_book_is_opencost():
    assert (PRICES.cpu_core_hour_usd, PRICES.memory_gib_hour_usd, PRICES.hours_per_month) == (0.031611, 0.004237, 730.0)
    assert PRICES.cpu_monthly_usd(1000) == pytest.approx(23.07603)
    assert PRICES.memory_monthly_usd(GIB) == pytest.approx(3.09301)


def test_cost_is_max_of_request_and_usage():
    idle = container_cost(1000, GIB, Usage(100, 0.5 * GIB), PRICES)
    assert idle.cpu_monthly_usd == pytest.approx(23.07603)
    assert idle.memory_monthly_usd == pytest.approx(3.09301)
    busy = container_cost(100, 0, Usage(500, 2 * GIB), PRICES)
    assert busy.cpu_monthly_usd == pytest.approx(23.07603 / 2)
    assert busy.memory_monthly_usd == pytest.approx(2 * 3.09301)


def test_pod_cost_sums_containers_and_skips_unscheduled():
    web = deployment(containers=[container("a", cpu=500, memory=512 * MIB), container("b", cpu=500, memory=512 * MIB)])
    running = pod_cost(pod(web), {}, PRICES)
    assert running.total_monthly_usd == pytest.approx(23.07603 + 3.09301)
    assert pod_cost(pod(web, node=None, phase="Pending"), {}, PRICES).total_monthly_usd == 0.0


def test_idle_is_allocatable_minus_workloads():
    web = deployment(containers=[container(cpu=1000, memory=GIB)])
    used = pod_cost(pod(web), {}, PRICES)
    cost = cluster_cost([node(cpu=4000, memory=8 * GIB)], used, PRICES, savings_monthly_usd=1.5)
    assert cost.allocatable_monthly_usd == pytest.approx(4 * 23.07603 + 8 * 3.09301, abs=1e-3)
    assert cost.idle_monthly_usd == pytest.approx(3 * 23.07603 + 7 * 3.09301, abs=1e-3)
    assert cost.savings_monthly_usd == 1.5
