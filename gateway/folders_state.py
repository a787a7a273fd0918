"""The adapter's memory across restarts: ``.sceau/state.db`` (SQLite, WAL, synchronous=FULL).

``outbound``: one row per dossier taken from OUT/ and not yet in SENT/ or FAILED/, with
the folder id once the API has created it, and the retry schedule.
``inbound``: one row per case (or event) being or having been written into IN/, so that
a case is never written twice, even after the local software has taken it away.

Every method blocks (a few milliseconds); callers run them in a worker thread.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbound (
    name TEXT PRIMARY KEY,
    claimed_at REAL NOT NULL,
    digest TEXT,
    external_id TEXT,
    folder_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS inbound (
    target TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    corrupted INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at REAL NOT NULL
);
"""

STAGED = "staged"  # written under .sceau/incoming, rename into IN/ pending
DELIVERED = "delivered"  # in IN/ (or taken from it since)
REJECTED = "rejected"  # could not be integrated; reported in FAILED/
RETRYING = "retrying"


@dataclass(frozen=True)
class OutboundRow:
    name: str
    claimed_at: float
    digest: str | None
    external_id: str | None
    folder_id: str | None
    attempts: int
    next_try: float
    last_error: str | None


@dataclass(frozen=True)
class InboundRow:
    target: str
    state: str
    attempts: int
    corrupted: int
    next_try: float
    last_error: str | None


class FolderState:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # -- outbound ---------------------------------------------------------------

    def claim(self, name: str, *, now: float) -> None:
        self._write("INSERT OR IGNORE INTO outbound (name, claimed_at) VALUES (?, ?)", (name, now))

    def outbound(self, name: str) -> OutboundRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT name, claimed_at, digest, external_id, folder_id, attempts, next_try,"
                " last_error FROM outbound WHERE name = ?",
                (name,),
            ).fetchone()
        return None if row is None else OutboundRow(*row)

    def outbound_all(self) -> list[OutboundRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, claimed_at, digest, external_id, folder_id, attempts, next_try,"
                " last_error FROM outbound ORDER BY claimed_at, name"
            ).fetchall()
        return [OutboundRow(*row) for row in rows]

    def record_digest(self, name: str, digest: str, external_id: str) -> None:
        self._write(
            "UPDATE outbound SET digest = ?, external_id = ? WHERE name = ?",
            (digest, external_id, name),
        )

    def record_folder(self, name: str, folder_id: str) -> None:
        self._write("UPDATE outbound SET folder_id = ? WHERE name = ?", (folder_id, name))

    def outbound_retry(self, name: str, *, attempts: int, next_try: float, error: str) -> None:
        self._write(
            "UPDATE outbound SET attempts = ?, next_try = ?, last_error = ? WHERE name = ?",
            (attempts, next_try, error, name),
        )

    def outbound_done(self, name: str) -> None:
        self._write("DELETE FROM outbound WHERE name = ?", (name,))

    # -- inbound ----------------------------------------------------------------

    def inbound(self, target: str) -> InboundRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT target, state, attempts, corrupted, next_try, last_error"
                " FROM inbound WHERE target = ?",
                (target,),
            ).fetchone()
        return None if row is None else InboundRow(*row)

    def inbound_staged(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT target FROM inbound WHERE state = ?", (STAGED,)
            ).fetchall()
        return [row[0] for row in rows]

    def set_inbound(self, target: str, state: str, *, now: float) -> None:
        self._write(
            "INSERT INTO inbound (target, state, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(target) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            (target, state, now),
        )

    def inbound_retry(
        self, target: str, *, now: float, next_try: float, error: str, corrupted: bool
    ) -> InboundRow:
        with self._lock:
            self._db.execute(
                "INSERT INTO inbound (target, state, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(target) DO NOTHING",
                (target, RETRYING, now),
            )
            self._db.execute(
                "UPDATE inbound SET attempts = attempts + 1, corrupted = corrupted + ?,"
                " next_try = ?, last_error = ?, updated_at = ? WHERE target = ?",
                (int(corrupted), next_try, error, now, target),
            )
        found = self.inbound(target)
        assert found is not None
        return found
