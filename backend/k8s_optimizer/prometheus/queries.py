"""The PromQL the Prometheus source sends: one query per namespace and metric, evaluated on the server.

Series names are the ones a stock kube-prometheus-stack has (cAdvisor through the kubelet, and
kube-state-metrics). The selectors also work on a Prometheus that scrapes the kubelet's own
`/metrics/cadvisor`: `container!=""` drops the pod-level cgroup, `container!="POD"` the pause
container, and `max by` collapses the duplicates two scrape jobs (or a restarted container's stale
cgroup) leave behind. Label names and the cluster label are settings, since Thanos/Mimir setups and
relabelled scrapes differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CPU_SERIES = "container_cpu_usage_seconds_total"
MEMORY_SERIES = "container_memory_working_set_bytes"
RESTARTS_SERIES = "kube_pod_container_status_restarts_total"
TERMINATED_SERIES = "kube_pod_container_status_last_terminated_reason"
POD_OWNER_SERIES = "kube_pod_owner"
REPLICASET_OWNER_SERIES = "kube_replicaset_owner"
STATE_RANGE_SECONDS = 7200.0  # kube-state-metrics' constant series are often stored far coarser than cAdvisor's
MIN_RANGE_SECONDS = 120.0  # a rate needs two samples: cover two 1-minute scrapes however fine the step


def cpu_range_seconds(step_seconds: float, interval_seconds: float | None) -> float:
    """The rate's range: the step, widened by whole steps to hold two samples (a backfill may be far
    coarser than a live scrape)."""
    needed = 2 * (interval_seconds or MIN_RANGE_SECONDS / 2)
    return step_seconds * max(1, math.ceil(needed / step_seconds - 1e-6))


def memory_range_seconds(step_seconds: float, interval_seconds: float | None) -> float:
    """The peak's range: the step, widened by whole steps to hold one sample."""
    return step_seconds * max(1, math.ceil((interval_seconds or 0.0) / step_seconds - 1e-6))


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def seconds(value: float) -> str:
    return f"{max(1, round(value))}s"


@dataclass(frozen=True, slots=True)
class Labels:
    container: str = "container"
    pod: str = "pod"
    namespace: str = "namespace"
    cluster_label: str | None = None
    cluster: str | None = None

    def by(self) -> str:
        return f"{self.namespace}, {self.pod}, {self.container}"

    def selector(self, namespace: str | None, *, containers: bool = True, extra: str = "") -> str:
        matchers = []
        if namespace is not None:
            matchers.append(f"{self.namespace}={quote(namespace)}")
        if containers:
            matchers += [f'{self.container}!=""', f'{self.container}!="POD"']
        if self.cluster_label and self.cluster is not None:
            matchers.append(f"{self.cluster_label}={quote(self.cluster)}")
        if extra:
            matchers.append(extra)
        return "{" + ", ".join(matchers) + "}"

    def pods_matcher(self, pods: list[str]) -> str:
        return f"{self.pod}=~{quote('|'.join(_regex_escape(p) for p in sorted(pods)))}"


def _regex_escape(text: str) -> str:
    return "".join("\\\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


@dataclass(frozen=True, slots=True)
class Queries:
    labels: Labels

    def namespaces(self) -> str:
        """Containers per namespace over the last hour (which namespaces to page through, and how big)."""
        sel, labels = self.labels.selector(None), self.labels
        return f"count by ({labels.namespace}) (max by ({labels.by()}) (max_over_time({MEMORY_SERIES}{sel}[1h])))"

    def cpu(self, namespace: str, range_seconds: float, extra: str = "") -> str:
        """CPU cores per container, each point the average over its range (the step, or two samples)."""
        sel = self.labels.selector(namespace, extra=extra)
        span = seconds(range_seconds)
        return f"max by ({self.labels.by()}) (rate({CPU_SERIES}{sel}[{span}]))"

    def memory(self, namespace: str, range_seconds: float, extra: str = "") -> str:
        """Working set per container, each point the peak of its range (the step, or one sample)."""
        sel = self.labels.selector(namespace, extra=extra)
        span = seconds(range_seconds)
        return f"max by ({self.labels.by()}) (max_over_time({MEMORY_SERIES}{sel}[{span}]))"

    def sample_count(self, namespace: str, window_seconds: float) -> str:
        """Samples Prometheus holds per container in the window (VPA's confidence counts samples)."""
        sel = self.labels.selector(namespace)
        return f"max by ({self.labels.by()}) (count_over_time({MEMORY_SERIES}{sel}[{seconds(window_seconds)}]))"

    def restarts(self, namespace: str, step_seconds: float) -> str:
        """The restart counter (kube-state-metrics) at each step: its last value within a state interval,
        so kube-state-metrics' own (often coarser) sampling leaves no gaps; restarts are its increments."""
        sel = self.labels.selector(namespace)
        span = seconds(max(step_seconds, STATE_RANGE_SECONDS))
        return f"max by ({self.labels.by()}) (last_over_time({RESTARTS_SERIES}{sel}[{span}]))"

    def oom_reason(self, namespace: str, step_seconds: float) -> str:
        """1 while a container's last termination was an OOM kill."""
        sel = self.labels.selector(namespace, extra='reason="OOMKilled"')
        span = seconds(max(step_seconds, STATE_RANGE_SECONDS))
        return f"max by ({self.labels.by()}) (last_over_time({TERMINATED_SERIES}{sel}[{span}]))"

    def pod_owners(self, namespace: str, window_seconds: float) -> str:
        sel = self.labels.selector(namespace, containers=False)
        by = f"{self.labels.namespace}, {self.labels.pod}, owner_kind, owner_name"
        return f"max by ({by}) (max_over_time({POD_OWNER_SERIES}{sel}[{seconds(window_seconds)}]))"

    def replicaset_owners(self, namespace: str, window_seconds: float) -> str:
        sel = self.labels.selector(namespace, containers=False)
        by = f"{self.labels.namespace}, replicaset, owner_kind, owner_name"
        return f"max by ({by}) (max_over_time({REPLICASET_OWNER_SERIES}{sel}[{seconds(window_seconds)}]))"

    def cpu_quantile(
        self, namespace: str, fraction: float, window_seconds: float, step_seconds: float, range_seconds: float
    ) -> str:
        """KRR's percentile on the server: one value per container for the whole window."""
        inner = self.cpu(namespace, range_seconds)
        return f"quantile_over_time({fraction:g}, ({inner})[{seconds(window_seconds)}:{seconds(step_seconds)}])"

    def metric(self, name: str, namespace: str, pods: list[str], template: str | None) -> str:
        """An HPA metric: the mapped PromQL with {namespace}/{selector} filled in, else the name as-is,
        averaged per pod (what a Pods metric's AverageValue compares against)."""
        matchers = f"{self.labels.namespace}={quote(namespace)}"
        if pods:
            matchers += ", " + self.labels.pods_matcher(pods)
        if template:
            return template.replace("{namespace}", quote(namespace)).replace("{selector}", matchers)
        return f"avg({name}{{{matchers}}})"

    def counter_metric(self, name: str, namespace: str, pods: list[str], range_seconds: float) -> str | None:
        """prometheus-adapter's default naming: `<x>_per_second` is the rate of the counter `<x>_total`."""
        if not name.endswith("_per_second"):
            return None
        matchers = f"{self.labels.namespace}={quote(namespace)}"
        if pods:
            matchers += ", " + self.labels.pods_matcher(pods)
        counter = f"{name.removesuffix('_per_second')}_total{{{matchers}}}"
        return f"avg(rate({counter}[{seconds(range_seconds)}]))"
