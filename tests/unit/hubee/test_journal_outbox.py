"""The journal outbox: facts recorded in a unit come back in order, once committed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from hubee.event_sink import TableSink
from hubee.sqlite_store import SqliteStore
from hubee.store import StoreTx

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_journal_after_reads_the_outbox_in_order_from_a_sequence_number(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        sink = TableSink()
        try:

            def record(tx: StoreTx) -> None:
                for i in range(5):
                    sink.record(tx, "folder.status", f"f{i}", AT, {"to": f"S{i}", "n": i})

            await store.write(record)
            everything = await store.read(lambda tx: tx.journal_after(0, 100))
            assert [e.subject for _, e in everything] == [f"f{i}" for i in range(5)]
            seqs = [s for s, _ in everything]
            assert seqs == sorted(seqs) and len(set(seqs)) == 5
            first = everything[0][1]
            assert (first.kind, first.at, first.data) == ("folder.status", AT, {"to": "S0", "n": 0})
            rest = await store.read(lambda tx: tx.journal_after(seqs[1], 2))
            assert [e.subject for _, e in rest] == ["f2", "f3"]
            assert await store.read(lambda tx: tx.journal_after(seqs[-1], 10)) == []
        finally:
            await store.close()

    asyncio.run(main())
