"""The journal's SQLite schema, migrations, and the stored Merkle nodes.

One database file in WAL mode with ``synchronous=FULL``: a commit returns only
once the WAL is fsynced. Tables:

- ``entries(idx, leaf_hash, entry)``: every entry and its RFC 9162 leaf hash;
- ``nodes(level, idx, hash)``: the complete-subtree hashes at every
  :data:`NODE_LEVEL_STRIDE`-th level, so any subtree hash is at most
  ``2**(NODE_LEVEL_STRIDE - 1)`` stored hashes away, for n/15 extra rows
  (changing the stride needs a migration that rebuilds ``nodes``);
- ``checkpoints``: signed checkpoints, their RFC 3161 response and cosigned
  note once obtained.

Triggers refuse UPDATE and DELETE on entries and nodes, and on a
checkpoint's signed columns. They stop mistakes, not an attacker holding the
file: :mod:`trust.journal_verify` and the signed checkpoints do that.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from trust.errors import JournalError
from trust.merkle import HASH_SIZE, complete_subtree_hash

APPLICATION_ID = 0x53434A4C  # "SCJL" in the SQLite header (sqlite.org/fileformat.html §1.3.15)
NODE_LEVEL_STRIDE = 4
BUSY_TIMEOUT_S = 30.0

# Each migration moves the schema from version i to i + 1 (PRAGMA user_version).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE entries (
            idx INTEGER PRIMARY KEY,
            leaf_hash BLOB NOT NULL,
            entry BLOB NOT NULL)""",
        """CREATE TABLE nodes (
            level INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)) WITHOUT ROWID""",
        """CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
            BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END""",
        """CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
            BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END""",
        """CREATE TRIGGER nodes_no_update BEFORE UPDATE ON nodes
            BEGIN SELECT RAISE(ABORT, 'journal nodes are append-only'); END""",
        """CREATE TRIGGER nodes_no_delete BEFORE DELETE ON nodes
            BEGIN SELECT RAISE(ABORT, 'journal nodes are append-only'); END""",
    ),
    (
        """CREATE TABLE checkpoints (
            id INTEGER PRIMARY KEY,
            size INTEGER NOT NULL,
            root BLOB NOT NULL,
            note BLOB NOT NULL,
            created_at TEXT NOT NULL,
            tsr BLOB,
            cosigned_note BLOB)""",
        "CREATE INDEX checkpoints_no_tsr ON checkpoints (id) WHERE tsr IS NULL",
        "CREATE INDEX checkpoints_no_cosig ON checkpoints (id) WHERE cosigned_note IS NULL",
        """CREATE TRIGGER checkpoints_signed BEFORE UPDATE OF id, size, root, note, created_at
            ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'signed checkpoints are immutable'); END""",
        """CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END""",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)


