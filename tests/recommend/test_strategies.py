from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from k8s_optimizer.domain.history import ContainerHistory
from k8s_optimizer.domain.objects import ContainerSpec
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.recommend.model import ResourceValues
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.recommend.strategies import ContainerInputs, strategy_for, value_severity
from tests.recommend.factories import NOW_SECONDS, container, container_history

KRR = Policy.named("krr-simple")
VPA = Policy.named("vpa")
BALANCED = Policy.named("balanced")

# 300 one-minute points (≈5 h): each of 100, 102, …, 298 three times.
CPU_RAMP = [100 + 2 * (i % 100) for i in range(300)]
MEMORY_WITH_PEAK = [200 * MIB] * 299 + [300 * MIB]


def _inputs(
    *histories: ContainerHistory,
    spec: ContainerSpec | None = None,
    hpa_percent: int | None = None,
    containers_in_pod: int = 1,
) -> ContainerInputs:
    return ContainerInputs(
        spec=spec or container(cpu=1000, memory=512 * MIB, memory_limit=512 * MIB),
        histories=tuple(histories),
        now_seconds=NOW_SECONDS,
        containers_in_pod=containers_in_pod,
        cpu_hpa_target_percent=hpa_percent,
    )


def test_krr_simple_golden():
    rec = strategy_for(KRR).recommend(_inputs(container_history("web-0", CPU_RAMP, MEMORY_WITH_PEAK)), KRR)
    # p95 (numpy linear) of the ramp: ordered[284]=288, ordered[285]=290 → 288.1 → ceil 289m, no CPU limit.
    # memory: peak 300Mi × 1.15 = 345Mi, request = limit.
    assert rec.proposed == ResourceValues(289, None, 345 * MIB, 345 * MIB)
    assert rec.cpu_severity == "critical"  # |1000 − 289| m = 0.711 cores ≥ 0.5
    assert rec.memory_severity == "ok"  # |512 − 345| MiB = 167 ≥ 100
    assert rec.rationale.startswith("p95 CPU 289m over 5.0 h → 289m; request 1 is 3.5× that")
    assert rec.data.points == 300
    assert rec.data.pods == 1


def test_krr_simple_takes_max_over_pods_of_per_pod_p95():
    quiet = container_history("web-0", [50] * 200)
    busy = container_history("web-1", [400] * 200)
    rec = strategy_for(KRR).recommend(_inputs(quiet, busy), KRR)
    assert rec.proposed is not None
    assert rec.proposed.cpu_request_millicores == 400


def test_vpa_golden_constant_usage():
    rec = strategy_for(VPA).recommend(_inputs(container_history("web-0", [200] * 300, [300 * MIB] * 300)), VPA)
    # VPA's integer steps: 200m sits in bucket 14 (edge 10·(1.05^15 − 1)/0.05 = 215.79m) → trunc 215 +
    # trunc(215 × 0.15 = 32.25) = 247m. 300Mi sits in bucket 19 of the 1e7-byte histogram (edge 330659541.03 B)
    # → 330659541 + 49598931 = 380258472 B (the limit keeps its 1:1 ratio, as the VPA admission controller does).
    assert rec.proposed == ResourceValues(247, None, 380258472, 380258472)
    assert rec.bounds.cpu_lower_millicores == 244  # trunc(247 × (1 + 0.001/0.20764)^-2 = 244.6)
    assert rec.bounds.cpu_upper_millicores == 1436  # trunc(247 × (1 + 1/0.20764) = 1436.6): short history
    assert rec.confidence == pytest.approx(0.172, abs=0.001)


def test_vpa_keeps_memory_limit_ratio():
    spec = container(cpu=1000, memory=256 * MIB, memory_limit=512 * MIB)
    history = container_history("web-0", [200] * 300, [300 * MIB] * 300)
    rec = strategy_for(VPA).recommend(_inputs(history, spec=spec), VPA)
    assert rec.proposed is not None
    assert rec.proposed.memory_limit_bytes == 760516944  # 380258472 B × 512Mi // 256Mi, as VPA's admission scales it


