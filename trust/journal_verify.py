"""Offline verification of a journal database, of one entry, of two checkpoints.

:func:`verify_journal` reads the database once, in one snapshot, streaming
every entry: it recomputes each leaf hash and every stored node, recomputes
the root at each checkpoint's size, and checks each checkpoint's signature,
order and consistency with the one before. It opens the file read-only and
never migrates it.

What it cannot see: entries appended after the last checkpoint are only
checked for internal consistency (nothing signed them yet), and a journal
rewritten together with all its checkpoints by the holder of the journal key
verifies. The witness's cosignatures (``witness_keys``) and the RFC 3161
responses (stored, but NOT checked here: see :mod:`trust.tsp`) are what pin
history outside the box.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from trust import journal_store as store
from trust.checkpoint import Checkpoint, SignedNote, VerifierKey, verify_note
from trust.errors import JournalError, MalformedInputError
from trust.journal_store import NODE_LEVEL_STRIDE, StoredTree
from trust.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    NODE_PREFIX,
    ConsistencyProof,
    InclusionProof,
    consistency_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from trust.results import Check, VerificationResult

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 1 << 16
_MAX_LISTED = 5
_NODES_AT = "SELECT idx, hash FROM nodes WHERE level = ? ORDER BY idx"


class _Findings:
    """Failures of one kind: all counted, the first few named."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.listed: list[str] = []

    def add(self, what: str) -> None:
        self.count += 1
        if len(self.listed) < _MAX_LISTED:
            self.listed.append(what)

    def check(self, ok_detail: str) -> Check:
        if not self.count:
            return Check(self.name, True, ok_detail)
        more = self.count - len(self.listed)
        return Check(self.name, False, "; ".join(self.listed) + (f"; {more} more" if more else ""))


@dataclass(frozen=True)
class _Row:
    """A checkpoints row as stored, its types not yet trusted."""

    id: int
    size: object
    root: object
    note: object
    cosigned_note: object

    def well_typed(self) -> bool:
        return (
            type(self.size) is int
            and type(self.root) is bytes
            and type(self.note) is bytes
            and (self.cosigned_note is None or type(self.cosigned_note) is bytes)
        )


def _fold(stack: list[bytes]) -> bytes:
    result = stack[-1]
    for h in reversed(stack[:-1]):
        result = node_hash(h, result)
    return result


def _stream(
    conn: sqlite3.Connection, total: int, sizes: set[int], progress: Progress | None
) -> tuple[int, dict[int, bytes], list[Check]]:
    """One pass over the entries: leaf hashes, stored nodes, and the roots at ``sizes``."""
    order, leaves, nodes = _Findings("entries"), _Findings("leaf hashes"), _Findings("stored nodes")
    stored: dict[int, Iterator[tuple[int, bytes]]] = {}
    roots = {0: EMPTY_ROOT}
    sha, stack, n = hashlib.sha256, list[bytes](), 0
    stops = sorted({s for s in sizes if 0 < s <= total} | set(range(0, total, PROGRESS_EVERY)[1:]))
    stops.append(-1)
    stops.reverse()
    stop = stops.pop()
    for idx, stored_leaf, entry in conn.execute(
        "SELECT idx, leaf_hash, entry FROM entries ORDER BY idx"
    ):
        if idx != n:
            order.add(f"entry {n} is missing (the next stored index is {idx})")
            break
        try:
            h = sha(LEAF_PREFIX + entry).digest()
        except TypeError:  # an entry rewritten as TEXT or a number: hash what it says
            leaves.add(f"entry {n} is not stored as bytes")
            h = sha(LEAF_PREFIX + str(entry).encode()).digest()
        if h != stored_leaf:
            leaves.add(f"entry {n} does not match its leaf hash")
        m, level = n, 0
        while m & 1:
            h = sha(NODE_PREFIX + stack.pop() + h).digest()
            m >>= 1
            level += 1
            if not level % NODE_LEVEL_STRIDE:
                if level not in stored:
                    stored[level] = iter(conn.execute(_NODES_AT, (level,)))
                if next(stored[level], None) != (m, h):
                    nodes.add(f"level {level} node {m} is missing or wrong")
        stack.append(h)
        n += 1
        if n == stop:  # a checkpoint's size or a progress report: rare
            if n in sizes:
                roots[n] = _fold(stack)
            if progress is not None and not n % PROGRESS_EVERY:
                progress(n, total)
            stop = stops.pop()
    if progress is not None:
        progress(n, total)
    for level, rest in stored.items():
        for idx, _ in rest:
            nodes.add(f"level {level} node {idx} is beyond the entries")
    for (level,) in conn.execute("SELECT DISTINCT level FROM nodes ORDER BY level"):
        if level not in stored:
            nodes.add(f"unexpected nodes at level {level}")
    checks = [
        order.check(f"{n} entries, contiguous" if n else "no entries"),
        leaves.check(f"{n} leaf hashes recomputed"),
        nodes.check("every stored node recomputed"),
    ]
    return n, roots, checks


