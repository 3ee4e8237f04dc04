"""A workload's usage summed over its pods, per scrape, including pods whose metrics were not refreshed.

The collector only hands over readings newer than the last ones it saw, so a scrape may carry some of
a workload's pods and not others. Summing only what a scrape carries would make the workload's total
saw-tooth; instead each container's newest sample is kept and counts until the container has missed
2.5 of its own sampling intervals (a deleted pod drops out, a slow one does not).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from k8s_optimizer.history.catalog import ContainerEntry

DEFAULT_SAMPLE_INTERVAL_SECONDS = 24.0  # assumed until a container's second sample shows its own
STALE_INTERVALS = 2.5

SumRow = tuple[int, str, float, float, int, int]  # workload id, part, ts, cpu, memory, pods


@dataclass(slots=True)
class _Latest:
    pod: str
    container: str
    timestamp: float
    cpu_millicores: float
    memory_bytes: int
    interval_seconds: float = DEFAULT_SAMPLE_INTERVAL_SECONDS

    def is_current(self, now: float) -> bool:
        return now - self.timestamp <= STALE_INTERVALS * self.interval_seconds


class WorkloadSums:
    """The newest sample of every current container, by workload."""

    def __init__(self) -> None:
        self._latest: dict[int, dict[int, _Latest]] = defaultdict(dict)  # workload id -> container id -> newest

    def clear(self) -> None:
        self._latest.clear()

    def remember(self, entry: ContainerEntry, timestamp: float, cpu_millicores: float, memory_bytes: int) -> None:
        members = self._latest[entry.workload_id]
        known = members.get(entry.id)
        if known is None:
            members[entry.id] = _Latest(entry.key.pod, entry.key.container, timestamp, cpu_millicores, memory_bytes)
        elif timestamp > known.timestamp:
            known.interval_seconds = timestamp - known.timestamp
            known.timestamp, known.cpu_millicores, known.memory_bytes = timestamp, cpu_millicores, memory_bytes

    def rows(self, workload_newest: dict[int, float]) -> list[SumRow]:
        """For each workload at its newest sample time: sums per container name and over all ('')."""
        rows: list[SumRow] = []
        for workload_id, newest in workload_newest.items():
            members = self._latest[workload_id]
            for container_id in [cid for cid, latest in members.items() if not latest.is_current(newest)]:
                del members[container_id]
            parts: dict[str, list[_Latest]] = defaultdict(list)
            for latest in members.values():
                parts[latest.container].append(latest)
                parts[""].append(latest)
            for part, group in parts.items():
                cpu = sum(latest.cpu_millicores for latest in group)
                memory = sum(latest.memory_bytes for latest in group)
                rows.append((workload_id, part, newest, cpu, memory, len({latest.pod for latest in group})))
        return rows

    def typical_interval_seconds(self) -> float | None:
        """The median sampling interval of the containers seen lately (None before any second sample)."""
        intervals = sorted(
            latest.interval_seconds
            for members in self._latest.values()
            for latest in members.values()
            if latest.interval_seconds != DEFAULT_SAMPLE_INTERVAL_SECONDS
        )
        return intervals[len(intervals) // 2] if intervals else None
