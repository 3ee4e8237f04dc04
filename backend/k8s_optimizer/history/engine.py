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
import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from k8s_optimizer.analysis.histogram import MEMORY_AGGREGATION_WINDOW_SECONDS, ContainerAggregate
from k8s_optimizer.domain.objects import ObjectRef
from k8s_optimizer.domain.usage import NodeUsage, ScrapedContainer, Termination
from k8s_optimizer.history.catalog import Catalog, ContainerEntry
from k8s_optimizer.history.recovery import OOM_REASON, load_checkpoints, replay, replay_from
from k8s_optimizer.history.rollups import ROLLUP_GRACE_SECONDS, ROLLUP_SECONDS, bucket_start, roll_up_bucket
from k8s_optimizer.history.schema import SCOPE_CONTAINER, connect
from k8s_optimizer.history.sums import WorkloadSums

logger = logging.getLogger(__name__)

ROLLUP_RETENTION_SECONDS = 14 * 86400.0  # rollups, replica changes and terminations
CHECKPOINT_INTERVAL_SECONDS = 300.0  # sample time between histogram checkpoints
PRUNE_INTERVAL_SECONDS = 600.0  # sample time between retention passes
CHECKPOINT_BATCH = 2500  # aggregates written per maintenance pass (~50 ms)
CHECKPOINT_STEP = 500  # aggregates per step of a pass: what a scrape may have to wait behind
# Catching up after a gap happens a few buckets per pass, so scrapes are not held up for long.
ROLLUP_BUCKETS_PER_PASS = 4


@dataclass(frozen=True, slots=True)
class Retention:
    raw_seconds: float = 86400.0
    rollup_seconds: float = ROLLUP_RETENTION_SECONDS
    checkpoint_interval_seconds: float = CHECKPOINT_INTERVAL_SECONDS
    prune_interval_seconds: float = PRUNE_INTERVAL_SECONDS
    checkpoint_batch: int = CHECKPOINT_BATCH
    checkpoint_step: int = CHECKPOINT_STEP


@dataclass(slots=True)
class _ScrapeBatch:
    sample_rows: list[tuple[float, int, float, int, int | None, int | None]] = field(default_factory=list)
    workload_newest: dict[int, float] = field(default_factory=dict)  # workload id -> newest sample in the batch
    applied: list[tuple[ContainerEntry, ScrapedContainer, float]] = field(default_factory=list)


def _valid(cpu_millicores: float, memory_bytes: float) -> bool:
    """Usage is finite and non-negative; anything else would poison sums and histograms."""
    return math.isfinite(cpu_millicores) and math.isfinite(memory_bytes) and cpu_millicores >= 0 <= memory_bytes


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


