"""The audit log of every apply and rollback: who (token id), when, what, before and after.

Kept in its own small SQLite file beside the history store, so the record survives restarts and a
rollback can still find what an apply replaced. The undo patch is stored with the change (and on the
object as an annotation), because the history store only keeps usage, not object specs. Writes are
rare and tiny; callers run them in a thread to keep the event loop free.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from k8s_optimizer.api.schemas import ChangeRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    record TEXT NOT NULL,
    undo TEXT NOT NULL
)
"""


class AuditLog:
    """Append-mostly store of ChangeRecords; `path=None` keeps it in memory (tests)."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, record: ChangeRecord, undo: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO changes (id, at, record, undo) VALUES (?, ?, ?, ?)",
                (record.id, record.at.isoformat(), record.model_dump_json(), json.dumps(undo)),
            )

    def replace(self, record: ChangeRecord) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE changes SET record = ? WHERE id = ?", (record.model_dump_json(), record.id))

    def get(self, change_id: str) -> tuple[ChangeRecord, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT record, undo FROM changes WHERE id = ?", (change_id,)).fetchone()
        if row is None:
            return None
        return ChangeRecord.model_validate_json(row[0]), json.loads(row[1])

    def list(self, limit: int, offset: int) -> tuple[list[ChangeRecord], int]:
        """Newest first."""
        with self._lock:
            total = int(self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0])
            rows = self._db.execute(
                "SELECT record FROM changes ORDER BY at DESC, rowid DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [ChangeRecord.model_validate_json(row[0]) for row in rows], total
