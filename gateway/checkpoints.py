"""Checkpoints of the gateway's journal: made every N entries or T seconds, then
time-stamped by the TSA and cosigned by the hub's witness, whenever those answer.

Neither outage stops the exchange: a checkpoint is signed locally at once, and its
time-stamp and cosignature are obtained later, oldest first, with backoff while the
TSA or the hub is down. :meth:`Checkpoints.gap` says how many wait for each (shown by
``sceau gateway status``); an evidence bundle uses the latest checkpoint that has its
time-stamp.

The witness call is ``POST /link/v1/checkpoints`` (docs/LINK.md, "Witness and time"):
the note, and a consistency proof from the last checkpoint the hub cosigned (none for
the first). The returned note must carry a valid cosignature by the witness key
received at enrollment before it is stored.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.journal_access import JournalAccess
from trust.checkpoint import SignedNote, VerifierKey, verify_note
from trust.errors import TimestampAuthorityError
from trust.journal_store import CheckpointRecord
from trust.keys import Signer
from trust.tsp import AsyncTimeStamper, TimeStamper

log = logging.getLogger("gateway.checkpoints")

# (note, consistency proof hashes, from size) → the cosigned note; raises when it fails.
Witness = Callable[[bytes, list[bytes], int], Awaitable[bytes]]


@dataclass(frozen=True)
class CheckpointGap:
    """How far time-stamping and witnessing lag behind the journal."""

    journal_size: int
    checkpoints: int
    unstamped: int
    unwitnessed: int
    latest_stamped_size: int | None


class Checkpoints:
    def __init__(
        self,
        journal: JournalAccess,
        *,
        signer: Signer,
        origin: str,
        every_entries: int,
        every_seconds: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._journal = journal
        self._signer = signer
        self._origin = origin
        self._every_entries = every_entries
        self._every_seconds = every_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self.changed = asyncio.Event()

    async def maybe_checkpoint(self, *, force: bool = False) -> CheckpointRecord | None:
        """Sign a checkpoint if N entries arrived, or T seconds passed with new ones."""
        async with self._lock:
            size = await self._journal.size()
            last = await self._journal.latest_checkpoint()
            last_size = last.size if last else 0
            if size == 0 or size == last_size:
                return None
            now = self._clock()
            due = (
                force
                or size - last_size >= self._every_entries
                or last is None
                or (now - last.created_at).total_seconds() >= self._every_seconds
            )
            if not due:
                return None
            record = await self._journal.checkpoint(
                signer=self._signer, origin=self._origin, now=now
            )
        self.changed.set()
        return record

    async def stamp_pending(self, timestamper: TimeStamper) -> int:
        """Time-stamp every checkpoint still without one, oldest first; returns how many.

        Stops at the first failure (TimestampAuthorityError propagates).
        """
        done = 0
        for record in await self._journal.without_timestamp():
            body = SignedNote.parse(record.note).text
            if isinstance(timestamper, AsyncTimeStamper):
                token = await timestamper.async_timestamp(body)
            else:
                token = await asyncio.to_thread(timestamper.timestamp, body)
            await self._journal.attach_timestamp(record.id, token.response_der)
            done += 1
        if done:
            self.changed.set()
        return done

    async def witness_pending(self, witness: Witness, witness_key: VerifierKey) -> int:
        """Have the hub cosign every checkpoint without a cosignature, oldest first."""
        done = 0
        records = await self._journal.checkpoints()
        cosigned = [r for r in records if r.cosigned_note is not None]
        from_size = max((r.size for r in cosigned), default=0)
        for record in records:
            if record.cosigned_note is not None:
                continue
            if record.size < from_size:
                continue  # older than one already witnessed: nothing to prove any more
            proof = (
                await self._journal.consistency_proof(from_size, record.size)
                if 0 < from_size < record.size
                else None
            )
            hashes = list(proof.path) if proof is not None else []
            note = await witness(record.note, hashes, from_size)
            result = verify_note(SignedNote.parse(note), verifier_keys=[witness_key])
            if not result.ok:
                raise TimestampAuthorityError(
                    "the hub's cosignature does not verify: " + "; ".join(result.reasons)
                )
            await self._journal.attach_cosignature(record.id, note)
            from_size = record.size
            done += 1
        if done:
            self.changed.set()
        return done

    async def gap(self) -> CheckpointGap:
        records = await self._journal.checkpoints()
        stamped = [r.size for r in records if r.tsr is not None]
        # A checkpoint older than one the hub cosigned is covered by that one.
        witnessed = max((r.size for r in records if r.cosigned_note is not None), default=-1)
        return CheckpointGap(
            journal_size=await self._journal.size(),
            checkpoints=len(records),
            unstamped=sum(1 for r in records if r.tsr is None),
            unwitnessed=sum(1 for r in records if r.cosigned_note is None and r.size > witnessed),
            latest_stamped_size=max(stamped) if stamped else None,
        )


def proof_json(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]