def connect(path: str | Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the database in autocommit mode (transactions are explicit), WAL, FULL sync."""
    try:
        if read_only:
            uri = Path(path).resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        else:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {path}: {exc}") from exc
    try:
        if not read_only:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"journal {path} cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error as exc:
        conn.close()
        raise JournalError(f"cannot open journal {path}: {exc}") from exc
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version, refusing a database that is not a Sceau journal."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if app == 0 and version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise JournalError("this SQLite database is not a Sceau journal")
    elif app != APPLICATION_ID:
        raise JournalError("this SQLite database is not a Sceau journal")
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal schema version {version} is newer than this software ({SCHEMA_VERSION})",
            hint="Upgrade Sceau before opening this journal.",
        )
    return version


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            for steps in _MIGRATIONS[version:]:
                for statement in steps:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def current_size(conn: sqlite3.Connection) -> int:
    last = conn.execute("SELECT max(idx) FROM entries").fetchone()[0]
    return 0 if last is None else int(last) + 1


class StoredTree:
    """A :class:`~trust.merkle.HashSource` reading entries and stored nodes.

    It trusts what is stored: :func:`trust.journal_verify.verify_journal`
    is what checks stored hashes against the entries.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def subtree_hash(self, level: int, index: int) -> bytes:
        stored = level - level % NODE_LEVEL_STRIDE
        width = 1 << (level - stored)
        first = index * width
        if stored == 0:
            query = "SELECT leaf_hash FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx"
            rows = self._conn.execute(query, (first, first + width)).fetchall()
        else:
            query = "SELECT hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"
            rows = self._conn.execute(query, (stored, first, first + width)).fetchall()
        if len(rows) != width:
            raise JournalError(f"journal is missing the subtree at level {level}, index {index}")
        hashes = [r[0] for r in rows]
        if any(type(h) is not bytes or len(h) != HASH_SIZE for h in hashes):
            raise JournalError(f"journal holds a malformed hash at level {level}, index {index}")
        return complete_subtree_hash(hashes)


_CHUNK = 1024  # rows per INSERT at most; 3 * 1024 variables, well under SQLite's 32766


def _statements(table: str, columns: str) -> dict[int, str]:
    one = "(" + ",".join("?" * len(columns.split(","))) + ")"
    return {
        k: f"INSERT INTO {table} ({columns}) VALUES {','.join([one] * k)}"  # noqa: S608
        for k in (1 << b for b in range(_CHUNK.bit_length()))
    }


_INSERT_ENTRIES = _statements("entries", "idx, leaf_hash, entry")
_INSERT_NODES = _statements("nodes", "level, idx, hash")


def _insert_rows(
    conn: sqlite3.Connection, statements: dict[int, str], columns: list[list[Any]]
) -> None:
    """Insert rows given column by column, in as few statements as the row count's bits."""
    done, total = 0, len(columns[0])
    while done < total:
        k = min(_CHUNK, 1 << ((total - done).bit_length() - 1))
        params: list[Any] = [None] * (len(columns) * k)
        for c, values in enumerate(columns):
            params[c :: len(columns)] = values[done : done + k]
        conn.execute(statements[k], params)
        done += k


def insert(
    conn: sqlite3.Connection,
    first_index: int,
    leaves: Sequence[bytes],
    entries: Sequence[bytes],
    nodes: Sequence[tuple[int, int, bytes]],
) -> None:
    """Insert entries ``first_index, …`` with their leaf hashes, and stored nodes.

    Rows go in multi-row INSERTs of 1024, 512, … 1 rows (11 cached statements
    per table): few statements, so few GIL hand-offs for the writer thread.
    Blobs are bound as ``bytearray``: CPython's sqlite3 binds that directly but
    sends ``bytes`` through its adapter registry first (Modules/_sqlite/cursor.c,
    ``need_adapt``), which costs more than the copy.
    """
    indexes = list(range(first_index, first_index + len(entries)))
    _insert_rows(
        conn,
        _INSERT_ENTRIES,
        [indexes, list(map(bytearray, leaves)), list(map(bytearray, entries))],
    )
    if nodes:
        levels, idxs, hashes = zip(*nodes, strict=True)
        _insert_rows(conn, _INSERT_NODES, [list(levels), list(idxs), list(map(bytearray, hashes))])


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint as recorded in the journal, with what was obtained for it since."""

    id: int
    size: int
    root: bytes
    note: bytes
    created_at: datetime
    tsr: bytes | None
    cosigned_note: bytes | None


_CHECKPOINT_COLUMNS = "id, size, root, note, created_at, tsr, cosigned_note"


def _record(
    row: tuple[int, int, bytes, bytes, str, bytes | None, bytes | None],
) -> CheckpointRecord:
    return CheckpointRecord(
        row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), row[5], row[6]
    )


def insert_checkpoint(
    conn: sqlite3.Connection, *, size: int, root: bytes, note: bytes, created_at: str
) -> int:
    cursor = conn.execute(
        "INSERT INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
        (size, root, note, created_at),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def checkpoint(conn: sqlite3.Connection, checkpoint_id: int) -> CheckpointRecord | None:
    row = conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE id = ?",  # noqa: S608
        (checkpoint_id,),
    ).fetchone()
    return None if row is None else _record(row)


_LACKING = {None: "", "tsr": "WHERE tsr IS NULL", "cosigned_note": "WHERE cosigned_note IS NULL"}


def checkpoints(
    conn: sqlite3.Connection, *, lacking: Literal["tsr", "cosigned_note"] | None = None
) -> list[CheckpointRecord]:
    """Checkpoints in creation order, optionally only those still lacking a column."""
    where = _LACKING[lacking]
    query = f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints {where} ORDER BY id"  # noqa: S608
    return [_record(row) for row in conn.execute(query)]


def latest_checkpoint(conn: sqlite3.Connection) -> CheckpointRecord | None:
    row = conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY id DESC LIMIT 1"  # noqa: S608
    ).fetchone()
    return None if row is None else _record(row)


def set_checkpoint_column(
    conn: sqlite3.Connection,
    checkpoint_id: int,
    column: Literal["tsr", "cosigned_note"],
    value: bytes,
) -> bool:
    """Set ``tsr`` or ``cosigned_note``; False if there is no such checkpoint."""
    if column not in ("tsr", "cosigned_note"):
        raise ValueError(f"not an attachable column: {column}")
    cursor = conn.execute(
        f"UPDATE checkpoints SET {column} = ? WHERE id = ?",  # noqa: S608
        (value, checkpoint_id),
    )
    return cursor.rowcount == 1
