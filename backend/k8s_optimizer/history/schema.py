"""The history database's tables and connection settings, in one place.

Why these keys: every sample table's primary key is (series, sample timestamp) in some order, and timestamps are the
metrics API's own, so re-recording a sample (a retry, a second replica scraping the same
metrics-server, a replay after a crash) is a no-op (`INSERT OR IGNORE`) instead of a duplicate.
WITHOUT ROWID tables keep those keys clustered, so a series' window is one range scan.

Why these pragmas: WAL lets readers run while the writer commits; synchronous=NORMAL in WAL mode
never corrupts the database on a crash (the last commits may be lost on power failure, not on a
process kill); a busy timeout rides out a checkpoint by another connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2  # 2: samples clustered by (ts, container_id)
DATABASE_FILE = "history.sqlite3"

# Rollup scopes: whose series a row of `rollups` summarises.
SCOPE_CONTAINER = 0  # owner = containers.id, part = ''
SCOPE_WORKLOAD = 1  # owner = workloads.id, part = container name, or '' for the whole pod template
SCOPE_NODE = 2  # owner = nodes.id, part = ''

METRIC_CPU = 0  # millicores
METRIC_MEMORY = 1  # bytes

_DDL = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS workloads (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        UNIQUE (kind, namespace, name))""",
    """CREATE TABLE IF NOT EXISTS containers (
        id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, pod TEXT NOT NULL, container TEXT NOT NULL,
        workload_id INTEGER REFERENCES workloads (id), UNIQUE (namespace, pod, container))""",
    """CREATE INDEX IF NOT EXISTS containers_by_workload ON containers (workload_id)""",
    """CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)""",
    # Clustered by time: rolling up a 5-minute bucket and pruning are range scans; a container's own
    # series goes through the (container_id, ts) index.
    """CREATE TABLE IF NOT EXISTS samples (
        ts REAL NOT NULL, container_id INTEGER NOT NULL, cpu_millicores REAL NOT NULL,
        memory_bytes INTEGER NOT NULL, cpu_request_millicores INTEGER, memory_request_bytes INTEGER,
        PRIMARY KEY (ts, container_id)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS samples_by_container ON samples (container_id, ts)""",
    # Per scrape, the sum over a workload's pods: part = container name, or '' for all containers.
    """CREATE TABLE IF NOT EXISTS workload_samples (
        workload_id INTEGER NOT NULL, part TEXT NOT NULL, ts REAL NOT NULL, cpu_millicores REAL NOT NULL,
        memory_bytes INTEGER NOT NULL, pods INTEGER NOT NULL, PRIMARY KEY (workload_id, part, ts)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS workload_samples_by_ts ON workload_samples (ts)""",
    """CREATE TABLE IF NOT EXISTS node_samples (
        node_id INTEGER NOT NULL, ts REAL NOT NULL, cpu_millicores REAL NOT NULL, memory_bytes INTEGER NOT NULL,
        PRIMARY KEY (node_id, ts)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS node_samples_by_ts ON node_samples (ts)""",
    # Change points only: the replica count is a step function.
    """CREATE TABLE IF NOT EXISTS replicas (
        workload_id INTEGER NOT NULL, ts REAL NOT NULL, replicas INTEGER NOT NULL, desired INTEGER,
        PRIMARY KEY (workload_id, ts)) WITHOUT ROWID""",
    # seq orders arrivals; recorded_now is the newest sample time when it arrived (where replay puts it).
    """CREATE TABLE IF NOT EXISTS terminations (
        container_id INTEGER NOT NULL, finished_at REAL NOT NULL, reason TEXT NOT NULL,
        restart_count INTEGER NOT NULL, seq INTEGER NOT NULL, recorded_now REAL,
        PRIMARY KEY (container_id, finished_at)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rollups (
        scope INTEGER NOT NULL, owner_id INTEGER NOT NULL, part TEXT NOT NULL, metric INTEGER NOT NULL,
        bucket REAL NOT NULL, samples INTEGER NOT NULL, min REAL NOT NULL, avg REAL NOT NULL,
        max REAL NOT NULL, p95 REAL NOT NULL,
        PRIMARY KEY (scope, owner_id, part, metric, bucket)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS rollups_by_bucket ON rollups (bucket)""",
    # VPA state per container (analysis.histogram.ContainerAggregate.to_checkpoint as JSON), with the
    # sample time and termination seq it includes: replay starts after them.
    """CREATE TABLE IF NOT EXISTS histograms (
        container_id INTEGER PRIMARY KEY, last_sample_ts REAL, state TEXT NOT NULL,
        termination_seq INTEGER NOT NULL)""",
)


class SchemaError(RuntimeError):
    """The database was written by an incompatible version of the store."""


def connect(data_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the history database with the store's pragmas and tables."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DATABASE_FILE
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")
    connection.execute("PRAGMA temp_store=MEMORY")
    connection.execute("BEGIN IMMEDIATE")
    try:
        _check_version(connection, path)  # before any DDL: never touch another version's tables
        for statement in _DDL:
            connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        connection.close()
        raise
    return connection


def _check_version(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute(_DDL[0])  # meta
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        connection.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif int(row[0]) != SCHEMA_VERSION:
        raise SchemaError(
            f"history database {path} has schema {row[0]}, this version needs {SCHEMA_VERSION}: "
            "move the file away (history restarts from the next scrape)"
        )
