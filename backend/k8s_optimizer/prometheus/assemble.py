"""Prometheus answers → `WorkloadHistory` values: owners, per-pod series, VPA histograms, OOMs, replicas.

Runs in a worker thread (folding a namespace's points into histograms is CPU work). The histograms are
handed over as series when the pass fits the series budget (CPU the average over each step, memory the
peak of each step), so every strategy computes exactly what it computes from the same series read
directly; beyond the budget they are the same `ContainerAggregate` the SQLite store keeps, rebuilt from
server-side quantiles and daily peaks, with the sample count Prometheus holds. Either way the first and
last points are the data actually returned, so the 3-hour gate applies to that.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from k8s_optimizer.analysis.histogram import CPU_MILLICORES_BUCKETS, ContainerAggregate, Histogram
from k8s_optimizer.domain.history import ContainerHistory, DecayingHistogram, WorkloadHistory
from k8s_optimizer.domain.objects import HPA, ObjectRef
from k8s_optimizer.domain.usage import ContainerKey, UsagePoint
from k8s_optimizer.prometheus.client import Labels as SeriesLabels, Sample
from k8s_optimizer.prometheus.queries import Labels

Matrix = list[tuple[SeriesLabels, list[Sample]]]
Vector = list[tuple[SeriesLabels, Sample]]
RestartSteps = dict[ContainerKey, list[tuple[float, int]]]
_WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})


def hpa_metric_names(hpa: HPA) -> list[str]:
    """Names of the HPA's non-resource metrics (Pods, Object, External), which need a metric source."""
    return [m.metric_name for m in hpa.metrics if m.type in ("Pods", "Object", "External") and m.metric_name]


@dataclass(slots=True)
class Owners:
    """Pod → workload from kube_pod_owner and kube_replicaset_owner, else from the live cluster."""

    pods: dict[tuple[str, str], ObjectRef] = field(default_factory=dict)
    fallback: Callable[[str, str], ObjectRef | None] | None = None

    @classmethod
    def from_rows(
        cls, labels: Labels, pod_rows: Vector, rs_rows: Vector, fallback: Callable[[str, str], ObjectRef | None]
    ) -> Owners:
        deployments = {
            (row.get(labels.namespace, ""), row.get("replicaset", "")): row.get("owner_name", "")
            for row, _ in rs_rows
            if row.get("owner_kind") == "Deployment"
        }
        pods: dict[tuple[str, str], ObjectRef] = {}
        for row, _ in pod_rows:
            namespace, pod = row.get(labels.namespace, ""), row.get(labels.pod, "")
            kind, name = row.get("owner_kind", ""), row.get("owner_name", "")
            if kind == "ReplicaSet" and (namespace, name) in deployments:
                kind, name = "Deployment", deployments[(namespace, name)]
            if kind in _WORKLOAD_KINDS and name:
                pods[(namespace, pod)] = ObjectRef(kind, namespace, name)
        return cls(pods, fallback)

    def owner(self, namespace: str, pod: str) -> ObjectRef:
        found = self.pods.get((namespace, pod))
        if found is None and self.fallback is not None:
            found = self.fallback(namespace, pod)
            if found is not None:
                self.pods[(namespace, pod)] = found
        return found or ObjectRef("Pod", namespace, pod)

    def pods_of(self, workload: ObjectRef) -> list[str]:
        return sorted(pod for (ns, pod), ref in self.pods.items() if ref == workload)


@dataclass(slots=True)
class Answers:
    """One namespace's query results."""

    labels: Labels
    cpu: Matrix
    memory: Matrix
    counts: Vector
    restarts: Matrix
    ooms: Matrix
    owners: Owners
    interval_seconds: float | None = None
    quantiles: dict[float, Vector] = field(default_factory=dict)  # server-side CPU quantiles (summary tier)

    def key(self, row: SeriesLabels) -> ContainerKey:
        return ContainerKey(
            row.get(self.labels.namespace, ""), row.get(self.labels.pod, ""), row.get(self.labels.container, "")
        )


def _by_key(answers: Answers, matrix: Matrix) -> dict[ContainerKey, list[Sample]]:
    return {answers.key(row): samples for row, samples in matrix}


def _restart_steps(answers: Answers) -> RestartSteps:
    """(step, restarts in it) wherever the restart counter grew since the previous point."""
    result: RestartSteps = {}
    for row, samples in answers.restarts:
        grew = [(t, round(v - before)) for (_, before), (t, v) in itertools.pairwise(samples) if v > before]
        result[answers.key(row)] = grew
    return result


def _oom_times(
    answers: Answers, restarts: dict[ContainerKey, list[tuple[float, int]]]
) -> dict[ContainerKey, tuple[float, ...]]:
    """Restart steps while the last termination reason was OOMKilled."""
    oom_steps = {answers.key(row): {t for t, v in samples if v >= 1} for row, samples in answers.ooms}
    return {key: tuple(t for t, _ in steps if t in oom_steps.get(key, set())) for key, steps in restarts.items()}


def _histograms(
    cpu: list[Sample], memory: list[Sample], ooms: tuple[float, ...], count: int
) -> tuple[DecayingHistogram | None, DecayingHistogram | None]:
    aggregate = ContainerAggregate()
    for t, cores in cpu:
        aggregate.add_cpu(t, cores * 1000.0, None)
    for t, value in memory:
        aggregate.add_memory(t, value)
    for t in ooms:
        aggregate.record_oom(t, None)
    cpu_histogram = aggregate.cpu.to_domain() if cpu else None
    if cpu_histogram is not None and count > cpu_histogram.total_samples:
        cpu_histogram = dataclasses.replace(cpu_histogram, total_samples=count)
    return cpu_histogram, aggregate.memory.to_domain() if memory else None


