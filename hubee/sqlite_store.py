"""The default :class:`hub.store.Store`: SQLite in WAL mode with ``synchronous=FULL``.

Writes go through one :class:`trust.sqlite_writer.GroupCommitWriter` thread: every
pending unit of work shares one transaction and one fsync, each in its own savepoint,
so a failing unit is rolled back alone. Reads run on a small pool of read-only
connections. Nothing here runs on the event loop: :func:`assert_off_loop` is checked
at the start of every unit, so a regression fails loudly instead of stalling the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hubee.errors import InsufficientStorage, StorageFailure
from hubee.loop_guard import assert_off_loop
from hubee.sqlite_directory import SqliteDirectory
from hubee.sqlite_dossiers import SqliteDossiers
from hubee.sqlite_retention import SqliteRetention
from hubee.sqlite_schema import SchemaExtension, migrate, migrate_extensions
from hubee.store import StoreTx
from trust.errors import JournalError
from trust.sqlite_writer import GroupCommitWriter, connect

T = TypeVar("T")


class SqliteTx(SqliteDirectory, SqliteDossiers, SqliteRetention):
    """One unit of work on one connection (the writer's, or a reader's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        assert_off_loop()
        self._c = conn

    @property
    def connection(self) -> sqlite3.Connection:
        """This unit's connection, for :class:`~hubee.sqlite_schema.SchemaExtension` tables."""
        return self._c


def sqlite_connection(tx: object) -> sqlite3.Connection:
    """The connection under a unit of work of :class:`SqliteStore`.

    For components that keep extension tables in the same database: what they write
    through it commits (or rolls back) with the unit. Raises ``TypeError`` for a unit
    of another store.
    """
    if not isinstance(tx, SqliteTx):
        raise TypeError(f"not a SQLite unit of work: {type(tx).__name__}")
    return tx.connection


class SqliteStore:
    """Hub storage in one SQLite file (``hub.db``) under the data directory."""

    def __init__(
        self,
        path: str | Path,
        *,
        readers: int = 4,
        extensions: Sequence[SchemaExtension] = (),
    ) -> None:
        self.path = Path(path)

        def setup(conn: sqlite3.Connection) -> None:
            migrate(conn)
            if extensions:
                migrate_extensions(conn, extensions)

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = GroupCommitWriter(self.path, setup=setup, name="hub-sqlite-writer")
        except JournalError as exc:
            raise StorageFailure(f"cannot open the hub database {self.path}: {exc}") from exc
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="hub-sqlite-read")

    async def write(self, work: Callable[[StoreTx], T]) -> T:
        def unit(conn: sqlite3.Connection) -> T:
            return work(SqliteTx(conn))

        try:
            return await self._writer.run(unit)
        except JournalError as exc:
            if "full" in str(exc):  # SQLITE_FULL: "database or disk is full"
                raise InsufficientStorage(f"the database could not commit: {exc}") from exc
            raise StorageFailure(f"the hub database could not commit: {exc}") from exc

    async def read(self, work: Callable[[StoreTx], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._read, work)

    def _read(self, work: Callable[[StoreTx], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = connect(self.path, readonly=True, check_same_thread=False)
            except JournalError as exc:
                raise StorageFailure(f"cannot read the hub database: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            return work(SqliteTx(conn))
        except sqlite3.Error as exc:
            raise StorageFailure(f"cannot read the hub database: {exc}") from exc
        finally:
            conn.execute("ROLLBACK")

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close_blocking)

    def close_blocking(self) -> None:
        self._pool.shutdown(wait=True)
        self._writer.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
