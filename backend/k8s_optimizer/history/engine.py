"""The history store's synchronous core: ingest, rollups, pruning, checkpoints and crash recovery.

Everything here runs on one dedicated thread (the store's writer), so it owns its SQLite connection
and the in-memory VPA aggregates without locks, and never runs on the event loop.

Time: "now" is the newest sample timestamp ever recorded (persisted in `meta`), never the local
clock, because the embedded cluster's clock may run faster than wall time; retention, rollups and
checkpoints are all scheduled in sample time.

Durability: a scrape is one transaction. The VPA aggregates are updated after the commit and
checkpointed every few minutes; on open, every raw sample (and OOM kill) newer than a container's
checkpoint is replayed, so a crash at any point loses no committed sample and leaves the aggregates
as if the process had never stopped (CPU ignores samples not newer than its last, memory peaks are
idempotent).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from k8s_optimizer.analysis.histogram import MEMORY_AGGREGATION_WINDOW_SECONDS, ContainerAggregate
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.history.catalog import Catalog, ContainerEntry
from k8s_optimizer.history.rollups import ROLLUP_GRACE_SECONDS, ROLLUP_SECONDS, bucket_start, roll_up_bucket
from k8s_optimizer.history.schema import connect

logger = logging.getLogger(__name__)

ROLLUP_RETENTION_SECONDS = 14 * 86400.0  # rollups, replica changes and terminations
CHECKPOINT_INTERVAL_SECONDS = 300.0  # sample time between histogram checkpoints
PRUNE_INTERVAL_SECONDS = 600.0  # sample time between retention passes
OOM_REASON = "OOMKilled"


@dataclass(frozen=True, slots=True)
class Retention:
    raw_seconds: float = 86400.0
    rollup_seconds: float = ROLLUP_RETENTION_SECONDS
    checkpoint_interval_seconds: float = CHECKPOINT_INTERVAL_SECONDS
    prune_interval_seconds: float = PRUNE_INTERVAL_SECONDS


@dataclass(slots=True)
class _ScrapeBatch:
    """One scrape turned into rows; sums are per (workload id, container name or '')."""

    sample_rows: list[tuple[int, float, float, int, int | None, int | None]] = field(default_factory=list)
    sums: dict[tuple[int, str], list[float]] = field(default_factory=dict)  # [max ts, cpu, memory]
    pods: dict[tuple[int, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    applied: list[tuple[ContainerEntry, ScrapedContainer, float]] = field(default_factory=list)

    def add_sum(self, key: tuple[int, str], pod: str, timestamp: float, cpu: float, memory: int) -> None:
        current = self.sums.get(key)
        if current is None:
            self.sums[key] = [timestamp, cpu, float(memory)]
        else:
            current[0] = max(current[0], timestamp)
            current[1] += cpu
            current[2] += memory
        self.pods[key].add(pod)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


class HistoryEngine:
    """Owns the connection and the per-container VPA aggregates; call only from the writer thread."""

    def __init__(self, connection: sqlite3.Connection, retention: Retention) -> None:
        self.connection = connection
        self.retention = retention
        self.catalog = Catalog()
        self.aggregates: dict[int, ContainerAggregate] = {}
        self._dirty: set[int] = set()
        self._last_replicas: dict[int, tuple[float, int, int | None]] = {}
        self._termination_seq = 0  # arrivals so far; a checkpoint includes every OOM up to it
        self._checkpoint_seqs: dict[int, int] = {}
        self.newest_seconds: float | None = None
        self.rolled_until_seconds: float | None = None
        self._last_checkpoint_seconds: float | None = None
        self._last_prune_seconds: float | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, data_dir: Path, retention: Retention) -> HistoryEngine:
        engine = cls(connect(data_dir), retention)
        engine.catalog.load(engine.connection)
        engine.newest_seconds = engine._read_meta("newest_ts")
        engine.rolled_until_seconds = engine._read_meta("rolled_until")
        engine._termination_seq = int(engine._read_meta("termination_seq") or 0)
        engine._load_checkpoints()
        engine._replay()
        engine._last_checkpoint_seconds = engine.newest_seconds
        return engine

    def close(self) -> None:
        try:
            self.checkpoint()
        finally:
            self.connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            self.catalog = Catalog()  # ids created in the rolled-back transaction are gone
            self.catalog.load(self.connection)
            raise
        self.connection.execute("COMMIT")

    def _read_meta(self, key: str) -> float | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def _write_meta(self, key: str, value: float) -> None:
        self.connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, repr(value)))

    def _advance_now(self, timestamp: float) -> None:
        if self.newest_seconds is None or timestamp > self.newest_seconds:
            self.newest_seconds = timestamp
            self._write_meta("newest_ts", timestamp)

    # ------------------------------------------------------------------ ingest
    def record_scrape(self, containers: Sequence[ScrapedContainer], nodes: Sequence[NodeUsage]) -> int:
        """Store one scrape in one transaction; returns how many container samples were new."""
        if not containers and not nodes:
            return 0
        with self._transaction() as db:
            batch = self._prepare(db, containers)
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?)", batch.sample_rows)
            inserted = db.total_changes - before
            db.executemany(
                "INSERT OR IGNORE INTO workload_samples VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (wid, part, ts, cpu, round(mem), len(batch.pods[wid, part]))
                    for (wid, part), (ts, cpu, mem) in batch.sums.items()
                ],
            )
            node_rows = [
                (self.catalog.node_id(db, n.node), _seconds(n.timestamp), n.cpu_millicores, n.memory_bytes)
                for n in nodes
            ]
            db.executemany("INSERT OR IGNORE INTO node_samples VALUES (?, ?, ?, ?)", node_rows)
            newest = max([row[1] for row in batch.sample_rows] + [row[1] for row in node_rows])
            self._advance_now(newest)
        self._apply_to_aggregates(batch)
        return inserted

    def _prepare(self, db: sqlite3.Connection, containers: Sequence[ScrapedContainer]) -> _ScrapeBatch:
        batch = _ScrapeBatch()
        for scraped in containers:
            usage = scraped.usage
            entry = self.catalog.container(db, usage.key, scraped.workload)
            timestamp = _seconds(usage.timestamp)
            batch.sample_rows.append(
                (
                    entry.id,
                    timestamp,
                    usage.cpu_millicores,
                    usage.memory_bytes,
                    scraped.cpu_request_millicores,
                    scraped.memory_request_bytes,
                )
            )
            for part in (usage.key.container, ""):
                batch.add_sum(
                    (entry.workload_id, part), usage.key.pod, timestamp, usage.cpu_millicores, usage.memory_bytes
                )
            batch.applied.append((entry, scraped, timestamp))
        return batch

    def _apply_to_aggregates(self, batch: _ScrapeBatch) -> None:
        for entry, scraped, timestamp in batch.applied:
            entry.memory_request_bytes = scraped.memory_request_bytes
            aggregate = self.aggregates.get(entry.id)
            if aggregate is None:
                aggregate = self.aggregates[entry.id] = ContainerAggregate()
            usage = scraped.usage
            cpu_added = aggregate.add_cpu(timestamp, usage.cpu_millicores, scraped.cpu_request_millicores)
            memory_added = aggregate.add_memory(timestamp, usage.memory_bytes)
            if cpu_added or memory_added:
                self._dirty.add(entry.id)

    def record_terminations(self, terminations: Sequence[Termination]) -> int:
        """Store terminations once per (container, finished_at); a new OOM kill bumps the memory peaks."""
        inserted = 0
        new_ooms: list[tuple[ContainerEntry, float]] = []
        with self._transaction() as db:
            for termination in terminations:
                entry = self.catalog.container(db, termination.key, None)
                finished = _seconds(termination.finished_at)
                seq = self._termination_seq + inserted + 1
                cursor = db.execute(
                    "INSERT OR IGNORE INTO terminations VALUES (?, ?, ?, ?, ?, ?)",
                    (entry.id, finished, termination.reason, termination.restart_count, seq, self.newest_seconds),
                )
                if cursor.rowcount == 1:
                    inserted += 1
                    if termination.reason == OOM_REASON:
                        new_ooms.append((entry, finished))
            self._write_meta("termination_seq", self._termination_seq + inserted)
        self._termination_seq += inserted
        for entry, finished in new_ooms:
            self._apply_oom(entry, finished)
        return inserted

    def _apply_oom(self, entry: ContainerEntry, finished: float) -> None:
        aggregate = self.aggregates.get(entry.id)
        if aggregate is None:
            aggregate = self.aggregates[entry.id] = ContainerAggregate()
        if aggregate.record_oom(finished, self._memory_request(entry)):
            self._dirty.add(entry.id)

    def _memory_request(self, entry: ContainerEntry) -> int | None:
        if entry.memory_request_bytes is None:
            row = self.connection.execute(
                "SELECT memory_request_bytes FROM samples WHERE container_id = ? ORDER BY ts DESC LIMIT 1", (entry.id,)
            ).fetchone()
            entry.memory_request_bytes = None if row is None else row[0]
        return entry.memory_request_bytes

    def record_replicas(self, workload: ObjectRef, timestamp: datetime, replicas: int, desired: int | None) -> int:
        """Store a change point of the workload's replicas; an unchanged value is not stored again."""
        moment = _seconds(timestamp)
        with self._transaction() as db:
            workload_id = self.catalog.workload_id(db, workload)
            last = self._last_replica_point(workload_id)
            if last is not None and moment >= last[0] and (last[1], last[2]) == (replicas, desired):
                return 0
            cursor = db.execute(
                "INSERT OR IGNORE INTO replicas VALUES (?, ?, ?, ?)", (workload_id, moment, replicas, desired)
            )
        if cursor.rowcount == 1 and (last is None or moment >= last[0]):
            self._last_replicas[workload_id] = (moment, replicas, desired)
        return max(cursor.rowcount, 0)

    def _last_replica_point(self, workload_id: int) -> tuple[float, int, int | None] | None:
        if workload_id not in self._last_replicas:
            row = self.connection.execute(
                "SELECT ts, replicas, desired FROM replicas WHERE workload_id = ? ORDER BY ts DESC LIMIT 1",
                (workload_id,),
            ).fetchone()
            if row is None:
                return None
            self._last_replicas[workload_id] = (row[0], row[1], row[2])
        return self._last_replicas[workload_id]

    # ------------------------------------------------------------------ maintenance (sample time)
    def maintain(self) -> None:
        """Roll up closed buckets; prune and checkpoint when their interval has passed in sample time."""
        now = self.newest_seconds
        if now is None:
            return
        self.roll_up()
        if self._last_prune_seconds is None or now - self._last_prune_seconds >= self.retention.prune_interval_seconds:
            self.prune()
        last_checkpoint = self._last_checkpoint_seconds
        if last_checkpoint is None or now - last_checkpoint >= self.retention.checkpoint_interval_seconds:
            self.checkpoint()

    def roll_up(self) -> int:
        """Roll up every 5-minute bucket that closed since the last call; returns the buckets written."""
        if self.newest_seconds is None:
            return 0
        closed_until = bucket_start(self.newest_seconds - ROLLUP_GRACE_SECONDS, ROLLUP_SECONDS)
        start = self.rolled_until_seconds
        if start is None:
            start = self._next_bucket_with_data(float("-inf"))
        written = 0
        while start is not None and start < closed_until:
            with self._transaction() as db:
                roll_up_bucket(db, start)
                self.rolled_until_seconds = start + ROLLUP_SECONDS
                self._write_meta("rolled_until", self.rolled_until_seconds)
            written += 1
            start = self._next_bucket_with_data(start + ROLLUP_SECONDS)
        if start is None or start >= closed_until:  # nothing left to roll: skip the empty stretch
            self._skip_rolled_until(closed_until)
        return written

    def _skip_rolled_until(self, closed_until: float) -> None:
        if self.rolled_until_seconds is None or self.rolled_until_seconds < closed_until:
            with self._transaction():
                self.rolled_until_seconds = closed_until
                self._write_meta("rolled_until", closed_until)

    def _next_bucket_with_data(self, since: float) -> float | None:
        firsts = [
            self.connection.execute(f"SELECT MIN(ts) FROM {table} WHERE ts >= ?", (since,)).fetchone()[0]
            for table in ("samples", "workload_samples", "node_samples")
        ]
        present = [first for first in firsts if first is not None]
        return bucket_start(min(present), ROLLUP_SECONDS) if present else None

    def prune(self) -> None:
        """Apply retention in sample time; raw samples are never dropped before they are rolled up."""
        now = self.newest_seconds
        if now is None:
            return
        raw_cutoff = now - self.retention.raw_seconds
        if self.rolled_until_seconds is not None:
            raw_cutoff = min(raw_cutoff, self.rolled_until_seconds)
        else:
            raw_cutoff = float("-inf")
        long_cutoff = now - self.retention.rollup_seconds
        expired = {cid for cid, agg in self.aggregates.items() if _expired(agg, now)}
        with self._transaction() as db:
            for table in ("samples", "workload_samples", "node_samples"):
                db.execute(f"DELETE FROM {table} WHERE ts < ?", (raw_cutoff,))
            db.execute("DELETE FROM rollups WHERE bucket < ?", (long_cutoff,))
            db.execute("DELETE FROM terminations WHERE finished_at < ?", (long_cutoff,))
            # Keep each workload's last change before the cutoff: it is the value at the window's start.
            db.execute(
                "DELETE FROM replicas WHERE ts < ? AND ts < "
                "(SELECT MAX(r.ts) FROM replicas r WHERE r.workload_id = replicas.workload_id AND r.ts < ?)",
                (long_cutoff, long_cutoff),
            )
            db.executemany("DELETE FROM histograms WHERE container_id = ?", [(cid,) for cid in expired])
        for container_id in expired:
            del self.aggregates[container_id]
            self._dirty.discard(container_id)
        self._last_prune_seconds = now

    def checkpoint(self) -> int:
        """Persist the aggregates changed since the last checkpoint; returns how many were written."""
        seq = self._termination_seq
        rows = [
            (cid, _replay_from(self.aggregates[cid]), json.dumps(self.aggregates[cid].to_checkpoint()), seq)
            for cid in self._dirty
            if cid in self.aggregates
        ]
        if rows:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO histograms VALUES (?, ?, ?, ?)", rows)
        self._dirty.clear()
        self._last_checkpoint_seconds = self.newest_seconds
        return len(rows)

    # ------------------------------------------------------------------ recovery
    def _load_checkpoints(self) -> None:
        rows = self.connection.execute("SELECT container_id, state, termination_seq FROM histograms")
        for container_id, state, seq in rows:
            self.aggregates[container_id] = ContainerAggregate.from_checkpoint(json.loads(state))
            self._checkpoint_seqs[container_id] = seq

    def _replay(self) -> None:
        """Fold in what was committed after each container's checkpoint: samples, and OOM kills where they arrived."""
        ooms: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
        rows = self.connection.execute(
            "SELECT container_id, seq, recorded_now, finished_at FROM terminations WHERE reason = ? ORDER BY seq",
            (OOM_REASON,),
        )
        for container_id, seq, recorded_now, finished in rows:
            if seq > self._checkpoint_seqs.get(container_id, 0):
                ooms[container_id].append((seq, float("-inf") if recorded_now is None else recorded_now, finished))
        for entry in list(self.catalog.containers_by_id.values()):
            self._replay_container(entry, ooms.get(entry.id, []))
        self._checkpoint_seqs.clear()

    def _replay_container(self, entry: ContainerEntry, pending_ooms: list[tuple[int, float, float]]) -> None:
        aggregate = self.aggregates.get(entry.id)
        since = float("-inf") if aggregate is None else _replay_from(aggregate)
        samples = self.connection.execute(
            "SELECT ts, cpu_millicores, memory_bytes, cpu_request_millicores, memory_request_bytes "
            "FROM samples WHERE container_id = ? AND ts >= ? ORDER BY ts",
            (entry.id, since),
        ).fetchall()
        if not samples and not pending_ooms:
            return
        if aggregate is None:
            aggregate = self.aggregates[entry.id] = ContainerAggregate()
        if pending_ooms:  # the request in force before the replayed samples sizes an early OOM's bump
            entry.memory_request_bytes = self._request_before(entry.id, since)
        for timestamp, cpu, memory, cpu_request, memory_request in samples:
            while pending_ooms and pending_ooms[0][1] < timestamp:  # it arrived before this sample
                aggregate.record_oom(pending_ooms.pop(0)[2], entry.memory_request_bytes)
            aggregate.add_cpu(timestamp, cpu, cpu_request)
            aggregate.add_memory(timestamp, memory)
            entry.memory_request_bytes = memory_request
        for _, _, finished in pending_ooms:
            aggregate.record_oom(finished, entry.memory_request_bytes)
        self._dirty.add(entry.id)

    def _request_before(self, container_id: int, since: float) -> int | None:
        row = self.connection.execute(
            "SELECT memory_request_bytes FROM samples WHERE container_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (container_id, since),
        ).fetchone()
        return None if row is None else int(row[0]) if row[0] is not None else None


def _replay_from(aggregate: ContainerAggregate) -> float:
    """Samples at or after this time may be missing from the aggregate (both resources dedup the rest)."""
    lasts = [t for t in (aggregate.last_cpu_sample_seconds, aggregate.last_memory_sample_seconds) if t is not None]
    return min(lasts) if lasts else float("-inf")


def _expired(aggregate: ContainerAggregate, now: float) -> bool:
    """VPA drops an aggregate with no sample for a whole memory window (8 days)."""
    last = aggregate.last_sample_seconds()
    return last is not None and now - last >= MEMORY_AGGREGATION_WINDOW_SECONDS