def test_vpa_memory_floor_is_250mib():
    rec = strategy_for(VPA).recommend(_inputs(container_history("web-0", [200] * 300, [200 * MIB] * 300)), VPA)
    assert rec.proposed is not None
    assert rec.proposed.memory_request_bytes == 250 * MIB  # 237Mi computed, VPA's pod minimum wins


def test_balanced_uses_vpa_target_with_krr_floors():
    rec = strategy_for(BALANCED).recommend(_inputs(container_history("web-0", [1] * 300, [5 * MIB] * 300)), BALANCED)
    # 1m → bucket 0, edge 10m → 10 + trunc(1.5) = 11m; 5Mi is under KRR's 100Mi floor
    assert rec.proposed == ResourceValues(11, None, 100 * MIB, 100 * MIB)


def test_vpa_floors_are_per_pod_split_across_containers():
    rec = strategy_for(VPA).recommend(
        _inputs(container_history("web-0", [1] * 300, [5 * MIB] * 300), containers_in_pod=2), VPA
    )
    assert rec.proposed is not None
    # VPA truncates the split: trunc(25 × 0.5) = 12m, trunc(262144000 × 0.5) = 125Mi
    assert (rec.proposed.cpu_request_millicores, rec.proposed.memory_request_bytes) == (12, 125 * MIB)


def test_gates_skip_with_reason():
    sparse = container_history("web-0", [100] * 10, step_seconds=4000.0)  # 10 h with one point per 67 min
    for policy in (KRR, BALANCED):
        rec = strategy_for(policy).recommend(_inputs(sparse), policy)
        assert rec.proposed is None
        assert rec.skipped_reason == "not enough data: 10 points < 100 required"
    short = container_history("web-0", [100] * 150, step_seconds=60.0)  # 150 points over 2.5 h
    balanced = strategy_for(BALANCED).recommend(_inputs(short), BALANCED)
    assert (balanced.proposed, balanced.skipped_reason) == (None, "not enough history: 2.5 h < 3.0 h")
    # KRR with its defaults recommends anyway and warns (history_range_enough only warns)
    krr = strategy_for(KRR).recommend(_inputs(short), KRR)
    assert krr.proposed is not None
    assert krr.skipped_reason is None
    assert "warning: 2.5 h of history < 3 h (KRR recommends anyway)" in krr.rationale
    # VPA has no gate: any sample gives a (low-confidence) recommendation
    assert strategy_for(VPA).recommend(_inputs(sparse), VPA).proposed is not None


def test_sparse_but_regular_data_passes_the_gate():
    # 13 points, one per 15 min over 3 h: what a 60× simulation scraped every 15 s gives (or 5-minute rollups)
    history = container_history("web-0", [200] * 13, [300 * MIB] * 13, step_seconds=900)
    rec = strategy_for(BALANCED).recommend(_inputs(history), BALANCED)
    assert rec.proposed is not None
    assert rec.data.points == 13
    assert rec.confidence == pytest.approx(0.009, abs=0.001)  # VPA confidence: 13 samples / 1440 per day


def test_vpa_oom_bump():
    history = container_history("web-0", [200] * 300, [250 * MIB] * 300, ooms=[NOW_SECONDS - 60])
    spec = container(cpu=250, memory=256 * MIB, memory_limit=256 * MIB)
    rec = strategy_for(BALANCED).recommend(_inputs(history, spec=spec), BALANCED)
    assert rec.proposed is not None
    # VPA puts the bumped peak into the histogram: used = max(request 256Mi, peak 250Mi) = 256Mi →
    # max(256 + 100, trunc(256Mi × 1.2)) = 356Mi replaces the day's peak; its bucket edge 385052143 +
    # trunc(15 %) = 442809964 B; balanced rounds memory up to whole MiB: 423Mi (not max(p90 × 1.15, 356Mi)).
    assert rec.proposed.memory_request_bytes == 423 * MIB
    assert "OOMKilled" in rec.rationale


