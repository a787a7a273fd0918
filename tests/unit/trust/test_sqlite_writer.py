from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from trust.errors import JournalError
from trust.sqlite_writer import GroupCommitWriter, connect


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")


def test_concurrent_work_is_committed_and_durable(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    futures = []
    with GroupCommitWriter(db, setup=_setup) as writer:

        def produce(offset: int) -> None:
            for i in range(500):
                futures.append(
                    writer.submit(
                        lambda c, i=i: (
                            c.execute("INSERT INTO t VALUES (?, ?)", (f"{offset}-{i}", i)).lastrowid
                        )
                    )
                )

        threads = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(f.result(timeout=30) for f in futures)
    conn = connect(db, readonly=True)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2000
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_unit_is_rolled_back_alone(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with GroupCommitWriter(db, setup=_setup) as writer:
        ok = writer.submit(lambda c: c.execute("INSERT INTO t VALUES ('a', 1)").rowcount)

        def bad(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO t VALUES ('b', 2)")
            c.execute("INSERT INTO t VALUES ('a', 3)")  # primary key clash

        failed = writer.submit(bad)
        assert ok.result(timeout=10) == 1
        with pytest.raises(sqlite3.IntegrityError):
            failed.result(timeout=10)
    rows = connect(db, readonly=True).execute("SELECT k, v FROM t ORDER BY k").fetchall()
    assert rows == [("a", 1)]


def test_closed_writer_refuses_work(tmp_path: Path) -> None:
    writer = GroupCommitWriter(tmp_path / "w.db", setup=_setup)
    writer.close()
    with pytest.raises(JournalError, match="closed"):
        writer.submit(lambda c: None)


async def _async_use(db: Path) -> int:
    writer = GroupCommitWriter(db, setup=_setup)
    try:
        return await writer.run(lambda c: c.execute("INSERT INTO t VALUES ('x', 9)").rowcount)
    finally:
        writer.close()


def test_async_run(tmp_path: Path) -> None:
    import asyncio

    assert asyncio.run(_async_use(tmp_path / "w.db")) == 1


def test_unopenable_database_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot open"):
        connect(tmp_path / "missing-dir" / "x.db")
