"""The SQLite store (migrations, durability settings, the off-loop guard) and the blob store."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubee.blobs import BlobStore
from hubee.errors import StorageFailure, ValidationFailed
from hubee.model import Process
from hubee.sqlite_schema import MIGRATIONS, migrate
from hubee.sqlite_store import SqliteStore, SqliteTx
from hubee.store import StoreTx


def test_migrations_run_once_and_record_the_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "hub.db", isolation_level=None)
    migrate(conn)
    migrate(conn)  # a restart changes nothing
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    conn.execute("INSERT INTO schema_version VALUES (999)")
    with pytest.raises(StorageFailure, match="newer than this hub"):
        migrate(conn)


def test_store_uses_wal_and_full_sync_and_refuses_the_loop(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        try:
            mode = await store.write(lambda tx: tx._c.execute("PRAGMA journal_mode").fetchone()[0])  # type: ignore[attr-defined]
            sync = await store.write(lambda tx: tx._c.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[attr-defined]
            assert (mode, sync) == ("wal", 2)  # 2 = FULL
            assert await store.read(lambda tx: tx.processes()) == []
            with pytest.raises(RuntimeError, match="event loop"):
                SqliteTx(sqlite3.connect(":memory:"))
        finally:
            await store.close()

    asyncio.run(main())


def test_a_failing_unit_leaves_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        try:

            def half(tx: StoreTx) -> None:
                tx.insert_process(Process("A", "a"), at=datetime.now(UTC))
                raise ValidationFailed("x", "refused after a write")

            with pytest.raises(ValidationFailed):
                await store.write(half)
            assert await store.read(lambda tx: tx.processes()) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_blobs_are_content_addressed_and_checked(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = b"acte de naissance" * 1000
    writer = blobs.writer(limit=len(data))
    writer.write(data[:100])
    writer.write(data[100:])
    digest = writer.finish()
    assert digest.sha256 == hashlib.sha256(data).hexdigest() and digest.size == len(data)
    writer.publish(digest.sha256)
    path = blobs.path_of(digest.sha256)
    assert path == tmp_path / "blobs" / digest.sha256[:2] / digest.sha256[2:]
    assert path.read_bytes() == data and oct(path.stat().st_mode)[-3:] == "600"
    blobs.sync(digest.sha256)

    # The same content again: one blob.
    again = blobs.writer(limit=len(data))
    again.write(data)
    again.publish(again.finish().sha256)
    assert sorted(p.name for p in (tmp_path / "blobs" / digest.sha256[:2]).iterdir()) == [
        digest.sha256[2:]
    ]

    too_long = blobs.writer(limit=3)
    with pytest.raises(ValidationFailed, match="declared size"):
        too_long.write(b"four")
    too_long.discard()
    assert list(blobs.tmp_dir.iterdir()) == []
    with pytest.raises(ValueError):
        blobs.path_of("../../etc/passwd")
    assert blobs.delete(digest.sha256) and not blobs.exists(digest.sha256)
    assert not blobs.delete(digest.sha256)


def test_leftovers_of_a_crash_are_cleaned(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    writer = blobs.writer(limit=10)
    writer.write(b"half")
    assert BlobStore(tmp_path / "blobs").clean_tmp() == 1
    assert list(blobs.tmp_dir.iterdir()) == []
    writer.discard()
