"""`vpa` equals the VPA recommender and `krr-simple` equals KRR, number for number, on six shapes of series.

Every expected number below was derived from the upstream code paths, step by step, not from our code:

VPA (kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender): one AggregateContainerState per
container name; every CPU sample adds weight 0.1 × 2^((t − ref)/24 h) to bucket
int(log(cores·0.05/0.01 + 1)/log 1.05) (ref: the first sample's time rounded to a whole day); memory adds one
peak per 24 h window counted from the container's first sample, at the window's end; an OOM kill adds
max(used + 100Mi, trunc(used × 1.2)), used = max(request, the window's peak). Percentile(p): the start of
the bucket after the first one whose running weight reaches p × total. Then, in whole millicores / bytes:
base = trunc(edge); + trunc(base × 0.15); lower × (1 + 0.001/conf)^-2 and upper × (1 + 1/conf), truncated;
max with the per-pod minimum (25m, 250Mi) split across containers, truncated.
conf = min(lifespan days, samples / 1440): 2 days of 5-minute samples → min(575·300/86400, 576/1440) = 0.4
(1.2 with three pods: the samples triple). Lower factor (1 + 0.001/0.4)^-2 = 0.99501…; upper 1 + 1/0.4 = 3.5.

Bucket edges used (CPU in millicores, memory in bytes): 110.2656 (bucket 9→10), 125.7789, 177.1298, 258.4037,
357.1925, 477.2710, 511.1345, 800.6377, 903.2031; memory 142067871.6, 215785635.9, 385052144.0, 445019988.7,
546691264.5, 664388475.0.

KRR (robusta-dev/krr strategies/simple.py + core/runner.py, default settings): CPU = max over pods of
Prometheus' quantile_over_time(0.95) in cores, ceil(cores × 10³)/10³, at least 10m; memory = max peak × 1.15,
ceil to whole MiB, at least 100Mi; no OOM bump (use_oomkill_data off); < 3 h only warns.

Both the raw-series path and the history store's path (the histograms `ContainerAggregate` keeps) give the
same numbers: the store path feeds the same samples (and the OOM kill) through `ContainerAggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from k8s_optimizer.analysis.histogram import ContainerAggregate
from k8s_optimizer.domain.history import ContainerHistory
from k8s_optimizer.domain.quantities import MIB
from k8s_optimizer.recommend.model import ResourceValues
from k8s_optimizer.recommend.policy import Policy
from k8s_optimizer.recommend.strategies import ContainerInputs, strategy_for
from tests.recommend.factories import NOW_SECONDS, container, container_history

STEP_SECONDS = 300.0  # 5-minute samples
N = 2 * 288  # two days
VPA = Policy.named("vpa")
KRR = Policy.named("krr-simple")


@dataclass(frozen=True)
class Shape:
    name: str
    pods: Sequence[tuple[Sequence[int], Sequence[int]]]  # (CPU millicores, memory bytes) per pod
    memory_request_bytes: int = 256 * MIB
    oom_seconds: tuple[float, ...] = ()
    # VPA: (target, lower, upper) for CPU (millicores) and memory (bytes)
    vpa_cpu: tuple[int, int, int] = (0, 0, 0)
    vpa_memory: tuple[int, int, int] = (0, 0, 0)
    # KRR: (CPU request millicores, memory request = limit bytes)
    krr: tuple[int, int] = (0, 0)


SHAPES = [
    # constant 250m / 200Mi: every sample in CPU bucket 17 → edge 258.4037 → 258 + trunc(38.7) = 296;
    # lower trunc(296 × 0.99501) = 294; upper trunc(296 × 3.5) = 1036. Memory: two peaks of 200Mi in the bucket
    # ending 215785635.88 → 215785635 + 32367845 = 248153480 < 250Mi → the minimum 262144000 (lower too);
    # upper trunc(248153480 × 3.5) = 868537180. KRR: p95 0.25 cores → 250m; 200Mi × 1.15 = 230Mi.
    Shape("constant", [([250] * N, [200 * MIB] * N)], vpa_cpu=(296, 294, 1036),
          vpa_memory=(262144000, 262144000, 868537180), krr=(250, 230 * MIB)),
    # diurnal 200 ± 150m, 300 ± 60Mi (a day's period): decayed weights put p90 and p95 in the bucket ending
    # 357.1925 → 357 + 53 = 410, upper trunc(410 × 3.5) = 1435; p50 ends 177.1298 → 177 + 26 = 203,
    # lower trunc(203 × 0.99501) = 201. Memory: both daily peaks (360Mi) end at 385052143.98 → 385052143 +
    # 57757821 = 442809964; lower 440604189; upper 1549834874. KRR: p95 of the sine 0.348 → 348m;
    # 360Mi × 1.15 = 414Mi.
    Shape("diurnal", [([200 + round(150 * math.sin(2 * math.pi * i / 288)) for i in range(N)],
                       [300 * MIB + round(60 * MIB * math.sin(2 * math.pi * i / 288)) for i in range(N)])],
          vpa_cpu=(410, 201, 1435), vpa_memory=(442809964, 440604189, 1549834874), krr=(348, 414 * MIB)),
    # spiky: 100m with a 900m sample every hour (1 in 12 = 8.3 % of the weight): p90 and p50 stay in the
    # bucket ending 110.2656 → 110 + 16 = 126, lower 125; p95 reaches the spike bucket ending 903.2031 →
    # 903 + 135 = 1038, upper 3633. Memory 150Mi with one 400Mi sample a day: both peaks 400Mi → edge
    # 445019988.74 → 445019988 + 66752998 = 511772986, lower 509223684, upper 1791205451.
    # KRR: p95 of 48 spikes in 576 samples: rank 546.25 sits in the 900m run → 900m; 400Mi × 1.15 = 460Mi.
    Shape("spiky", [([900 if i % 12 == 0 else 100 for i in range(N)],
                     [400 * MIB if i % 288 == 100 else 150 * MIB for i in range(N)])],
          vpa_cpu=(126, 125, 3633), vpa_memory=(511772986, 509223684, 1791205451), krr=(900, 460 * MIB)),
    # ramp 50m → 500m, 100Mi → 400Mi over two days (newer samples weigh up to twice as much): p90 ends 477.2710
    # → 477 + 71 = 548; p50 ends 357.1925 → 410, lower 407; p95 ends 511.1345 → 511 + 76 = 587, upper 2054.
    # Memory peaks ≈ 250Mi (day 1) and 400Mi (day 2, twice the weight): p50/p90/p95 all in the 400Mi bucket.
    # KRR: Prometheus p95 of the ramp = 0.47725 cores → ceil → 478m; 400Mi × 1.15 = 460Mi.
    Shape("ramp", [([50 + (450 * i) // (N - 1) for i in range(N)],
                    [100 * MIB + (300 * MIB * i) // (N - 1) for i in range(N)])],
          vpa_cpu=(548, 407, 2054), vpa_memory=(511772986, 509223684, 1791205451), krr=(478, 460 * MIB)),
    # bimodal: three pods, two at 100m/128Mi and one at 800m/512Mi, one aggregate (conf min(2.0 d, 1728/1440) =
    # 1.2). Two thirds of the weight sit in the low buckets: p50 ends 110.2656 → 110 + 16 = 126, lower
    # trunc(126 × (1 + 0.001/1.2)^-2 = 125.79) = 125; p90 and p95 reach the high bucket ending 800.6377 → 800 + 120
    # = 920, upper trunc(920 × (1 + 1/1.2)) = 1686. Memory p90/p95 end 546691264.47 → 546691264 + 82003689 =
    # 628694953, upper 1152607413; p50 ends 142067871.6 → 163378051 < 250Mi → lower 262144000.
    # KRR: max of per-pod p95 = 800m; 512Mi × 1.15 = 588.8 → 589Mi.
    Shape("bimodal", [([100] * N, [128 * MIB] * N), ([100] * N, [128 * MIB] * N), ([800] * N, [512 * MIB] * N)],
          vpa_cpu=(920, 125, 1686), vpa_memory=(628694953, 262144000, 1152607413), krr=(800, 589 * MIB)),
    # memory leak 100Mi → 512Mi, OOM-killed at the last sample (request 256Mi): the kill adds
    # max(used + 100Mi, trunc(used × 1.2)) with used = the day's peak 536152…B ≈ 511.3Mi → 613.6Mi, which
    # replaces that day's peak: edge 664388475.03 → 664388475 + 99658271 = 764046746, lower 760240790,
    # upper 2674163611. CPU 120m: edge 125.7789 → 125 + 18 = 143, lower 142, upper 500.
    # KRR (OOM data off): 512Mi peak × 1.15 = 588.8 → 589Mi; CPU 120m.
    Shape("leak+oom", [([120] * N, [100 * MIB + (412 * MIB * i) // (N - 1) for i in range(N)])],
          oom_seconds=(NOW_SECONDS,), vpa_cpu=(143, 142, 500), vpa_memory=(764046746, 760240790, 2674163611),
          krr=(120, 589 * MIB)),
]  # fmt: skip


def _raw(shape: Shape) -> tuple[ContainerHistory, ...]:
    return tuple(
        container_history(f"web-{index}", cpu, memory, step_seconds=STEP_SECONDS, ooms=shape.oom_seconds)
        for index, (cpu, memory) in enumerate(shape.pods)
    )


def _stored(shape: Shape) -> tuple[ContainerHistory, ...]:
    """What the history store hands over: its ContainerAggregate histograms, fed sample by sample."""
    histories = []
    for raw in _raw(shape):
        aggregate = ContainerAggregate()
        pending = sorted(raw.oom_kill_times_seconds)
        for cpu, memory in zip(raw.cpu_millicores, raw.memory_bytes, strict=True):
            while pending and pending[0] <= cpu.timestamp_seconds:
                aggregate.record_oom(pending.pop(0), shape.memory_request_bytes)
            aggregate.add_cpu(cpu.timestamp_seconds, cpu.value, 500)
            aggregate.add_memory(memory.timestamp_seconds, memory.value)
        histories.append(
            replace(
                raw,
                cpu_millicores=(),
                memory_bytes=(),
                cpu_histogram=aggregate.cpu.to_domain(),
                memory_histogram=aggregate.memory.to_domain(),
            )
        )
    return tuple(histories)


def _recommend(policy: Policy, shape: Shape, histories: tuple[ContainerHistory, ...]):  # type: ignore[no-untyped-def]
    spec = container(cpu=500, memory=shape.memory_request_bytes, memory_limit=512 * MIB)
    return strategy_for(policy).recommend(ContainerInputs(spec, histories, NOW_SECONDS), policy)


@pytest.mark.parametrize("path", ["raw", "store"])
@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_vpa_equals_the_recommender(shape: Shape, path: str) -> None:
    histories = _raw(shape) if path == "raw" else _stored(shape)
    rec = _recommend(VPA, shape, histories)
    assert rec.proposed is not None
    bounds = rec.bounds
    cpu = (rec.proposed.cpu_request_millicores, bounds.cpu_lower_millicores, bounds.cpu_upper_millicores)
    memory = (rec.proposed.memory_request_bytes, bounds.memory_lower_bytes, bounds.memory_upper_bytes)
    assert (cpu, memory) == (shape.vpa_cpu, shape.vpa_memory)


def _stored_with_series(shape: Shape) -> tuple[ContainerHistory, ...]:
    """The store's answer for a window it still holds samples for: the series and the histograms."""
    return tuple(
        replace(stored, cpu_millicores=raw.cpu_millicores, memory_bytes=raw.memory_bytes)
        for raw, stored in zip(_raw(shape), _stored(shape), strict=True)
    )


@pytest.mark.parametrize("path", ["raw", "store"])
@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_krr_simple_equals_krr(shape: Shape, path: str) -> None:
    # KRR reads per-pod series (Prometheus); the store path hands the same series beside its histograms.
    # Histograms alone give bucket edges: that bound is stated in the rationale (test_strategies).
    histories = _raw(shape) if path == "raw" else _stored_with_series(shape)
    rec = _recommend(KRR, shape, histories)
    cpu, memory = shape.krr
    assert rec.proposed == ResourceValues(cpu, None, memory, memory)
