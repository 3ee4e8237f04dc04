"""SIGKILL the whole backend process while it scrapes, start it again on the same data dir.

HISTORY's tests/history/test_crash.py kills a writer of the store alone; this kills `k8s-optimizer serve`
(uvicorn, watches, the collector and the analysis thread all live) three times at different points of
the 0.5 s scrape cycle, so at least some kills land mid-scrape/mid-commit. After each restart every row
committed before the kill (read from the database by a separate read-only connection just before the
signal) must still be there, SQLite must report no corruption, and no primary key may occur twice.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.dashboard_servers import BackendServer
from tests.reliability.stack import NAMESPACE, get_json, wait_until
from tests.simcluster import SimCluster

SCRAPE_SECONDS = 0.5
SIM_SPEED = 10.0
KILL_OFFSETS_SECONDS = (0.0, 0.17, 0.33)  # phase of the kill inside the scrape cycle, per round
# table -> its primary key columns (history/schema.py)
KEYS = {
    "samples": ("ts", "container_id"),
    "workload_samples": ("workload_id", "part", "ts"),
    "node_samples": ("node_id", "ts"),
}

pytestmark = pytest.mark.slow


def _read_keys(database: Path) -> dict[str, set[tuple[object, ...]]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        return {
            table: set(connection.execute(f"SELECT {', '.join(columns)} FROM {table}"))
            for table, columns in KEYS.items()
        }


def _sample_count(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
            return int(connection.execute("SELECT count(*) FROM samples").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not created yet


def _assert_sound(database: Path) -> None:
    with sqlite3.connect(database, timeout=10) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for table, columns in KEYS.items():
            total, distinct = connection.execute(
                f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {', '.join(columns)} FROM {table}))"
                f" FROM {table}"
            ).fetchone()
            assert total == distinct, f"{table}: {total} rows but {distinct} distinct keys"


def _kill_mid_scrape(
    backend: BackendServer, database: Path, offset_seconds: float
) -> dict[str, set[tuple[object, ...]]]:
    before = _sample_count(database)
    assert wait_until(lambda: _sample_count(database) > before, 20, 0.05), backend.stderr
    time.sleep(offset_seconds)  # a sample batch just committed: now land somewhere in the next cycle
    committed = _read_keys(database)
    assert backend.process is not None
    backend.process.send_signal(signal.SIGKILL)
    backend.process.wait(10)
    assert backend.stop() == -signal.SIGKILL
    return committed


def test_sigkill_mid_scrape_loses_no_committed_sample(tmp_path: Path) -> None:
    database = tmp_path / "data" / "history.sqlite3"
    # speed 10: the embedded metrics-server renders a new 15 s sample every 1.5 real seconds, so most
    # scrapes write new rows (at speed 1 most would be de-duplicated no-ops and nothing would be mid-commit).
    with SimCluster.start(scenario="demo", speed=SIM_SPEED) as sim:
        backend = BackendServer(
            sim.kubeconfig, tmp_path / "data", extra_env={"OPTIMIZER_METRICS_INTERVAL_SECONDS": str(SCRAPE_SECONDS)}
        )
        committed: dict[str, set[tuple[object, ...]]] = {table: set() for table in KEYS}
        try:
            for offset in KILL_OFFSETS_SECONDS:
                backend.start_and_wait()
                round_keys = _kill_mid_scrape(backend, database, offset)
                assert round_keys["samples"] - committed["samples"], "nothing new was committed before the kill"
                for table, keys in round_keys.items():
                    committed[table] |= keys
                _assert_sound(database)  # recovery is SQLite's job; the file must be sound even before restart
            backend.start_and_wait()
            before_last = _sample_count(database)
            assert wait_until(lambda: _sample_count(database) > before_last, 20, 0.1), backend.stderr
            status, series = get_json(
                f"{backend.url}/api/v1/metrics/timeseries?target=Deployment/{NAMESPACE}/echo-demo&metric=cpu&window=30m"
            )
        finally:
            backend.stop()
        after = _read_keys(database)
    assert status == 200, series
    assert series["total"], "the timeseries endpoint lost the history"
    for table, keys in committed.items():
        assert keys <= after[table], f"{table}: {len(keys - after[table])} committed rows lost"
    _assert_sound(database)
