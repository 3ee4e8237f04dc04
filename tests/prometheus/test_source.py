"""The Prometheus history source against a real Prometheus holding 14 days of backfilled history."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from k8s_optimizer.analysis import histogram as vpa_histogram
from k8s_optimizer.analysis.histogram import CPU_MILLICORES_BUCKETS
from k8s_optimizer.domain.history import ContainerHistory, SeriesTarget, WorkloadHistory
from k8s_optimizer.domain.objects import ContainerSpec, ObjectRef
from k8s_optimizer.domain.usage import ContainerKey, UsagePoint
from k8s_optimizer.prometheus.client import ClientConfig, PrometheusClient
from k8s_optimizer.prometheus.queries import Labels, Queries
from k8s_optimizer.prometheus.source import PrometheusHistory, SourceConfig, choose_step
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.recommend.strategies import ContainerInputs, strategy_for
from tests.prometheus.conftest import DAY, MIB, SCRAPE, STEP, Backfilled

WINDOW = 14 * DAY
WEB = ObjectRef("Deployment", "shop", "web")


def _source(url: str, **config: object) -> PrometheusHistory:
    client = PrometheusClient(ClientConfig(url=url, timeout_seconds=20))
    settings = SourceConfig(window_seconds=WINDOW, step_seconds=STEP, max_points=10**9, **config)  # type: ignore[arg-type]
    return PrometheusHistory(client, Queries(Labels()), settings)


@pytest.fixture
async def source(backfilled: Backfilled) -> AsyncIterator[PrometheusHistory]:
    history = _source(backfilled.server.url)
    yield history
    await history.close()


def _direct(backfilled: Backfilled, key: tuple[str, str, str]) -> ContainerHistory:
    """The same container read straight from what was backfilled, at the source's step."""
    data = backfilled.data
    cpu = tuple(UsagePoint(t, v * 1000) for t, v in sorted(data.cpu[key].items()) if data.start <= t <= data.end)
    memory_steps = [
        UsagePoint(t, max(v for s, v in data.memory[key].items() if t - STEP < s <= t))
        for t in range(data.start, data.end + 1, STEP)
        if any(t - STEP < s <= t for s in data.memory[key])
    ]
    return ContainerHistory(ContainerKey(*key), cpu_millicores=cpu, memory_bytes=tuple(memory_steps))


def _spec(name: str) -> ContainerSpec:
    return ContainerSpec(
        name=name,
        image="x",
        cpu_request_millicores=1000,
        cpu_limit_millicores=None,
        memory_request_bytes=1024 * MIB,
        memory_limit_bytes=1024 * MIB,
    )


async def test_histories_carry_every_container_of_every_workload(
    source: PrometheusHistory, backfilled: Backfilled
) -> None:
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    assert sorted(ref.key() for ref in histories) == [
        "Deployment/shop/web",
        "Deployment/young/fresh",
        "StatefulSet/shop/db",
    ]
    web = histories[WEB]
    assert web.source == "Prometheus"
    assert [h.key.pod for h in web.containers["app"]] == ["web-7f9c-aaaaa", "web-7f9c-bbbbb"]
    assert list(web.containers) == ["app"]  # the pause container and the pod cgroup are left out
    assert source.health().status == "ok"


async def test_series_are_the_backfilled_values_at_each_step(source: PrometheusHistory, backfilled: Backfilled) -> None:
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    got = histories[WEB].containers["app"][0]
    expected = _direct(backfilled, ("shop", "web-7f9c-aaaaa", "app"))
    assert len(got.cpu_millicores) == WINDOW // STEP + 1
    assert [round(p.value, 6) for p in got.cpu_millicores] == [round(p.value, 6) for p in expected.cpu_millicores]
    assert [p.value for p in got.memory_bytes] == [p.value for p in expected.memory_bytes]


@pytest.mark.parametrize("policy", ["krr-simple", "balanced", "vpa"])
async def test_strategies_compute_what_the_backfilled_series_give(
    source: PrometheusHistory, backfilled: Backfilled, policy: str
) -> None:
    """Each strategy on Prometheus history equals the same strategy on the backfilled series read directly."""
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    named = Policy.named(policy)  # type: ignore[arg-type]
    strategy = strategy_for(named)
    keys = [("shop", "web-7f9c-aaaaa", "app"), ("shop", "web-7f9c-bbbbb", "app")]
    direct = tuple(_direct(backfilled, key) for key in keys)
    now = float(backfilled.data.end)
    ours = strategy.recommend(ContainerInputs(_spec("app"), histories[WEB].containers["app"], now), named)
    theirs = strategy.recommend(ContainerInputs(_spec("app"), direct, now), named)
    assert ours.proposed is not None
    assert theirs.proposed is not None
    assert ours.proposed.cpu_request_millicores == pytest.approx(theirs.proposed.cpu_request_millicores, abs=1)
    assert ours.proposed.memory_request_bytes == pytest.approx(theirs.proposed.memory_request_bytes, abs=MIB)
    # the same series, so the same confidence (VPA's: the points over 14 days)
    assert ours.data is not None
    assert ours.data.window_seconds == WINDOW
    assert ours.confidence == theirs.confidence


