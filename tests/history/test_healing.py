"""A damaged history database is moved aside and the store starts fresh (issue 14, finding 6).

The damage is real: bytes of a database the store itself wrote are truncated or overwritten on disk.
Before the fix the first two made `HistoryStore.open` raise (the backend exited at start: on
Kubernetes a CrashLoopBackOff), and damage found later was logged every maintenance cycle while
`/health` said healthy.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from k8s_optimizer.history.healing import is_damage
from k8s_optimizer.history.schema import DATABASE_FILE
from k8s_optimizer.history.store import HistoryStore
from tests.api.test_limits import UNREACHABLE_KUBECONFIG
from tests.dashboard_servers import BackendServer
from tests.history.factories import T0, WEB, two_pod_scrape

DAMAGED_NAME = re.compile(re.escape(DATABASE_FILE) + r"\.damaged-\d{8}T\d{12}Z")


async def _filled(data_dir: Path, scrapes: int) -> None:
    store = await HistoryStore.open(data_dir)
    for step in range(scrapes):
        await store.record_scrape(two_pod_scrape(T0 + 15 * step, step), [])
    await store.close()


def _damaged_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.iterdir() if DAMAGED_NAME.fullmatch(p.name))


async def _still_works(store: HistoryStore) -> None:
    assert await store.record_scrape(two_pod_scrape(T0 + 1e6, 1), []) == 2
    history = await store.workload_history(WEB, window_seconds=3600, now_seconds=T0 + 1e6)
    assert sorted(history.containers) == ["app"]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncated", "database disk image is malformed"),
        ("bad-header", "file is not a database"),
    ],
)
async def test_a_database_damaged_at_rest_is_moved_aside_at_open(tmp_path: Path, damage: str, reason: str) -> None:
    await _filled(tmp_path, 400)
    path = tmp_path / DATABASE_FILE
    data = path.read_bytes()
    damaged = data[: len(data) // 3] if damage == "truncated" else b"\xff" * 100 + data[100:]
    path.write_bytes(damaged)

    store = await HistoryStore.open(tmp_path)  # raised before: the backend exited at start
    try:
        (moved,) = _damaged_files(tmp_path)
        assert moved.read_bytes() == damaged  # kept byte for byte: nothing is deleted
        (recovery,) = store.recoveries
        assert (recovery.moved_to, recovery.reason) == (moved, reason)
        assert store.problem == (
            f"history database was damaged ({reason}); moved aside to {moved.name} "
            f"at {recovery.at:%Y-%m-%dT%H:%M:%SZ} and started fresh"
        )
        assert await store.now_seconds() is None  # a fresh database
        await _still_works(store)
    finally:
        await store.close()


async def test_a_healthy_database_is_never_moved(tmp_path: Path) -> None:
    await _filled(tmp_path, 40)
    store = await HistoryStore.open(tmp_path)
    try:
        assert (store.recoveries, store.problem, _damaged_files(tmp_path)) == ([], None, [])
        assert await store.now_seconds() == T0 + 15 * 39
    finally:
        await store.close()


async def test_damage_found_while_running_heals_at_a_safe_point(tmp_path: Path) -> None:
    """The middle of the file is overwritten under a running store; a full read finds it."""
    await _filled(tmp_path, 3000)
    store = await HistoryStore.open(tmp_path)
    try:
        path = tmp_path / DATABASE_FILE
        size = path.stat().st_size
        with path.open("r+b") as handle:  # every page but the first third, header and schema untouched
            handle.seek(size // 3)
            handle.write(b"\x0d" * (size - size // 3))
        store._engine.connection.execute("PRAGMA shrink_memory")  # drop cached pages: read from disk
        with pytest.raises(sqlite3.DatabaseError) as found:
            await store.all_workload_histories(30 * 86400, T0 + 15 * 3000, include_series=True)
        assert is_damage(found.value)
        for _ in range(100):  # the recovery is queued on the writer thread behind the failed read
            if store.recoveries:
                break
            await asyncio.sleep(0.02)
        (recovery,) = store.recoveries
        assert recovery.reason == str(found.value)
        assert _damaged_files(tmp_path) == [recovery.moved_to]
        assert store.problem == recovery.describe()
        assert recovery.describe().startswith(f"history database was damaged ({found.value})")
        await _still_works(store)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("error", "damage"),
    [
        (sqlite3.DatabaseError("database disk image is malformed"), True),
        (sqlite3.DatabaseError("file is not a database"), True),
        (sqlite3.OperationalError("database is locked"), False),
        (sqlite3.OperationalError("disk I/O error"), False),
        (OSError("no space left on device"), False),
    ],
)
def test_only_sqlites_damage_verdicts_count(error: BaseException, damage: bool) -> None:
    assert is_damage(error) is damage


def test_the_backend_starts_on_a_damaged_database_and_says_so(tmp_path: Path) -> None:
    """The restart of the finding: `k8s-optimizer serve` on a data dir whose database lost its header."""
    asyncio.run(_filled(tmp_path / "data", 40))
    path = tmp_path / "data" / DATABASE_FILE
    path.write_bytes(b"\x00" * 100 + path.read_bytes()[100:])
    (tmp_path / "kubeconfig").write_text(UNREACHABLE_KUBECONFIG)
    backend = BackendServer(tmp_path / "kubeconfig", tmp_path / "data")
    backend.start_and_wait()  # exited with a traceback before
    try:
        health = httpx.get(f"{backend.url}/health").json()
        (moved,) = _damaged_files(tmp_path / "data")
        assert health["status"] == "degraded"
        assert health["checks"]["history"]["healthy"] is False
        assert health["checks"]["history"]["detail"].startswith(
            f"history database was damaged (file is not a database); moved aside to {moved.name} at "
        )
        metrics = httpx.get(f"{backend.url}/metrics").text
        assert "optimizer_history_recoveries 1\n" in metrics
    finally:
        backend.stop()
