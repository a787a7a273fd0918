"""The journal outbox drains into the Merkle journal in commit order, exactly once,
including after a crash between the two databases' commits."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.journal_access import JournalAccess
from gateway.journal_drain import JournalDrain, subject_indexes
from gateway.schema import GATEWAY_SCHEMA
from gateway.tables import GatewayTables
from hubee.sqlite_store import SqliteStore
from hubee.store import StoreTx
from trust.journal_writer import AsyncJournalWriter

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


async def _open(tmp: Path) -> tuple[SqliteStore, AsyncJournalWriter, JournalAccess, JournalDrain]:
    store = SqliteStore(tmp / "gateway.db", extensions=[GATEWAY_SCHEMA])
    writer = await AsyncJournalWriter.open(tmp / "journal.db")
    journal = await JournalAccess.open(tmp / "journal.db")
    return store, writer, journal, JournalDrain(store, writer, journal)


async def _close(store: SqliteStore, writer: AsyncJournalWriter, journal: JournalAccess) -> None:
    await writer.aclose()
    await journal.close()
    await store.close()


async def _record(store: SqliteStore, n: int, subject: str = "folder/a") -> None:
    def work(tx: StoreTx) -> None:
        tables = GatewayTables.of(tx)
        for i in range(n):
            tables.journal("received", subject, {"n": i}, AT)

    await store.write(work)


def test_entries_move_in_order_and_are_indexed(tmp_path: Path) -> None:
    async def main() -> None:
        store, writer, journal, drain = await _open(tmp_path)
        try:
            await drain.recover()
            await _record(store, 3, "folder/a")
            await _record(store, 2, "folder/b")
            assert await drain.pending() == 5
            assert await drain.drain_once() == 5
            assert await drain.drain_once() == 0
            entries = await journal.entries(0, await journal.size())
            assert [(json.loads(e)["subject"], json.loads(e)["data"]["n"]) for e in entries] == [
                ("folder/a", 0),
                ("folder/a", 1),
                ("folder/a", 2),
                ("folder/b", 0),
                ("folder/b", 1),
            ]
            assert await store.read(lambda tx: subject_indexes(tx, "folder/b")) == [3, 4]
            assert await drain.pending() == 0
        finally:
            await _close(store, writer, journal)

    asyncio.run(main())


def test_a_crash_between_the_two_commits_neither_loses_nor_doubles(tmp_path: Path) -> None:
    async def main() -> None:
        store, writer, journal, drain = await _open(tmp_path)
        await drain.recover()
        await _record(store, 4)
        await drain.drain_once()
        await _record(store, 3, "folder/c")
        # The journal commits the next rows, then the process dies before gateway.db does.
        rows = await store.read(
            lambda tx: [
                bytes(r[0])
                for r in GatewayTables.of(tx).conn.execute(
                    "SELECT entry FROM gw_journal_outbox ORDER BY seq"
                )
            ]
        )
        await writer.append_many(rows)
        await _close(store, writer, journal)
        store, writer, journal, drain = await _open(tmp_path)
        try:
            await drain.recover()
            assert await journal.size() == 7 and drain.size == 7
            assert await drain.pending() == 0
            assert await drain.drain_once() == 0
            assert await store.read(lambda tx: subject_indexes(tx, "folder/c")) == [4, 5, 6]
        finally:
            await _close(store, writer, journal)

    asyncio.run(main())


def test_a_journal_that_does_not_match_stops_the_gateway(tmp_path: Path) -> None:
    async def main() -> None:
        store, writer, journal, drain = await _open(tmp_path)
        await drain.recover()
        await _record(store, 2)
        await writer.append_many([b'{"foreign":"entry"}'])
        await _close(store, writer, journal)
        store, writer, journal, drain = await _open(tmp_path)
        try:
            with pytest.raises(GatewayConfigError, match="next outbox rows"):
                await drain.recover()
        finally:
            await _close(store, writer, journal)
        # A journal behind what gateway.db accounted for (an older journal.db restored).
        (tmp_path / "journal.db").unlink()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"journal.db{suffix}").unlink(missing_ok=True)
        store, writer, journal, drain = await _open(tmp_path)
        try:

            def pretend(tx: StoreTx) -> None:
                GatewayTables.of(tx).conn.execute(
                    "UPDATE gw_journal_drain SET journal_size = 5 WHERE id = 1"
                )

            await store.write(pretend)
            with pytest.raises(GatewayConfigError, match="accounted for 5"):
                await drain.recover()
        finally:
            await _close(store, writer, journal)

    asyncio.run(main())