async def test_krr_simple_is_p95_of_the_block_rates(source: PrometheusHistory, backfilled: Backfilled) -> None:
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    policy = Policy.named("krr-simple")
    rec = strategy_for(policy).recommend(
        ContainerInputs(_spec("app"), histories[WEB].containers["app"], float(backfilled.data.end)), policy
    )
    per_pod = []
    for pod in ("web-7f9c-aaaaa", "web-7f9c-bbbbb"):
        values = sorted(
            v * 1000 for t, v in backfilled.data.cpu[("shop", pod, "app")].items() if t >= backfilled.data.start
        )
        rank = 0.95 * (len(values) - 1)
        low = math.floor(rank)
        per_pod.append(values[low] + (values[min(low + 1, len(values) - 1)] - values[low]) * (rank - low))
    assert rec.proposed is not None
    assert rec.proposed.cpu_request_millicores == math.ceil(max(per_pod) - 1e-9)
    peak = max(v for key in (("shop", p, "app") for p in ("web-7f9c-aaaaa", "web-7f9c-bbbbb"))
               for t, v in backfilled.data.memory[key].items() if t > backfilled.data.start - STEP)  # fmt: skip
    assert rec.proposed.memory_request_bytes == math.ceil(peak * 1.15 / MIB - 1e-9) * MIB


async def test_oom_kills_and_restarts_come_from_kube_state_metrics(
    source: PrometheusHistory, backfilled: Backfilled
) -> None:
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    db = histories[ObjectRef("StatefulSet", "shop", "db")].containers["postgres"][0]
    assert len(db.oom_kill_times_seconds) == 1
    assert backfilled.data.oom_at <= db.oom_kill_times_seconds[0] < backfilled.data.oom_at + 2 * STEP
    assert db.restart_count_in_window == 1


async def test_the_three_hour_gate_applies_to_the_data_returned(
    source: PrometheusHistory, backfilled: Backfilled
) -> None:
    histories = await source.all_workload_histories(WINDOW, backfilled.data.end)
    young = histories[ObjectRef("Deployment", "young", "fresh")]
    policy = Policy.named("balanced")
    rec = strategy_for(policy).recommend(
        ContainerInputs(_spec("app"), young.containers["app"], float(backfilled.data.end)), policy
    )
    assert rec.proposed is None
    assert rec.skipped_reason is not None
    assert rec.skipped_reason.startswith("not enough history: 2.")


async def test_replicas_follow_the_pods_with_data(source: PrometheusHistory, backfilled: Backfilled) -> None:
    histories: dict[ObjectRef, WorkloadHistory] = await source.all_workload_histories(WINDOW, backfilled.data.end)
    assert [p.value for p in histories[WEB].replicas] == [2.0]


async def test_one_query_per_namespace_and_metric(source: PrometheusHistory, backfilled: Backfilled) -> None:
    await source.all_workload_histories(WINDOW, backfilled.data.end)
    # 1 discovery + 7 per namespace (cpu, memory, restarts, OOM reason, sample counts, pod and RS owners)
    assert source.client.queries_sent == 1 + 7 * 2


async def test_answers_are_reused_until_the_refresh_interval(source: PrometheusHistory, backfilled: Backfilled) -> None:
    first = await source.all_workload_histories(WINDOW, backfilled.data.end)
    sent = source.client.queries_sent
    second = await source.all_workload_histories(WINDOW, backfilled.data.end)
    assert source.client.queries_sent == sent
    assert second == first


async def test_a_cluster_label_selects_one_cluster(backfilled: Backfilled) -> None:
    client = PrometheusClient(ClientConfig(url=backfilled.server.url))
    history = PrometheusHistory(
        client,
        Queries(Labels(cluster_label="cluster", cluster="elsewhere")),
        SourceConfig(window_seconds=WINDOW, step_seconds=STEP),
    )
    try:
        assert await history.all_workload_histories(WINDOW, backfilled.data.end) == {}
        assert history.health().status == "degraded"
        assert "OPTIMIZER_PROMETHEUS_CLUSTER" in (history.health().reason or "")
    finally:
        await history.close()


def test_step_grows_with_the_window_and_the_cluster() -> None:
    config = SourceConfig(step_seconds=75, max_points=5_000_000)
    assert choose_step(3 * 3600, 10, config) == 75
    assert choose_step(14 * DAY, 10, config) == 110  # Prometheus's 11,000 points per series
    assert choose_step(14 * DAY, 10_000, config) == 4839  # 5,000,000 points over the whole cluster


