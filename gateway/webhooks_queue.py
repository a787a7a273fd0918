"""The webhook outbox: one SQLite file per webhook (WAL, synchronous=FULL).

A delivery is written before it is sent and marked delivered only after a 2xx, so a
crash or restart resends it: at least once. Its key (the notification id) is unique:
a notification listed again is not queued again.

Every method blocks; callers run them in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_result TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_try);
"""

PENDING = "pending"
DELIVERED = "delivered"
ABANDONED = "abandoned"


@dataclass(frozen=True)
class Delivery:
    key: str
    body: bytes
    created: float
    attempts: int


class WebhookQueue:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, key: str, body: bytes, *, now: float) -> bool:
        """Queue a delivery; False if this key was queued before (whatever its state)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO deliveries (key, body, created, next_try)"
                " VALUES (?, ?, ?, ?)",
                (key, body, now, now),
            )
        return cursor.rowcount == 1

    def due(self, *, now: float, limit: int = 50) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, body, created, attempts FROM deliveries"
                " WHERE state = ? AND next_try <= ? ORDER BY next_try, created LIMIT ?",
                (PENDING, now, limit),
            ).fetchall()
        return [
            Delivery(key, bytes(body), created, attempts) for key, body, created, attempts in rows
        ]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_try) FROM deliveries WHERE state = ?", (PENDING,)
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def mark_delivered(self, key: str, *, now: float, result: str) -> None:
        self._finish(key, DELIVERED, now=now, result=result)

    def mark_abandoned(self, key: str, *, now: float, result: str) -> None:
        self._finish(key, ABANDONED, now=now, result=result)

    def _finish(self, key: str, state: str, *, now: float, result: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_result = ?,"
                " done_at = ? WHERE key = ?",
                (state, result, now, key),
            )

    def reschedule(self, key: str, *, next_try: float, result: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_try = ?, last_result = ?"
                " WHERE key = ?",
                (next_try, result, key),
            )

    def state_of(self, key: str) -> tuple[str, int, str | None] | None:
        """``(state, attempts, last result)`` of a delivery, for status and tests."""
        with self._lock:
            row = self._db.execute(
                "SELECT state, attempts, last_result FROM deliveries WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), row[2])

    def prune(self, *, done_before: float, still_listed: Iterable[str]) -> int:
        """Forget finished deliveries older than ``done_before`` not listed by the API any more.

        A key still listed must stay, or the notification would be queued again.
        """
        keep = set(still_listed)
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM deliveries WHERE state != ? AND done_at < ?",
                (PENDING, done_before),
            ).fetchall()
            gone = [(key,) for (key,) in rows if key not in keep]
            self._db.executemany("DELETE FROM deliveries WHERE key = ?", gone)
        return len(gone)
