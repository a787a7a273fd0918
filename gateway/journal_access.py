"""The gateway's Merkle journal (``journal.db``), used from one dedicated thread.

A :class:`trust.journal.Journal` is one SQLite connection for one thread: every call
here runs on a single worker thread, so the event loop never blocks on it. Appends go
through the drain's :class:`trust.journal_writer.AsyncJournalWriter` (group commit);
this object reads, checkpoints and attaches time-stamps and cosignatures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from trust.journal import Journal
from trust.journal_store import CheckpointRecord
from trust.keys import Signer
from trust.merkle import ConsistencyProof, InclusionProof

T = TypeVar("T")


class JournalAccess:
    def __init__(self, thread: ThreadPoolExecutor, journal: Journal) -> None:
        self._thread = thread
        self._journal = journal

    @classmethod
    async def open(cls, path: Path) -> JournalAccess:
        """Open the journal on its own thread (SQLite connections stay on theirs)."""
        thread = ThreadPoolExecutor(1, thread_name_prefix="gateway-journal")
        loop = asyncio.get_running_loop()
        try:
            journal = await loop.run_in_executor(thread, Journal.open, path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(thread, journal)

    async def _run(self, work: Callable[[Journal], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, work, self._journal)

    async def size(self) -> int:
        return await self._run(lambda j: j.size)

    async def entries(self, start: int, end: int) -> list[bytes]:
        return await self._run(lambda j: [j.entry(i) for i in range(start, end)])

    async def entries_at(self, indexes: Sequence[int]) -> list[bytes]:
        return await self._run(lambda j: [j.entry(i) for i in indexes])

    async def checkpoint(self, *, signer: Signer, origin: str, now: datetime) -> CheckpointRecord:
        return await self._run(lambda j: j.checkpoint(signer=signer, origin=origin, now=now))

    async def latest_checkpoint(self) -> CheckpointRecord | None:
        return await self._run(lambda j: j.latest_checkpoint())

    async def checkpoints(self) -> list[CheckpointRecord]:
        return await self._run(lambda j: j.checkpoints())

    async def without_timestamp(self) -> list[CheckpointRecord]:
        return await self._run(lambda j: j.checkpoints_without_timestamp())

    async def without_cosignature(self) -> list[CheckpointRecord]:
        return await self._run(lambda j: j.checkpoints_without_cosignature())

    async def attach_timestamp(self, checkpoint_id: int, tsr: bytes) -> None:
        await self._run(lambda j: j.attach_timestamp(checkpoint_id, tsr=tsr))

    async def attach_cosignature(self, checkpoint_id: int, note: bytes) -> None:
        await self._run(lambda j: j.attach_cosignature(checkpoint_id, cosigned_note=note))

    async def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        return await self._run(lambda j: j.consistency_proof(first, second))

    async def inclusion_proofs(self, indexes: Sequence[int], size: int) -> list[InclusionProof]:
        return await self._run(lambda j: [j.inclusion_proof(i, size) for i in indexes])

    async def close(self) -> None:
        await self._run(lambda j: j.close())
        self._thread.shutdown(wait=True)