def _checkpoint_checks(
    conn: sqlite3.Connection,
    records: list[_Row],
    size: int,
    roots: dict[int, bytes],
    journal_keys: list[VerifierKey],
    witness_keys: list[VerifierKey],
    origin: str | None,
) -> list[Check]:
    form, match, sigs = (
        _Findings("checkpoint notes"),
        _Findings("checkpoint roots"),
        _Findings("checkpoint signatures"),
    )
    order, consistent = _Findings("checkpoint order"), _Findings("checkpoint consistency")
    cosigs = _Findings("witness cosignatures")
    previous: tuple[int, Checkpoint] | None = None
    for number, record in enumerate(records, start=1):
        name = f"checkpoint {record.id}"
        if record.id != number:
            order.add(f"{name} should be number {number}: a checkpoint was removed")
        if not record.well_typed():
            form.add(f"{name}: a column holds the wrong type")
            continue
        assert isinstance(record.note, bytes)
        try:
            note = SignedNote.parse(record.note)
            cp = note.checkpoint()
        except MalformedInputError as exc:
            form.add(f"{name}: {exc.message}")
            continue
        if (cp.size, cp.root) != (record.size, record.root) or (origin and cp.origin != origin):
            form.add(f"{name}: the note does not say what its row says")
        if cp.size > size:
            match.add(f"{name} covers {cp.size} entries; the journal holds {size}")
        elif roots.get(cp.size) != cp.root:
            match.add(f"{name}: the entries do not hash to its root")
        verdict = verify_note(note, verifier_keys=journal_keys)
        if not verdict.ok:
            sigs.add(f"{name}: {'; '.join(verdict.reasons)}")
        if previous is not None:
            before_id, before = previous
            if cp.size < before.size:
                order.add(f"{name} is smaller than checkpoint {before_id} before it")
            elif cp.size <= size:
                try:
                    proof = consistency_proof(StoredTree(conn), before.size, cp.size)
                    ok = verify_consistency(proof, first_root=before.root, second_root=cp.root)
                except JournalError:
                    ok = False
                if not ok:
                    consistent.add(f"{name} is not consistent with checkpoint {before_id}")
        if witness_keys and isinstance(record.cosigned_note, bytes):
            cosigned = verify_note(record.cosigned_note, verifier_keys=witness_keys)
            same = cosigned.ok and SignedNote.parse(record.cosigned_note).text == note.text
            if not same:
                cosigs.add(f"{name}: {'; '.join(cosigned.reasons) or 'another text'}")
        previous = (record.id, cp)
    count = len(records)
    checks = [
        form.check(f"{count} well-formed"),
        match.check(f"{count} roots recomputed"),
        sigs.check(f"{count} signed by the journal key"),
        order.check("sizes never shrink"),
        consistent.check(f"{max(count - 1, 0)} consistency proofs"),
    ]
    if witness_keys:
        checks.append(cosigs.check(f"{sum(r.cosigned_note is not None for r in records)} cosigned"))
    return checks


