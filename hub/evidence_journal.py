"""The hub's own evidence: its facts in a Merkle journal, checkpointed and time-stamped.

Every fact the engine and the link API record (accepted folders, status changes,
events, receipts, purges, enrollments, witnessed checkpoints…) lands first in the
engine's outbox table, in the transaction that makes it true. :class:`EvidenceJournal`
drains that outbox, in ``seq`` order, into a :mod:`trust.journal` database
(``journal.db``): one entry per fact, ``{"at", "data": {"fact": …, "seq": n}, "kind",
"subject"}``. Where it stopped is read back from the journal's last entry, so a
restart neither skips nor repeats a fact.

Every ``checkpoint_every_entries`` entries, or ``checkpoint_every`` after the first
entry not yet covered, it signs a checkpoint with the hub's journal key and
time-stamps its note body with the hub's own TSA (in process), keeping the full
response. All of it runs in a background task and one dedicated thread; requests
never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from hubee.model import Clock, JournalEntry
from hubee.store import Store, StoreTx
from trust.checkpoint import SignedNote
from trust.errors import TrustError
from trust.journal import Journal, journal_entry
from trust.journal_store import CheckpointRecord
from trust.keys import Signer
from trust.tsp import TimeStamper

log = logging.getLogger("hub.evidence")
T = TypeVar("T")
BATCH = 1000


def evidence_entry(seq: int, fact: JournalEntry) -> bytes:
    """The journal entry for outbox record ``seq``."""
    try:
        return journal_entry(fact.kind, fact.subject, {"seq": seq, "fact": fact.data}, fact.at)
    except ValueError:
        # Too large for one entry (or not JSON): keep its digest, never lose the fact.
        text = json.dumps(fact.data, sort_keys=True, default=str).encode()
        digest = hashlib.sha256(text).hexdigest()
        return journal_entry(fact.kind, fact.subject, {"seq": seq, "factSha256": digest}, fact.at)


def _outbox_after(seq: int) -> Callable[[StoreTx], list[tuple[int, JournalEntry]]]:
    return lambda tx: tx.journal_after(seq, BATCH)


@dataclass(frozen=True)
class EvidencePolicy:
    origin: str
    every_entries: int
    every: timedelta


class EvidenceJournal:
    def __init__(
        self,
        *,
        store: Store,
        path: Path,
        signer: Signer,
        stamper: TimeStamper,
        policy: EvidencePolicy,
        clock: Clock,
    ) -> None:
        self._store = store
        self._path = path
        self._signer = signer
        self._stamper = stamper
        self._policy = policy
        self._clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-evidence")
        self._journal: Journal | None = None
        self._position = 0
        self._uncovered = 0  # entries appended since the last checkpoint
        self._since: float | None = None  # loop time of the first uncovered entry
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        self._journal = await self._in_thread(Journal.open, self._path)
        self._position, size, covered = await self._in_thread(self._recover)
        self._uncovered = size - covered
        if self._uncovered:
            self._since = asyncio.get_running_loop().time()

    def _recover(self) -> tuple[int, int, int]:
        journal = self._need()
        size = journal.size
        latest = journal.latest_checkpoint()
        covered = 0 if latest is None else latest.size
        if size == 0:
            return 0, 0, covered
        last = json.loads(journal.entry(size - 1))
        return int(last["data"]["seq"]), size, covered

    def _need(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("the evidence journal is not open")
        return self._journal

    def wake(self) -> None:
        """New facts are in the outbox (called after their commit, on the loop)."""
        self._wake.set()

    @property
    def position(self) -> int:
        """The outbox sequence number of the last fact journaled."""
        return self._position

    async def drain(self) -> int:
        """Journal every fact now in the outbox; return how many were appended."""
        async with self._lock:
            total = 0
            while True:
                facts = await self._store.read(_outbox_after(self._position))
                if not facts:
                    return total
                entries = [evidence_entry(seq, fact) for seq, fact in facts]
                await self._in_thread(self._need().append_many, entries)
                self._position = facts[-1][0]
                total += len(entries)
                if self._uncovered == 0:
                    self._since = asyncio.get_running_loop().time()
                self._uncovered += len(entries)

    async def checkpoint(self) -> CheckpointRecord | None:
        """Checkpoint and time-stamp what is journaled, if anything is not yet covered."""
        async with self._lock:
            if self._uncovered == 0:
                return None
            record = await self._in_thread(self._checkpoint_blocking)
            self._uncovered = 0
            self._since = None
            return record

    def _checkpoint_blocking(self) -> CheckpointRecord:
        journal = self._need()
        record = journal.checkpoint(
            signer=self._signer, origin=self._policy.origin, now=self._clock()
        )
        for pending in journal.checkpoints_without_timestamp():
            body = SignedNote.parse(pending.note).text
            try:
                token = self._stamper.timestamp(body)
            except TrustError as exc:
                log.error("checkpoint %d not time-stamped (retried next time): %s", pending.id, exc)
                continue
            journal.attach_timestamp(pending.id, tsr=token.response_der)
        return journal.get_checkpoint(record.id)

    def _due(self) -> float | None:
        """Seconds until the time-based checkpoint, or None when nothing is uncovered."""
        if self._since is None:
            return None
        elapsed = asyncio.get_running_loop().time() - self._since
        return max(0.0, self._policy.every.total_seconds() - elapsed)

    async def run(self) -> None:
        """Drain and checkpoint until :meth:`stop` (or cancellation)."""
        while not self._stopping:
            try:
                due = self._due()
                # Idle, still look every ``every``: facts written by other processes (the
                # CLI) ring no bell here.
                idle = self._policy.every.total_seconds() if due is None else due
                if idle > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(idle):
                            await self._wake.wait()
                self._wake.clear()
                await self.drain()
                due = self._due()
                if self._uncovered >= self._policy.every_entries or due == 0:
                    await self.checkpoint()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the evidence journal failed a round; retrying in a second")
                await asyncio.sleep(1)

    def stop(self) -> None:
        """Make :meth:`run` return after its current round."""
        self._stopping = True
        self._wake.set()

    async def close(self) -> None:
        if self._journal is not None:
            journal, self._journal = self._journal, None
            await self._in_thread(journal.close)
        self._thread.shutdown(wait=True)
