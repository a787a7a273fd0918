"""The tamper-evident journal: an append-only RFC 9162 Merkle log in SQLite.

Every event on a dossier is one entry: canonical JSON bytes (RFC 8785), built
with :func:`journal_entry`. The journal stores each entry with its leaf hash
and the stored subtree nodes (:mod:`trust.journal_store`), so roots and
proofs cost O(log n) look-ups, and it records signed checkpoints
(:mod:`trust.checkpoint`) with their timestamp and cosignature once obtained.

A :class:`Journal` is one SQLite connection: use it from one thread. Several
journals (threads, processes) may share a file; for many concurrent
producers use :class:`trust.journal_writer.JournalWriter`, which batches
them into group commits.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import rfc8785

from trust import journal_store as store
from trust.checkpoint import Checkpoint, SignedNote, sign_checkpoint
from trust.errors import JournalError
from trust.journal_store import NODE_LEVEL_STRIDE, CheckpointRecord, StoredTree
from trust.keys import Signer
from trust.merkle import (
    LEAF_PREFIX,
    ConsistencyProof,
    Frontier,
    InclusionProof,
    consistency_proof,
    inclusion_proof,
    root_hash,
)

MAX_ENTRY_SIZE = 64 * 1024
_sha256 = hashlib.sha256


def rfc3339(at: datetime) -> str:
    """``at`` in UTC as RFC 3339 with microseconds, e.g. ``2025-01-31T08:00:00.000000Z``."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a journal time must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def journal_entry(kind: str, subject: str, data: Mapping[str, object], at: datetime) -> bytes:
    """One journal entry: ``{"at", "data", "kind", "subject"}`` as RFC 8785 bytes.

    ``kind`` names the event (``"received"``, ``"sealed"``…), ``subject`` what
    it is about (``"folder/<id>"``), ``data`` its details: JSON values only,
    else ``ValueError`` (integers beyond ±2**53 and NaN are refused by RFC
    8785). The result has no trailing newline.
    """
    if not kind or not subject:
        raise ValueError("a journal entry needs a kind and a subject")
    value: dict[str, Any] = {
        "at": rfc3339(at),
        "data": dict(data),
        "kind": kind,
        "subject": subject,
    }
    entry = rfc8785.dumps(value)
    check_entry(entry)
    return entry


def check_entry(entry: bytes) -> None:
    """Refuse what the journal cannot hold: non-bytes, empty, > 64 KiB, or a newline.

    Newlines are refused so an entry stays one line of an evidence bundle's
    ``entries.jsonl``. That ``entry`` is canonical JSON is NOT checked here.
    """
    if not isinstance(entry, bytes):
        raise TypeError(f"a journal entry is bytes, not {type(entry).__name__}")
    if not 0 < len(entry) <= MAX_ENTRY_SIZE:
        raise ValueError(f"a journal entry holds 1 to {MAX_ENTRY_SIZE} bytes")
    if b"\n" in entry:
        raise ValueError("a journal entry cannot contain a newline")


def _check_batch(batch: list[bytes]) -> None:
    """:func:`check_entry` on every entry, in a few passes at C speed when all is well."""
    if set(map(type, batch)) <= {bytes}:
        lengths = list(map(len, batch))
        if (
            min(lengths, default=1) > 0
            and max(lengths, default=0) <= MAX_ENTRY_SIZE
            and b"\n" not in b"".join(batch)
        ):
            return
    for entry in batch:
        check_entry(entry)


