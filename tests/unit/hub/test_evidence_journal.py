"""The hub's evidence journal drains the outbox once, in order, across restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.evidence_journal import EvidenceJournal, EvidencePolicy, evidence_entry
from hubee.event_sink import TableSink
from hubee.model import JournalEntry
from hubee.sqlite_store import SqliteStore
from hubee.store import StoreTx
from trust.journal import Journal
from trust.keys import FileSigner, KeyAlgorithm
from trust.throwaway_pki import ThrowawayPki
from trust.tsa import TimeStampAuthority
from trust.tsp import InProcessTimeStamper

AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def evidence(store: SqliteStore, path: Path, pki: ThrowawayPki) -> EvidenceJournal:
    tsa = TimeStampAuthority(signer=pki.tsa.signer, certificate=pki.tsa.certificate)
    return EvidenceJournal(
        store=store,
        path=path,
        signer=FileSigner.generate(KeyAlgorithm.ED25519),
        stamper=InProcessTimeStamper(responder=tsa.respond, anchors=[pki.root.certificate]),
        policy=EvidencePolicy(origin="hub.test", every_entries=1000, every=timedelta(seconds=60)),
        clock=lambda: AT,
    )


def test_a_restart_neither_skips_nor_repeats_a_fact(tmp_path: Path, pki: ThrowawayPki) -> None:
    async def record(store: SqliteStore, names: list[str]) -> None:
        def work(tx: StoreTx) -> None:
            for name in names:
                TableSink().record(tx, "folder.status", name, AT, {"to": "X"})

        await store.write(work)

    async def main() -> None:
        store = SqliteStore(tmp_path / "hub.db")
        try:
            await record(store, ["a", "b", "c"])
            first = evidence(store, tmp_path / "journal.db", pki)
            await first.open()
            assert await first.drain() == 3
            record_ = await first.checkpoint()
            assert record_ is not None and record_.size == 3 and record_.tsr is not None
            await first.close()

            await record(store, ["d", "e"])
            second = evidence(store, tmp_path / "journal.db", pki)
            await second.open()
            assert second.position == first.position
            assert await second.drain() == 2
            assert await second.drain() == 0
            await second.close()
        finally:
            await store.close()
        with Journal.open(tmp_path / "journal.db") as journal:
            subjects = [json.loads(journal.entry(i))["subject"] for i in range(journal.size)]
            seqs = [json.loads(journal.entry(i))["data"]["seq"] for i in range(journal.size)]
        assert subjects == ["a", "b", "c", "d", "e"] and seqs == sorted(set(seqs))

    asyncio.run(main())


def test_a_fact_too_large_for_one_entry_is_kept_as_its_digest() -> None:
    huge = JournalEntry(
        "folder.created", "f", AT, {"attachments": {str(i): "x" * 100 for i in range(1000)}}
    )
    entry = json.loads(evidence_entry(7, huge))
    assert entry["data"]["seq"] == 7 and len(entry["data"]["factSha256"]) == 64
    small = json.loads(evidence_entry(8, JournalEntry("case.status", "c", AT, {"to": "SENT"})))
    assert small["data"] == {"seq": 8, "fact": {"to": "SENT"}}