def test_krr_oom_bump_is_off_by_default_and_uses_the_limit_buffer_when_on():
    history = container_history("web-0", [200] * 300, [250 * MIB] * 300, ooms=[NOW_SECONDS - 60])
    spec = container(cpu=250, memory=256 * MIB, memory_limit=256 * MIB)
    rec = strategy_for(KRR).recommend(_inputs(history, spec=spec), KRR)
    assert rec.proposed is not None
    assert rec.proposed.memory_request_bytes == 288 * MIB  # KRR's default (use_oomkill_data off): 250Mi × 1.15
    with_ooms = KRR.model_copy(update={"oom_bump": True})
    bumped = strategy_for(with_ooms).recommend(_inputs(history, spec=spec), with_ooms)
    assert bumped.proposed is not None
    assert bumped.proposed.memory_request_bytes == 320 * MIB  # limit 256Mi × 1.25


def test_hpa_aware_cpu_uses_per_pod_usage_over_target():
    pods = [container_history(f"web-{i}", [160] * 200) for i in range(3)]
    spec = container(cpu=200, memory=512 * MIB)
    rec = strategy_for(BALANCED).recommend(_inputs(*pods, spec=spec, hpa_percent=80), BALANCED)
    assert rec.proposed is not None
    assert rec.proposed.cpu_request_millicores == 200  # 160m ÷ 0.80: no KRR spiral towards 160m × 1.15 …
    assert rec.rationale.startswith("HPA targets 80 % CPU: per-pod p95 160m ÷ 0.80 → 200m")


def test_memory_hpa_keeps_the_memory_request():
    history = container_history("web-0", [200] * 300, [100 * MIB] * 300)
    spec = container(cpu=250, memory=512 * MIB, memory_limit=512 * MIB)
    inputs = ContainerInputs(spec, (history,), NOW_SECONDS, memory_hpa_target_percent=75)
    rec = strategy_for(BALANCED).recommend(inputs, BALANCED)
    assert rec.proposed is not None
    assert (rec.proposed.memory_request_bytes, rec.proposed.memory_limit_bytes) == (512 * MIB, 512 * MIB)
    assert "; memory kept: an HPA scales on 75 % memory utilisation" in rec.rationale


def test_cpu_limit_kept_in_ratio_or_removed():
    spec = container(cpu=1000, cpu_limit=2000, memory=512 * MIB)
    history = container_history("web-0", [200] * 300, [200 * MIB] * 300)
    balanced = strategy_for(BALANCED).recommend(_inputs(history, spec=spec), BALANCED)
    krr = strategy_for(KRR).recommend(_inputs(history, spec=spec), KRR)
    assert balanced.proposed is not None
    assert krr.proposed is not None
    assert balanced.proposed.cpu_limit_millicores == 494  # 247m × 2000/1000
    assert krr.proposed.cpu_limit_millicores is None


@pytest.mark.parametrize(
    ("current", "proposed", "expected"),
    [
        (1.0, 0.4, "critical"),
        (1.0, 0.7, "warning"),
        (1.0, 0.85, "ok"),
        (1.0, 0.95, "good"),
        (None, 0.5, "warning"),
        (0.5, None, "warning"),
        (None, None, "good"),
    ],
)
def test_krr_severity_thresholds_cpu(current, proposed, expected):
    assert value_severity(current, proposed, (0.5, 0.25, 0.1)) == expected


usage_values = st.lists(st.floats(min_value=0, max_value=4000, allow_nan=False), min_size=200, max_size=260)
policies = st.sampled_from([KRR, VPA, BALANCED])


@settings(max_examples=40, deadline=None)
@given(values=usage_values, policy=policies)
def test_never_below_floors(values, policy):
    rec = strategy_for(policy).recommend(
        _inputs(container_history("web-0", values, [v * MIB / 10 for v in values])), policy
    )
    assert rec.proposed is not None
    assert rec.proposed.cpu_request_millicores is not None
    assert rec.proposed.memory_request_bytes is not None
    assert rec.proposed.cpu_request_millicores >= policy.cpu_min_millicores
    assert rec.proposed.memory_request_bytes >= policy.memory_min_bytes


