"""The application's own wiring (the routes, the hub and the live model have their own suites)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from k8s_optimizer.app import default_analyzer
from k8s_optimizer.domain import topology
from k8s_optimizer.domain.snapshot import ClusterSnapshot
from k8s_optimizer.recommend.engine import analyze
from k8s_optimizer.recommend.policy import Policy, Prices
from k8s_optimizer.settings import Settings
from tests.recommend.factories import NOW_SECONDS, deployment, pod, service, snapshot


def test_the_default_analyzer_carries_each_pass_topology_over_to_the_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    web = deployment("web")
    first = snapshot(workloads=[web], pods=[pod(web, 0), pod(web, 1)], services=[service("web")])
    second = replace(first, pods={**first.pods, ("shop", pod(web, 2).name): pod(web, 2)})
    carried_from: list[ClusterSnapshot] = []
    carry_over = topology.carry_over

    def spy(previous: topology.Topology, new: topology.Topology) -> bool:
        carried_from.append(previous.snapshot)
        return carry_over(previous, new)

    monkeypatch.setattr(topology, "carry_over", spy)
    run = default_analyzer(Settings(data_dir=tmp_path))
    run(first, {}, NOW_SECONDS)
    report = run(second, {}, NOW_SECONDS)
    assert [each is first for each in carried_from] == [True]  # the second pass patched the first pass's index
    assert report == analyze(second, {}, policy=Policy.named("balanced"), prices=Prices(), now_seconds=NOW_SECONDS)
