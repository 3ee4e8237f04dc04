"""kill -9 in the middle of writing: the database stays consistent and keeps every committed batch, whole."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from k8s_optimizer.history.schema import DATABASE_FILE
from k8s_optimizer.history.store import HistoryStore
from tests.history.factories import DAY, T0, WEB

REPO_ROOT = Path(__file__).resolve().parents[2]
PER_BATCH = 400


def _start_writer(data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "backend"), str(REPO_ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.history.crash_writer", str(data_dir), str(PER_BATCH)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_reports_then_kill(child: subprocess.Popen[str], batches: int) -> int:
    """Wait for `batches` committed batches, then SIGKILL the writer mid-stream; returns the last reported."""
    assert child.stdout is not None
    last = -1
    deadline = time.monotonic() + 60
    while last < batches - 1 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        last = int(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    return last


async def test_kill_9_mid_write_keeps_every_committed_batch(tmp_path: Path) -> None:
    child = _start_writer(tmp_path)
    last_reported = _read_reports_then_kill(child, batches=30)
    assert child.returncode == -signal.SIGKILL
    assert last_reported >= 29

    with closing(sqlite3.connect(tmp_path / DATABASE_FILE)) as connection, connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        per_batch = connection.execute("SELECT ts, COUNT(*) FROM samples GROUP BY ts ORDER BY ts").fetchall()
    batches = len(per_batch)
    assert batches >= last_reported + 1  # every reported batch is there (one more may have committed unreported)
    assert [ts for ts, _ in per_batch] == [T0 + 15 * index for index in range(batches)]
    assert {count for _, count in per_batch} == {PER_BATCH}  # no torn batch

    store = await HistoryStore.open(tmp_path)  # replays past the last checkpoint
    newest = T0 + 15 * (batches - 1)
    assert await store.now_seconds() == newest
    history = await store.workload_history(WEB, window_seconds=DAY, now_seconds=newest)
    pods = history.containers["app"]
    assert len(pods) == PER_BATCH
    for pod in pods:
        assert len(pod.cpu_millicores) == batches
        assert pod.cpu_histogram is not None
        assert pod.cpu_histogram.total_samples == batches  # every committed sample is in the histogram once
        assert pod.cpu_histogram.last_sample_seconds == newest
    await store.close()