def _quantile_histogram(
    quantiles: dict[float, float], count: int, last_seconds: float, span_seconds: float
) -> DecayingHistogram | None:
    """A CPU histogram whose percentiles are the server's quantiles (at VPA's 5 % bucket resolution).

    The mass between consecutive quantiles sits in the bucket of the upper one (the tail above the
    highest in its bucket), so percentile(p) lands in the bucket of the first quantile ≥ p. Weights are
    not decayed: Prometheus's quantile weighs the window evenly.
    """
    if not quantiles:
        return None
    histogram = Histogram(CPU_MILLICORES_BUCKETS, reference_seconds=last_seconds)
    below = 0.0
    ordered = sorted(quantiles.items())
    for index, (fraction, cores) in enumerate(ordered):
        # a hair over the fraction, so percentile(fraction) never slips to the next bucket on rounding
        reached = 1.0 if index == len(ordered) - 1 else fraction + 1e-6
        histogram.add(cores * 1000.0, reached - below, last_seconds)
        below = reached
    domain = histogram.to_domain()
    return dataclasses.replace(
        domain, total_samples=max(count, 1), first_sample_seconds=last_seconds - span_seconds,
        last_sample_seconds=last_seconds,
    )  # fmt: skip


def _summary_cpu(answers: Answers, now_seconds: float, window_seconds: float) -> dict[ContainerKey, DecayingHistogram]:
    by_key: dict[ContainerKey, dict[float, float]] = defaultdict(dict)
    for fraction, rows in answers.quantiles.items():
        for row, (_, value) in rows:
            by_key[answers.key(row)][fraction] = value
    counts = {answers.key(row): int(value) for row, (_, value) in answers.counts}
    result: dict[ContainerKey, DecayingHistogram] = {}
    for key, quantiles in by_key.items():
        count = counts.get(key, 0)
        span = min(window_seconds, count * (answers.interval_seconds or 0.0))
        histogram = _quantile_histogram(quantiles, count, now_seconds, span)
        if histogram is not None:
            result[key] = histogram
    return result


def _points(samples: list[Sample], scale: float = 1.0) -> tuple[UsagePoint, ...]:
    return tuple(UsagePoint(t, v * scale) for t, v in samples)


def _replicas(per_pod_times: Iterable[set[float]], since: float) -> tuple[UsagePoint, ...]:
    """Pods with a point at each step, as change points (the workload's replica count over time)."""
    counts: dict[float, int] = defaultdict(int)
    for times in per_pod_times:
        for t in times:
            counts[t] += 1
    changes: list[UsagePoint] = []
    for t in sorted(counts):
        if not changes or changes[-1].value != counts[t]:
            changes.append(UsagePoint(max(t, since), float(counts[t])))
    return tuple(changes)


def assemble(
    answers: Answers,
    *,
    window_seconds: float,
    now_seconds: float,
    with_series: bool,
    metric_series: dict[ObjectRef, dict[str, list[Sample]]],
    source: str,
) -> dict[ObjectRef, WorkloadHistory]:
    cpu, memory = _by_key(answers, answers.cpu), _by_key(answers, answers.memory)
    summary = _summary_cpu(answers, now_seconds, window_seconds)
    counts = {answers.key(row): int(value) for row, (_, value) in answers.counts}
    restart_steps = _restart_steps(answers)
    ooms = _oom_times(answers, restart_steps)
    restarts = {key: sum(n for _, n in steps) for key, steps in restart_steps.items()}
    by_workload: dict[ObjectRef, list[ContainerHistory]] = defaultdict(list)
    for key in sorted(set(cpu) | set(memory) | set(summary), key=lambda k: (k.pod, k.container)):
        cpu_samples, memory_samples = cpu.get(key, []), memory.get(key, [])
        cpu_histogram, memory_histogram = _histograms(
            cpu_samples, memory_samples, ooms.get(key, ()), counts.get(key, 0)
        )
        cpu_histogram = summary.get(key, cpu_histogram)
        history = ContainerHistory(
            key=key,
            cpu_millicores=_points(cpu_samples, 1000.0) if with_series else (),
            memory_bytes=_points(memory_samples) if with_series else (),
            # with the series at hand the strategies read them exactly as from any direct read; histograms
            # only stand in for series that stay on the server
            cpu_histogram=None if with_series else cpu_histogram,
            memory_histogram=None if with_series else memory_histogram,
            oom_kill_times_seconds=ooms.get(key, ()),
            restart_count_in_window=restarts.get(key, 0),
        )
        by_workload[answers.owners.owner(key.namespace, key.pod)].append(history)
    since = now_seconds - window_seconds
    result: dict[ObjectRef, WorkloadHistory] = {}
    for ref, histories in by_workload.items():
        containers: dict[str, list[ContainerHistory]] = defaultdict(list)
        pod_times: dict[str, set[float]] = defaultdict(set)
        for history in histories:
            containers[history.key.container].append(history)
            pod_times[history.key.pod].update(t for t, _ in memory.get(history.key, []))
        result[ref] = WorkloadHistory(
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
            containers={name: tuple(items) for name, items in sorted(containers.items())},
            replicas=_replicas(pod_times.values(), since),
            window_seconds=window_seconds,
            series_resolution="raw" if with_series else "none",
            source=source,
            metric_series={name: _points(samples) for name, samples in metric_series.get(ref, {}).items()},
        )
    return result