class HistoryEngine:
    """Owns the connection and the per-container VPA aggregates; call only from the writer thread."""

    def __init__(self, connection: sqlite3.Connection, retention: Retention) -> None:
        self.connection = connection
        self.retention = retention
        self.catalog = Catalog()
        self.aggregates: dict[int, ContainerAggregate] = {}
        self._dirty: set[int] = set()  # aggregates changed since their last checkpoint
        self._checkpoint_queue: list[int] = []  # the current checkpoint pass, written a slice at a time
        self._last_replicas: dict[int, tuple[float, int, int | None]] = {}
        self._sums = WorkloadSums()
        self._termination_seq = 0  # arrivals so far; a checkpoint includes every OOM up to it
        self.newest_seconds: float | None = None
        self.rolled_until_seconds: float | None = None
        self._last_checkpoint_seconds: float | None = None
        self._last_prune_seconds: float | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, data_dir: Path, retention: Retention) -> HistoryEngine:
        engine = cls(connect(data_dir), retention)
        try:
            engine._reload_committed_state()
            engine.aggregates, checkpoint_seqs = load_checkpoints(engine.connection)
            engine._dirty |= replay(engine.connection, engine.catalog, engine.aggregates, checkpoint_seqs)
        except BaseException:
            engine.connection.close()  # a damaged file is moved aside next (history/healing.py)
            raise
        engine._last_checkpoint_seconds = engine.newest_seconds
        return engine

    def close(self) -> None:
        try:
            self.checkpoint()
            self.connection.execute("PRAGMA optimize")  # SQLite's advice for long-lived connections, on close
        finally:
            self.connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            self._reload_committed_state()
            raise
        self.connection.execute("COMMIT")

    def _reload_committed_state(self) -> None:
        """After a rollback, forget what the failed transaction set in memory (ids, now, rolled-up mark)."""
        self.catalog = Catalog()
        self.catalog.load(self.connection)
        self.newest_seconds = self._read_meta("newest_ts")
        self.rolled_until_seconds = self._read_meta("rolled_until")
        self._termination_seq = int(self._read_meta("termination_seq") or 0)
        self._last_replicas.clear()
        self._sums.clear()

    def _read_meta(self, key: str) -> float | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def _write_meta(self, key: str, value: float) -> None:
        self.connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, repr(value)))

    def _advance_now(self, timestamp: float) -> None:
        if self.newest_seconds is None or timestamp > self.newest_seconds:
            self.newest_seconds = timestamp
            self._write_meta("newest_ts", timestamp)

    def typical_interval_seconds(self) -> float | None:
        return self._sums.typical_interval_seconds()

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
            # REPLACE: a later, fuller view of the same instant wins (each sum covers every current container)
            db.executemany(
                "INSERT OR REPLACE INTO workload_samples VALUES (?, ?, ?, ?, ?, ?)",
                self._sums.rows(batch.workload_newest),
            )
            node_rows = [
                (self.catalog.node_id(db, n.node), _seconds(n.timestamp), n.cpu_millicores, n.memory_bytes)
                for n in nodes
            ]
            db.executemany("INSERT OR IGNORE INTO node_samples VALUES (?, ?, ?, ?)", node_rows)
            stamps = [row[0] for row in batch.sample_rows] + [row[1] for row in node_rows]
            if stamps:
                self._advance_now(max(stamps))
        self._apply_to_aggregates(batch)
        return inserted

    def _prepare(self, db: sqlite3.Connection, containers: Sequence[ScrapedContainer]) -> _ScrapeBatch:
        batch = _ScrapeBatch()
        valid: list[ScrapedContainer] = []
        for scraped in containers:
            if _valid(scraped.usage.cpu_millicores, scraped.usage.memory_bytes):
                valid.append(scraped)
            else:
                logger.warning("dropping an impossible sample: %s", scraped.usage)
        entries = self.catalog.resolve(db, [(scraped.usage.key, scraped.workload) for scraped in valid])
        for scraped, entry in zip(valid, entries, strict=True):
            usage = scraped.usage
            timestamp = _seconds(usage.timestamp)
            batch.sample_rows.append(
                (
                    timestamp,
                    entry.id,
                    usage.cpu_millicores,
                    usage.memory_bytes,
                    scraped.cpu_request_millicores,
                    scraped.memory_request_bytes,
                )
            )
            self._sums.remember(entry, timestamp, usage.cpu_millicores, usage.memory_bytes)
            newest = batch.workload_newest.get(entry.workload_id)
            batch.workload_newest[entry.workload_id] = timestamp if newest is None else max(newest, timestamp)
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
        for _ in self.maintenance_steps():
            pass

    def maintenance_steps(self) -> Iterator[str]:
        """`maintain()` as a series of steps, each one short transaction (a bucket, a prune, a checkpoint slice).

        The store runs one step at a time and lets a waiting scrape go first, so a scrape never waits
        behind a whole pass (at 10,000 containers a pass after a gap measured 250-500 ms).
        """
        if self.newest_seconds is None:
            return
        for _ in range(ROLLUP_BUCKETS_PER_PASS):
            if self.roll_up(max_buckets=1) == 0:
                break
            yield "rollup"
        now = self.newest_seconds
        if self._last_prune_seconds is None or now - self._last_prune_seconds >= self.retention.prune_interval_seconds:
            self.prune()
            yield "prune"
        last_checkpoint = self._last_checkpoint_seconds
        due = last_checkpoint is None or now - last_checkpoint >= self.retention.checkpoint_interval_seconds
        if due and not self._checkpoint_queue:
            self._checkpoint_queue = sorted(self._dirty)
            self._last_checkpoint_seconds = now
        # A slice per pass, so a scrape never waits behind 10,000 of them; written in smaller steps.
        budget = self.retention.checkpoint_batch
        while self._checkpoint_queue and budget > 0:
            size = min(budget, self.retention.checkpoint_step)
            batch = self._checkpoint_queue[:size]
            del self._checkpoint_queue[:size]
            budget -= size
            self._write_checkpoints(batch)
            yield "checkpoint"

    def roll_up(self, max_buckets: int | None = None) -> int:
        """Roll up the 5-minute buckets that closed since the last call (at most `max_buckets`); returns how many."""
        if self.newest_seconds is None:
            return 0
        closed_until = bucket_start(self.newest_seconds - ROLLUP_GRACE_SECONDS, ROLLUP_SECONDS)
        start = self.rolled_until_seconds
        if start is None:
            start = self._next_bucket_with_data(float("-inf"))
        written = 0
        while start is not None and start < closed_until and (max_buckets is None or written < max_buckets):
            with self._transaction() as db:
                roll_up_bucket(db, start)
                self.rolled_until_seconds = start + ROLLUP_SECONDS
                self._write_meta("rolled_until", self.rolled_until_seconds)
            written += 1
            start = self._next_bucket_with_data(start + ROLLUP_SECONDS)
        if start is None or start >= closed_until:  # nothing left to roll up: skip the empty stretch
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
            in_memory = json.dumps(sorted(self.aggregates))
            forgotten = {row[0] for row in db.execute(_FORGET_CONTAINERS, (in_memory, SCOPE_CONTAINER))}
        self.catalog.forget_container_ids(forgotten)
        self._last_prune_seconds = now

    def checkpoint(self) -> int:
        """Persist every aggregate changed since it was last checkpointed; returns how many were written."""
        self._checkpoint_queue = []
        self._last_checkpoint_seconds = self.newest_seconds
        return self._write_checkpoints(sorted(self._dirty))

    def _write_checkpoints(self, container_ids: list[int]) -> int:
        seq = self._termination_seq  # every OOM up to here is already folded into every aggregate
        rows = [
            (cid, replay_from(self.aggregates[cid]), json.dumps(self.aggregates[cid].to_checkpoint()), seq)
            for cid in container_ids
            if cid in self._dirty and cid in self.aggregates
        ]
        if rows:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO histograms VALUES (?, ?, ?, ?)", rows)
        self._dirty.difference_update(container_ids)
        return len(rows)


# A container with nothing left (its pod long gone): no samples, rollups, terminations or histogram.
_FORGET_CONTAINERS = """
    DELETE FROM containers WHERE id NOT IN (SELECT value FROM json_each(?))
    AND NOT EXISTS (SELECT 1 FROM histograms h WHERE h.container_id = containers.id)
    AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.container_id = containers.id)
    AND NOT EXISTS (SELECT 1 FROM rollups r WHERE r.scope = ? AND r.owner_id = containers.id)
    AND NOT EXISTS (SELECT 1 FROM terminations t WHERE t.container_id = containers.id)
    RETURNING id"""


def _expired(aggregate: ContainerAggregate, now: float) -> bool:
    """VPA drops an aggregate with no sample for a whole memory window (8 days)."""
    last = aggregate.last_sample_seconds()
    return last is not None and now - last >= MEMORY_AGGREGATION_WINDOW_SECONDS
