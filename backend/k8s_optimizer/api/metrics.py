"""The backend's own Prometheus metrics, written out by hand in the text exposition format.

A handful of series does not justify a client library: request latency histograms per route template
(bounded label cardinality: the template, never the raw path), WebSocket clients, watch-cache sizes,
watch restarts, scrape and analysis durations. Everything is updated from the event loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Seconds; Prometheus client defaults minus the slowest buckets an API answer should never reach.
LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_SECONDS))
    total: int = 0
    sum_seconds: float = 0.0

    def observe(self, seconds: float) -> None:
        for index, bound in enumerate(LATENCY_BUCKETS_SECONDS):
            if seconds <= bound:
                self.counts[index] += 1
        self.total += 1
        self.sum_seconds += seconds


def _labels(pairs: Mapping[str, str]) -> str:
    escaped = (f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in pairs.items())
    return "{" + ",".join(escaped) + "}"


@dataclass(slots=True)
class ApiMetrics:
    """Counters and gauges the API updates; `gauges` adds live values read at exposition time."""

    requests: dict[tuple[str, str, str], _Histogram] = field(default_factory=lambda: defaultdict(_Histogram))
    ws_clients: int = 0
    ws_resyncs: int = 0
    analysis_runs: int = 0
    analysis_seconds: float = 0.0
    gauges: dict[str, Callable[[], Mapping[str, float]]] = field(default_factory=dict)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, str(status))].observe(seconds)

    def render(self) -> str:
        lines = [
            "# HELP optimizer_http_request_duration_seconds API request latency by route template.",
            "# TYPE optimizer_http_request_duration_seconds histogram",
        ]
        for (route, method, status), histogram in sorted(self.requests.items()):
            base = {"route": route, "method": method, "status": status}
            for bound, count in zip(LATENCY_BUCKETS_SECONDS, histogram.counts, strict=True):
                lines.append(
                    f"optimizer_http_request_duration_seconds_bucket{_labels({**base, 'le': str(bound)})} {count}"
                )
            lines.append(
                f"optimizer_http_request_duration_seconds_bucket{_labels({**base, 'le': '+Inf'})} {histogram.total}"
            )
            lines.append(f"optimizer_http_request_duration_seconds_sum{_labels(base)} {histogram.sum_seconds:.6f}")
            lines.append(f"optimizer_http_request_duration_seconds_count{_labels(base)} {histogram.total}")
        lines += _gauge("optimizer_ws_clients", "Connected WebSocket clients.", {"": self.ws_clients})
        lines += _counter("optimizer_ws_resyncs_total", "Snapshots sent to slow WebSocket clients.", self.ws_resyncs)
        lines += _counter("optimizer_analysis_runs_total", "Background analysis runs.", self.analysis_runs)
        lines += _gauge(
            "optimizer_analysis_duration_seconds", "Duration of the last analysis run.", {"": self.analysis_seconds}
        )
        for name, provider in sorted(self.gauges.items()):
            lines += _gauge(name, name.replace("_", " "), provider())
        return "\n".join(lines) + "\n"


def _counter(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]


def _gauge(name: str, help_text: str, values: Mapping[str, float]) -> list[str]:
    """`values` maps a label value ('' for none) to the gauge; the label is `kind`."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for label, value in sorted(values.items()):
        suffix = _labels({"kind": label}) if label else ""
        lines.append(f"{name}{suffix} {value}")
    return lines