class Journal:
    """An open journal database; see :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._frontier: Frontier | None = None

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (creating if needed) and migrate the journal at ``path``."""
        conn = store.connect(path)
        try:
            store.migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"cannot prepare journal {path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, Path(path))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            conn.execute(begin)
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"journal {self.path}: {exc}") from exc
            raise

    def _frontier_at(self, conn: sqlite3.Connection, size: int) -> Frontier:
        # Another connection may have appended since: reload the O(log n) frontier.
        if self._frontier is None or self._frontier.size != size:
            self._frontier = Frontier.of(StoredTree(conn), size)
        return self._frontier

    def append(self, entry: bytes) -> int:
        """Append one entry in its own durable commit; return its index."""
        return self.append_many((entry,))[0]

    def append_many(self, entries: Iterable[bytes]) -> list[int]:
        """Append entries in one durable transaction (a group commit); return their indexes."""
        batch = list(entries)
        _check_batch(batch)
        return self._append_hashed(batch, [_sha256(LEAF_PREFIX + e).digest() for e in batch])

    def _append_hashed(self, batch: list[bytes], leaves: list[bytes]) -> list[int]:
        """Append checked entries whose leaf hashes the caller computed (JournalWriter's path)."""
        if not batch:
            return []
        with self._transaction("BEGIN IMMEDIATE") as conn:
            frontier = self._frontier_at(conn, store.current_size(conn)).copy()
            first = frontier.size
            nodes = frontier.extend(leaves, every=NODE_LEVEL_STRIDE)
            store.insert(conn, first, leaves, batch, nodes)
        self._frontier = frontier
        return list(range(first, first + len(batch)))

    @property
    def size(self) -> int:
        """The number of committed entries, as of now."""
        try:
            return store.current_size(self._conn)
        except sqlite3.Error as exc:
            raise JournalError(f"journal {self.path}: {exc}") from exc

    def _check_size(self, conn: sqlite3.Connection, size: int | None) -> int:
        current = store.current_size(conn)
        if size is None:
            return current
        if not 0 <= size <= current:
            raise JournalError(f"journal {self.path} has {current} entries, not {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The RFC 9162 root of the first ``size`` entries (default: all)."""
        with self._transaction("BEGIN") as conn:
            return root_hash(StoredTree(conn), self._check_size(conn, size))

    def entry(self, index: int) -> bytes:
        """The exact bytes of entry ``index``."""
        with self._transaction("BEGIN") as conn:
            row = conn.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise JournalError(f"journal {self.path} has no entry {index}")
        entry: bytes = row[0]
        return entry

    def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        """Proof that entry ``index`` is in the tree of the first ``size`` entries."""
        with self._transaction("BEGIN") as conn:
            size = self._check_size(conn, size)
            if not 0 <= index < size:
                raise JournalError(f"entry {index} is not among the first {size} entries")
            return inclusion_proof(StoredTree(conn), index, size)

    def consistency_proof(self, first_size: int, second_size: int) -> ConsistencyProof:
        """Proof that the tree of ``first_size`` entries is a prefix of ``second_size``'s."""
        with self._transaction("BEGIN") as conn:
            second_size = self._check_size(conn, second_size)
            if not 0 <= first_size <= second_size:
                raise JournalError(f"no consistency proof from {first_size} to {second_size}")
            return consistency_proof(StoredTree(conn), first_size, second_size)

    def checkpoint(
        self, *, signer: Signer, origin: str, now: datetime, key_name: str | None = None
    ) -> CheckpointRecord:
        """Sign and record a checkpoint of the whole journal as of this transaction.

        The note is signed with ``signer`` (Ed25519) under ``key_name``, which
        defaults to ``origin`` as c2sp.org/tlog-checkpoint recommends.
        """
        created_at = rfc3339(now)
        with self._transaction("BEGIN IMMEDIATE") as conn:
            size = store.current_size(conn)
            cp = Checkpoint(origin, size, self._frontier_at(conn, size).root())
            note = sign_checkpoint(cp, signer=signer, name=key_name or origin).to_bytes()
            cid = store.insert_checkpoint(
                conn, size=size, root=cp.root, note=note, created_at=created_at
            )
        return CheckpointRecord(
            cid, size, cp.root, note, datetime.fromisoformat(created_at), None, None
        )

    def _record(self, conn: sqlite3.Connection, checkpoint_id: int) -> CheckpointRecord:
        record = store.checkpoint(conn, checkpoint_id)
        if record is None:
            raise JournalError(f"journal {self.path} has no checkpoint {checkpoint_id}")
        return record

    def attach_timestamp(self, checkpoint_id: int, *, tsr: bytes) -> None:
        """Store the RFC 3161 response over checkpoint ``checkpoint_id``'s note body.

        The response is NOT parsed nor verified here (see :mod:`trust.tsp`).
        Attaching the same bytes twice is a no-op; other bytes are refused.
        """
        if not isinstance(tsr, bytes) or not tsr:
            raise ValueError("a timestamp response is non-empty bytes")
        with self._transaction("BEGIN IMMEDIATE") as conn:
            record = self._record(conn, checkpoint_id)
            if record.tsr is not None and record.tsr != tsr:
                raise JournalError(f"checkpoint {checkpoint_id} already has a timestamp")
            store.set_checkpoint_column(conn, checkpoint_id, "tsr", tsr)

    def attach_cosignature(self, checkpoint_id: int, *, cosigned_note: bytes) -> None:
        """Merge a witness's cosigned copy of checkpoint ``checkpoint_id``'s note.

        The copy must carry the same text and the journal's own signature; its
        other signatures are added to those already stored. They are NOT
        verified here: :func:`trust.journal_verify.verify_journal` does, given
        the witness keys.
        """
        incoming = SignedNote.parse(cosigned_note)
        with self._transaction("BEGIN IMMEDIATE") as conn:
            record = self._record(conn, checkpoint_id)
            own = SignedNote.parse(record.note)
            if incoming.text != own.text:
                raise JournalError(f"the cosigned note is not checkpoint {checkpoint_id}")
            if not set(own.signatures) <= set(incoming.signatures):
                raise JournalError("the cosigned note lacks the journal's own signature")
            merged = own if record.cosigned_note is None else SignedNote.parse(record.cosigned_note)
            for signature in incoming.signatures:
                merged = merged.with_signature(signature)
            store.set_checkpoint_column(conn, checkpoint_id, "cosigned_note", merged.to_bytes())

    def get_checkpoint(self, checkpoint_id: int) -> CheckpointRecord:
        with self._transaction("BEGIN") as conn:
            return self._record(conn, checkpoint_id)

    def latest_checkpoint(self) -> CheckpointRecord | None:
        with self._transaction("BEGIN") as conn:
            return store.latest_checkpoint(conn)

    def checkpoints(self) -> list[CheckpointRecord]:
        with self._transaction("BEGIN") as conn:
            return store.checkpoints(conn)

    def checkpoints_without_timestamp(self) -> list[CheckpointRecord]:
        """Checkpoints still waiting for a TSA answer (queued through an outage)."""
        with self._transaction("BEGIN") as conn:
            return store.checkpoints(conn, lacking="tsr")

    def checkpoints_without_cosignature(self) -> list[CheckpointRecord]:
        """Checkpoints still waiting for the witness's cosignature."""
        with self._transaction("BEGIN") as conn:
            return store.checkpoints(conn, lacking="cosigned_note")