async def test_charts_read_prometheus(source: PrometheusHistory, backfilled: Backfilled) -> None:
    await source.all_workload_histories(WINDOW, backfilled.data.end)
    series = await source.series(
        SeriesTarget.parse("Deployment/shop/web"),
        "memory",
        window_seconds=3600,
        step_seconds=STEP,
        now_seconds=backfilled.data.end,
    )
    assert series.resolution == "prometheus"
    assert sorted(series.per_pod) == ["web-7f9c-aaaaa", "web-7f9c-bbbbb"]
    last = backfilled.data.end
    expected = sum(
        max(v for s, v in backfilled.data.memory[("shop", pod, "app")].items() if last - STEP < s <= last)
        for pod in ("web-7f9c-aaaaa", "web-7f9c-bbbbb")
    )
    assert series.total[-1].timestamp_seconds == last
    assert series.total[-1].max == expected


async def test_prometheus_stopped_keeps_the_last_values_marked_stale_then_fresh_again(
    backfilled: Backfilled,
) -> None:
    """Stopped mid-run: the last answer stays, marked stale, /health's reason names the URL; back: fresh."""
    history = _source(backfilled.server.url)
    history.config = SourceConfig(window_seconds=WINDOW, step_seconds=STEP, max_points=10**9, refresh_seconds=0)
    try:
        fresh = await history.all_workload_histories(WINDOW, backfilled.data.end)
        backfilled.server.stop()
        try:
            stale = await history.all_workload_histories(WINDOW, backfilled.data.end)
            health = history.health()
        finally:
            backfilled.server.start()
        assert set(stale) == set(fresh)
        assert all(h.stale for h in stale.values())
        assert stale[WEB].containers == fresh[WEB].containers
        assert health.status == "degraded"
        assert health.reason is not None
        assert health.reason.startswith(f"cannot connect to Prometheus at {backfilled.server.url}")
        assert "(check OPTIMIZER_PROMETHEUS_URL)" in health.reason
        history._read_at = None  # the retry pause after a failure is 5 s; do not wait for it here
        again = await history.all_workload_histories(WINDOW, backfilled.data.end)
        assert not any(h.stale for h in again.values())
        assert history.health().status == "ok"
    finally:
        await history.close()


async def test_beyond_the_series_budget_the_distribution_comes_from_server_quantiles(
    backfilled: Backfilled,
) -> None:
    """A large cluster: p50/p90/p95 per container on the server, daily memory peaks, no series handed over."""
    history = _source(backfilled.server.url, series_budget_points=0)
    try:
        histories = await history.all_workload_histories(WINDOW, backfilled.data.end)
        # 1 discovery + per namespace: counts, 3 quantiles, daily memory/restarts/OOMs/CPU, 2 owner queries
        assert history.client.queries_sent == 1 + 10 * 2
    finally:
        await history.close()
    web = histories[WEB]
    assert web.series_resolution == "none"
    pod = web.containers["app"][0]
    assert pod.cpu_millicores == ()
    assert pod.cpu_histogram is not None
    rates = sorted(v * 1000 for t, v in backfilled.data.cpu[("shop", "web-7f9c-aaaaa", "app")].items())
    for fraction in (0.5, 0.9, 0.95):
        rank = fraction * (len(rates) - 1)
        exact = rates[math.floor(rank)] + (rates[math.ceil(rank)] - rates[math.floor(rank)]) * (rank % 1)
        # the histogram's percentile is the upper edge of the server quantile's bucket (VPA's resolution)
        edge = CPU_MILLICORES_BUCKETS.bucket_start(CPU_MILLICORES_BUCKETS.bucket_of(exact) + 1)
        assert vpa_histogram.percentile(pod.cpu_histogram, fraction) == edge
    assert pod.cpu_histogram.total_samples == 14 * DAY // SCRAPE
    assert pod.cpu_histogram.last_sample_seconds == backfilled.data.end
    assert pod.cpu_histogram.first_sample_seconds == backfilled.data.end - WINDOW
    policy = Policy.named("balanced")
    rec = strategy_for(policy).recommend(ContainerInputs(_spec("app"), web.containers["app"], WINDOW), policy)
    assert rec.proposed is not None
    # VPA's confidence from the samples Prometheus holds (count_over_time), not from the query steps
    assert rec.confidence == round(
        min(14, 2 * 14 * DAY / SCRAPE / 1440) / (min(14, 2 * 14 * DAY / SCRAPE / 1440) + 1), 3
    )
    young = histories[ObjectRef("Deployment", "young", "fresh")]
    gated = strategy_for(policy).recommend(ContainerInputs(_spec("app"), young.containers["app"], WINDOW), policy)
    assert gated.skipped_reason is not None
    assert gated.skipped_reason.startswith("not enough history: 2.")


def test_step_never_finer_than_the_stored_samples() -> None:
    config = SourceConfig(step_seconds=75, max_points=5_000_000)
    assert choose_step(14 * DAY, 10, config, 3578.5) == 3600  # hourly samples: whole minutes above them
    assert choose_step(14 * DAY, 10, config, 298.7) == 300
    assert choose_step(14 * DAY, 10, config, 15.0) == 110
