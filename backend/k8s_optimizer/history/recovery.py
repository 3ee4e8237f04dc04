"""Rebuilding the VPA aggregates after a restart or a crash: the last checkpoint plus a replay.

Each container's checkpoint records the sample time and the termination sequence number it includes.
Everything committed after that is replayed in order: samples by timestamp, and OOM kills at the point
of the sample stream where they arrived (that is where the live run applied them). CPU ignores samples
that are not newer than its last and memory peaks are idempotent, so replaying from the checkpoint's
oldest "last sample" is exact.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict

from k8s_optimizer.analysis.histogram import ContainerAggregate
from k8s_optimizer.history.catalog import Catalog, ContainerEntry

OOM_REASON = "OOMKilled"

PendingOom = tuple[int, float, float]  # seq, newest sample time when it arrived, finishedAt


def replay_from(aggregate: ContainerAggregate) -> float:
    """Samples at or after this time may be missing from the aggregate (both resources dedup the rest)."""
    lasts = [t for t in (aggregate.last_cpu_sample_seconds, aggregate.last_memory_sample_seconds) if t is not None]
    return min(lasts) if lasts else float("-inf")


def load_checkpoints(connection: sqlite3.Connection) -> tuple[dict[int, ContainerAggregate], dict[int, int]]:
    """The checkpointed aggregates and the termination seq each one includes."""
    aggregates: dict[int, ContainerAggregate] = {}
    seqs: dict[int, int] = {}
    for container_id, state, seq in connection.execute("SELECT container_id, state, termination_seq FROM histograms"):
        aggregates[container_id] = ContainerAggregate.from_checkpoint(json.loads(state))
        seqs[container_id] = seq
    return aggregates, seqs


def replay(
    connection: sqlite3.Connection,
    catalog: Catalog,
    aggregates: dict[int, ContainerAggregate],
    checkpoint_seqs: dict[int, int],
) -> set[int]:
    """Fold into `aggregates` what was committed after each checkpoint; returns the containers changed."""
    ooms: dict[int, list[PendingOom]] = defaultdict(list)
    rows = connection.execute(
        "SELECT container_id, seq, recorded_now, finished_at FROM terminations WHERE reason = ? ORDER BY seq",
        (OOM_REASON,),
    )
    for container_id, seq, recorded_now, finished in rows:
        if seq > checkpoint_seqs.get(container_id, 0):
            ooms[container_id].append((seq, float("-inf") if recorded_now is None else recorded_now, finished))
    changed = set()
    for entry in list(catalog.containers_by_id.values()):
        if _replay_container(connection, entry, aggregates, ooms.get(entry.id, [])):
            changed.add(entry.id)
    return changed


def _replay_container(
    connection: sqlite3.Connection,
    entry: ContainerEntry,
    aggregates: dict[int, ContainerAggregate],
    pending_ooms: list[PendingOom],
) -> bool:
    aggregate = aggregates.get(entry.id)
    since = float("-inf") if aggregate is None else replay_from(aggregate)
    samples = connection.execute(
        "SELECT ts, cpu_millicores, memory_bytes, cpu_request_millicores, memory_request_bytes "
        "FROM samples WHERE container_id = ? AND ts >= ? ORDER BY ts",
        (entry.id, since),
    ).fetchall()
    if not samples and not pending_ooms:
        return False
    if aggregate is None:
        aggregate = aggregates[entry.id] = ContainerAggregate()
    if pending_ooms:  # the request in force before the replayed samples sizes an early OOM's bump
        entry.memory_request_bytes = _request_before(connection, entry.id, since)
    for timestamp, cpu, memory, cpu_request, memory_request in samples:
        while pending_ooms and pending_ooms[0][1] < timestamp:  # it arrived before this sample
            aggregate.record_oom(pending_ooms.pop(0)[2], entry.memory_request_bytes)
        aggregate.add_cpu(timestamp, cpu, cpu_request)
        aggregate.add_memory(timestamp, memory)
        entry.memory_request_bytes = memory_request
    for _, _, finished in pending_ooms:
        aggregate.record_oom(finished, entry.memory_request_bytes)
    return True


def _request_before(connection: sqlite3.Connection, container_id: int, since: float) -> int | None:
    row = connection.execute(
        "SELECT memory_request_bytes FROM samples WHERE container_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
        (container_id, since),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
