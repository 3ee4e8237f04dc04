"""Recognising a damaged history database and moving it aside, never deleting it.

A truncated file or a bad header makes SQLite refuse to open the database; on Kubernetes a backend
that exits at start is a CrashLoopBackOff nobody can leave without a shell on the volume. History is
useful but not essential (it refills from the next scrape), so a damaged database is renamed with a
timestamp beside the original — kept for whoever wants to salvage it — and the store starts fresh.
Only SQLite's own verdicts count as damage (SQLITE_CORRUPT, SQLITE_NOTADB): a locked database, a
full disk or another schema version is not damage, and moving it aside could lose healthy history.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from k8s_optimizer.history.schema import DATABASE_FILE

DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_COMPANIONS = ("", "-wal", "-shm")  # SQLite's WAL and shared-memory files belong to the database


@dataclass(frozen=True, slots=True)
class Recovery:
    """One damaged database moved aside: when, why, and where it now lies."""

    at: datetime
    reason: str
    moved_to: Path

    def describe(self) -> str:
        return (
            f"history database was damaged ({self.reason}); moved aside to {self.moved_to.name} "
            f"at {self.at:%Y-%m-%dT%H:%M:%SZ} and started fresh"
        )


def is_damage(error: BaseException) -> bool:
    """True when SQLite says the file itself is corrupt or not a database."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        return any(name == code or name.startswith(f"{code}_") for code in DAMAGE_CODES)
    text = str(error).lower()
    return "malformed" in text or "not a database" in text


def move_aside(data_dir: Path, reason: str, now: datetime | None = None) -> Recovery:
    """Rename the database and its WAL/SHM files to `<name>.damaged-<UTC time>`; nothing is deleted."""
    at = now or datetime.now(UTC)
    stamp = f"{at:%Y%m%dT%H%M%S%fZ}"
    target = data_dir / f"{DATABASE_FILE}.damaged-{stamp}"
    for suffix in _COMPANIONS:
        source = data_dir / f"{DATABASE_FILE}{suffix}"
        if source.exists():
            source.rename(data_dir / f"{target.name}{suffix}")
    return Recovery(at=at, reason=reason, moved_to=target)