def verify_journal(
    path: str | Path,
    *,
    journal_keys: Iterable[VerifierKey],
    witness_keys: Iterable[VerifierKey] = (),
    origin: str | None = None,
    progress: Progress | None = None,
) -> VerificationResult:
    """Verify a whole journal database offline; ``progress(done, total)`` reports the pass.

    Raises :class:`~trust.errors.JournalError` only if there is no such file;
    an unreadable, damaged or tampered database gives an INVALID result.
    """
    path = Path(path)
    if not path.is_file():
        raise JournalError(f"journal {path} does not exist")
    subject = f"journal {path}"
    try:
        conn = store.connect(path, read_only=True)
    except JournalError as exc:
        return VerificationResult(
            subject, (Check("journal database readable", False, exc.message),)
        )
    try:
        conn.execute("BEGIN")
        version = store.schema_version(conn)
        if version != store.SCHEMA_VERSION:
            detail = f"version {version}, expected {store.SCHEMA_VERSION}; open it once to migrate"
            return VerificationResult(subject, (Check("journal schema", False, detail),))
        total = store.current_size(conn)
        records = [
            _Row(*row)
            for row in conn.execute(
                "SELECT id, size, root, note, cosigned_note FROM checkpoints ORDER BY id"
            )
        ]
        sizes = {r.size for r in records if type(r.size) is int}
        size, roots, checks = _stream(conn, total, sizes, progress)
        checks += _checkpoint_checks(
            conn, records, size, roots, list(journal_keys), list(witness_keys), origin
        )
        signed = max(sizes, default=0)
        if records or size == 0:
            tail = f"{size - signed} entries after the last checkpoint" if size > signed else ""
            checks.append(Check("signed checkpoints", True, tail or "all entries are signed"))
        else:
            checks.append(Check("signed checkpoints", False, f"none of {size} entries is signed"))
        return VerificationResult(subject, (Check("journal schema", True), *checks))
    except (sqlite3.DatabaseError, JournalError) as exc:
        detail = exc.message if isinstance(exc, JournalError) else str(exc)
        return VerificationResult(subject, (Check("journal database readable", False, detail),))
    finally:
        conn.close()


def _note_checks(
    label: str, note: bytes, keys: list[VerifierKey]
) -> tuple[Checkpoint | None, list[Check]]:
    result = verify_note(note, verifier_keys=keys)
    checks = [Check(f"{label}: {c.name}", c.ok, c.detail) for c in result.checks]
    try:
        return SignedNote.parse(note).checkpoint(), checks
    except MalformedInputError as exc:
        return None, [*checks, Check(f"{label}: checkpoint", False, exc.message)]


def verify_entry_inclusion(
    entry: bytes,
    proof: InclusionProof,
    *,
    checkpoint_note: bytes,
    journal_keys: Iterable[VerifierKey],
) -> VerificationResult:
    """Verify that ``entry`` is in the journal the signed ``checkpoint_note`` describes."""
    cp, checks = _note_checks("checkpoint", checkpoint_note, list(journal_keys))
    subject = f"journal entry {proof.index}"
    if cp is None:
        return VerificationResult(subject, tuple(checks))
    if proof.tree_size != cp.size:
        checks.append(Check("proof size", False, f"proof for {proof.tree_size}, note {cp.size}"))
    else:
        ok = verify_inclusion(proof, leaf=leaf_hash(entry), root=cp.root)
        checks.append(Check("inclusion proof", ok, "" if ok else "does not lead to the root"))
    return VerificationResult(subject, tuple(checks))


def verify_checkpoint_consistency(
    old_note: bytes,
    new_note: bytes,
    proof: ConsistencyProof,
    *,
    journal_keys: Iterable[VerifierKey],
) -> VerificationResult:
    """Verify that the signed ``new_note`` extends the signed ``old_note`` (same log)."""
    keys = list(journal_keys)
    old, old_checks = _note_checks("old checkpoint", old_note, keys)
    new, new_checks = _note_checks("new checkpoint", new_note, keys)
    checks = old_checks + new_checks
    subject = "checkpoint consistency"
    if old is None or new is None:
        return VerificationResult(subject, tuple(checks))
    if old.origin != new.origin:
        checks.append(Check("same log", False, f"{old.origin} vs {new.origin}"))
    elif (proof.first_size, proof.second_size) != (old.size, new.size):
        checks.append(Check("proof sizes", False, "the proof is for other checkpoints"))
    else:
        ok = verify_consistency(proof, first_root=old.root, second_root=new.root)
        checks.append(Check("consistency proof", ok, "" if ok else "history was rewritten"))
    return VerificationResult(subject, tuple(checks))