@settings(max_examples=40, deadline=None)
@given(values=usage_values, policy=policies, factor=st.floats(min_value=1, max_value=3))
def test_monotone_in_usage(values, policy, factor):
    strategy = strategy_for(policy)
    low = strategy.recommend(_inputs(container_history("web-0", values, [v * MIB for v in values])), policy)
    scaled = [v * factor for v in values]
    high = strategy.recommend(_inputs(container_history("web-0", scaled, [v * MIB for v in scaled])), policy)
    assert low.proposed is not None
    assert high.proposed is not None
    assert high.proposed.cpu_request_millicores >= low.proposed.cpu_request_millicores  # type: ignore[operator]
    assert high.proposed.memory_request_bytes >= low.proposed.memory_request_bytes  # type: ignore[operator]


@settings(max_examples=30, deadline=None)
@given(values=usage_values, seed=st.randoms(use_true_random=False), policy=policies)
def test_stable_under_pod_order(values, seed, policy):
    pods = [container_history(f"web-{i}", values[i::3]) for i in range(3)]
    shuffled = list(pods)
    seed.shuffle(shuffled)
    strategy = strategy_for(policy)
    assert (
        strategy.recommend(_inputs(*pods), policy).proposed == strategy.recommend(_inputs(*shuffled), policy).proposed
    )


@settings(max_examples=30, deadline=None)
@given(values=usage_values, seed=st.randoms(use_true_random=False))
def test_krr_stable_under_sample_order(values, seed):
    shuffled = list(values)
    seed.shuffle(shuffled)
    strategy = strategy_for(KRR)
    first = strategy.recommend(_inputs(container_history("web-0", values)), KRR)
    second = strategy.recommend(_inputs(container_history("web-0", shuffled)), KRR)
    assert first.proposed == second.proposed


def _histogram_only(
    cpu_millicores: float, memory_bytes: float, *, points: int = 300, step_seconds: float = 60.0
) -> ContainerHistory:
    """A ContainerHistory as the store hands it for a whole-cluster pass: VPA histograms, no series."""
    from dataclasses import replace

    from k8s_optimizer.analysis.histogram import ContainerAggregate

    aggregate = ContainerAggregate()
    start = NOW_SECONDS - step_seconds * (points - 1)
    for index in range(points):
        aggregate.add_cpu(start + index * step_seconds, cpu_millicores, 1000)
        aggregate.add_memory(start + index * step_seconds, memory_bytes)
    history = container_history("web-0", [0.0])
    return replace(
        history,
        cpu_millicores=(),
        memory_bytes=(),
        cpu_histogram=aggregate.cpu.to_domain(),
        memory_histogram=aggregate.memory.to_domain(),
    )


@pytest.mark.parametrize("policy", [VPA, BALANCED, KRR], ids=lambda p: p.name)
def test_histograms_alone_give_the_same_answer_as_raw_series(policy):
    raw = strategy_for(policy).recommend(_inputs(container_history("web-0", [200] * 300, [300 * MIB] * 300)), policy)
    histogram = strategy_for(policy).recommend(_inputs(_histogram_only(200, 300 * MIB)), policy)
    assert histogram.proposed is not None
    assert raw.proposed is not None
    assert histogram.data.points == 300
    if policy.name == "krr-simple":  # p95 and the peak come back as their bucket's top edge
        assert histogram.proposed.cpu_request_millicores == 216  # 200m → bucket [195.99m, 215.79m)
        assert histogram.proposed.memory_request_bytes == 363 * MIB  # 300Mi → edge 315.3Mi × 1.15
        # the real bound is the bucket's width, stated, and the confidence lowered by bottom/top
        assert "CPU read from histogram buckets [196m, 216m): up to +10 % over the true value" in histogram.rationale
        assert histogram.confidence < raw.confidence
    else:
        assert histogram.proposed == raw.proposed
