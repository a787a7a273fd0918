"""Offline journal verification: a clean journal verifies, and every tampering is caught."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trust import journal_verify
from trust.checkpoint import SIG_TYPE_COSIGNATURE_V1, SignedNote, VerifierKey, cosign
from trust.errors import JournalError
from trust.journal import Journal
from trust.journal_verify import (
    verify_checkpoint_consistency,
    verify_entry_inclusion,
    verify_journal,
)
from trust.keys import FileSigner, KeyAlgorithm
from trust.merkle import ConsistencyProof
from trust.results import VerificationResult

ORIGIN = "gateway.example.org/journal"
WITNESS = "hub.example.org/witness"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SIGNER = FileSigner.generate(KeyAlgorithm.ED25519)
WITNESS_SIGNER = FileSigner.generate(KeyAlgorithm.ED25519)
KEY = VerifierKey.for_signer(ORIGIN, SIGNER)
WITNESS_KEY = VerifierKey.for_signer(WITNESS, WITNESS_SIGNER, sig_type=SIG_TYPE_COSIGNATURE_V1)
TRIGGERS = (
    "entries_no_update",
    "entries_no_delete",
    "nodes_no_update",
    "nodes_no_delete",
    "checkpoints_signed",
    "checkpoints_no_delete",
)


def _entries(n: int, tag: str = "") -> list[bytes]:
    return [b'{"event":%d,"tag":"%s"}' % (i, tag.encode()) for i in range(n)]


def _build(path: Path, entries: list[bytes], checkpoint_sizes: list[int]) -> None:
    with Journal.open(path) as journal:
        done = 0
        for size in sorted(set(checkpoint_sizes)):
            journal.append_many(entries[done:size])
            done = size
            journal.checkpoint(signer=SIGNER, origin=ORIGIN, now=NOW)
        journal.append_many(entries[done:])


def _attacker(path: Path) -> sqlite3.Connection:
    """Someone holding the file: triggers are no obstacle."""
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def _verify(path: Path, **kwargs: object) -> VerificationResult:
    return verify_journal(path, journal_keys=[KEY], **kwargs)  # type: ignore[arg-type]


def _failed(result: VerificationResult) -> set[str]:
    return {c.name for c in result.checks if not c.ok}


def test_a_clean_journal_verifies_and_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(100), [10, 50, 100])
    calls: list[tuple[int, int]] = []
    result = _verify(path, progress=lambda done, total: calls.append((done, total)))
    assert result.ok, result.reasons
    names = [c.name for c in result.checks]
    for expected in ("leaf hashes", "stored nodes", "checkpoint roots", "checkpoint signatures"):
        assert expected in names
    assert calls[-1] == (100, 100)


def test_progress_is_reported_as_the_pass_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(50), [50])
    monkeypatch.setattr(journal_verify, "PROGRESS_EVERY", 16)
    calls: list[tuple[int, int]] = []
    assert _verify(path, progress=lambda done, total: calls.append((done, total))).ok
    assert calls == [(16, 50), (32, 50), (48, 50), (50, 50)]


def test_swapped_checkpoints_are_out_of_order(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(20), [10, 20])
    conn = _attacker(path)
    rows = {
        cid: (size, root, note)
        for cid, size, root, note in conn.execute("SELECT id, size, root, note FROM checkpoints")
    }
    update = "UPDATE checkpoints SET size = ?, root = ?, note = ? WHERE id = ?"
    conn.execute(update, (*rows[2], 1))
    conn.execute(update, (*rows[1], 2))
    conn.close()
    result = _verify(path)
    assert _failed(result) == {"checkpoint order"}
    assert "checkpoint 2 is smaller than checkpoint 1" in " ".join(result.reasons)


def test_missing_nodes_break_consistency_proofs_too(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(40), [20, 40])
    conn = _attacker(path)
    conn.execute("DELETE FROM nodes WHERE level = 4 AND idx = 0")  # leaves 0-15, in the 20→40 proof
    conn.close()
    assert _failed(_verify(path)) == {"stored nodes", "checkpoint consistency"}


@pytest.mark.parametrize(
    ("statement", "failed"),
    [
        # SQLite's replace() on a BLOB returns TEXT: the entry changes type and content.
        (
            "UPDATE entries SET entry = replace(entry, 'event', 'Event') WHERE idx = 3",
            "leaf hashes",
        ),
        ("UPDATE entries SET entry = CAST(entry AS TEXT) WHERE idx = 3", "leaf hashes"),
        ("UPDATE entries SET entry = 42 WHERE idx = 3", "leaf hashes"),
        ("UPDATE nodes SET hash = hex(hash) WHERE level = 4 AND idx = 0", "stored nodes"),
        ("UPDATE checkpoints SET size = 'twenty' WHERE id = 1", "checkpoint notes"),
        ("UPDATE checkpoints SET note = CAST(note AS TEXT) WHERE id = 2", "checkpoint notes"),
        ("UPDATE checkpoints SET root = 7 WHERE id = 1", "checkpoint notes"),
        ("UPDATE checkpoints SET created_at = x'00' WHERE id = 1", None),
    ],
)
def test_columns_rewritten_with_other_types_are_caught_not_crashed_on(
    tmp_path: Path, statement: str, failed: str | None
) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(40), [20, 40])
    conn = _attacker(path)
    conn.execute(statement)
    conn.close()
    result = _verify(path)
    if failed is None:  # the creation time is not signed, nor checked
        assert result.ok
    else:
        assert failed in _failed(result)


def test_a_foreign_database_is_invalid_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    result = _verify(path)
    assert _failed(result) == {"journal database readable"}
    assert "not a Sceau journal" in result.reasons[0]


def test_entries_after_the_last_checkpoint_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(30), [20])
    result = _verify(path)
    assert result.ok
    assert any("10 entries after the last checkpoint" in c.detail for c in result.checks)


def test_unsigned_and_empty_journals(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    Journal.open(empty).close()
    assert _verify(empty).ok
    unsigned = tmp_path / "unsigned.db"
    _build(unsigned, _entries(5), [])
    assert _failed(_verify(unsigned)) == {"signed checkpoints"}


def test_a_wrong_key_or_origin_fails(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(10), [10])
    stranger = VerifierKey.for_signer(ORIGIN, FileSigner.generate(KeyAlgorithm.ED25519))
    assert _failed(verify_journal(path, journal_keys=[stranger])) == {"checkpoint signatures"}
    assert _failed(_verify(path, origin="other.example/log")) == {"checkpoint notes"}


def test_witness_cosignatures_are_checked_when_keys_are_given(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    _build(path, _entries(10), [5, 10])
    with Journal.open(path) as journal:
        for record in journal.checkpoints():
            note = SignedNote.parse(record.note)
            cosigned = cosign(note, signer=WITNESS_SIGNER, name=WITNESS, at=NOW)
            journal.attach_cosignature(record.id, cosigned_note=cosigned.to_bytes())
    assert _verify(path, witness_keys=[WITNESS_KEY]).ok
    impostor = FileSigner.generate(KeyAlgorithm.ED25519)
    conn = _attacker(path)
    note = SignedNote.parse(conn.execute("SELECT note FROM checkpoints WHERE id = 2").fetchone()[0])
    forged = cosign(note, signer=impostor, name=WITNESS, at=NOW).to_bytes()
    conn.execute("UPDATE checkpoints SET cosigned_note = ? WHERE id = 2", (forged,))
    conn.close()
    assert _failed(_verify(path, witness_keys=[WITNESS_KEY])) == {"witness cosignatures"}
    assert _verify(path).ok  # without witness keys, cosignatures are not looked at


def test_unreadable_and_outdated_files(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        _verify(tmp_path / "missing.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all, " * 100)
    assert _failed(_verify(garbage)) == {"journal database readable"}
    old = tmp_path / "old.db"
    Journal.open(old).close()
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    assert _failed(_verify(old)) == {"journal schema"}


def test_a_larger_journal_checks_every_stored_level(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    n = 20_000
    _build(path, _entries(n), [4096, 12_345, n])
    assert _verify(path).ok
    conn = _attacker(path)
    assert conn.execute("SELECT count(*) FROM nodes WHERE level = 12").fetchone()[0] == n >> 12
    conn.execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 12 AND idx = 3")
    conn.close()
    assert _failed(_verify(path)) == {"stored nodes"}


def _flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x20]) + data[position + 1 :]


TAMPERINGS = (
    "flip an entry byte",
    "store an entry as text",
    "flip a leaf hash",
    "flip a stored node",
    "rewrite an entry consistently",
    "delete an entry",
    "swap two entries",
    "truncate",
    "swap two checkpoints",
    "flip a checkpoint note byte",
    "change a checkpoint root column",
    "delete a checkpoint",
)


def _rebuild_with(path: Path, entries: list[bytes]) -> None:
    """Rewrite all entries and nodes consistently, keeping the old signed checkpoints."""
    fresh = path.with_suffix(".fresh")
    _build(fresh, entries, [])
    conn = _attacker(path)
    conn.execute("ATTACH DATABASE ? AS fresh", (str(fresh),))
    conn.execute("DELETE FROM entries")
    conn.execute("DELETE FROM nodes")
    conn.execute("INSERT INTO entries SELECT * FROM fresh.entries")
    conn.execute("INSERT INTO nodes SELECT * FROM fresh.nodes")
    conn.execute("DETACH DATABASE fresh")
    conn.close()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(16, 70),
    extra_sizes=st.lists(st.integers(1, 70), max_size=3),
    tampering=st.sampled_from(TAMPERINGS),
    data=st.data(),
)
def test_any_tampering_is_detected(
    tmp_path_factory: pytest.TempPathFactory,
    n: int,
    extra_sizes: list[int],
    tampering: str,
    data: st.DataObject,
) -> None:
    path = tmp_path_factory.mktemp("j") / "j.db"
    entries = _entries(n)
    sizes = sorted({n // 2, n, *(s for s in extra_sizes if s <= n)})
    _build(path, entries, sizes)
    assert _verify(path).ok
    i = data.draw(st.integers(0, n - 1), label="i")
    conn = _attacker(path)
    if tampering == "flip an entry byte":
        at = data.draw(st.integers(0, 1000), label="at")
        conn.execute("UPDATE entries SET entry = ? WHERE idx = ?", (_flip(entries[i], at), i))
    elif tampering == "store an entry as text":
        conn.execute("UPDATE entries SET entry = CAST(entry AS TEXT) WHERE idx = ?", (i,))
    elif tampering == "flip a leaf hash":
        (leaf,) = conn.execute("SELECT leaf_hash FROM entries WHERE idx = ?", (i,)).fetchone()
        conn.execute("UPDATE entries SET leaf_hash = ? WHERE idx = ?", (_flip(leaf, i), i))
    elif tampering == "flip a stored node":
        level, idx, h = conn.execute("SELECT * FROM nodes ORDER BY random() LIMIT 1").fetchone()
        conn.execute(
            "UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?", (_flip(h, i), level, idx)
        )
    elif tampering == "rewrite an entry consistently":
        conn.close()
        _rebuild_with(path, [*entries[:i], b'{"forged":true}', *entries[i + 1 :]])
    elif tampering == "delete an entry":
        conn.execute("DELETE FROM entries WHERE idx = ?", (i,))
    elif tampering == "swap two entries":
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="j")
        rows = {
            idx: (leaf, entry)
            for idx, leaf, entry in conn.execute(
                "SELECT * FROM entries WHERE idx IN (?, ?)", (i, j)
            )
        }
        conn.execute("UPDATE entries SET leaf_hash = ?, entry = ? WHERE idx = ?", (*rows[j], i))
        conn.execute("UPDATE entries SET leaf_hash = ?, entry = ? WHERE idx = ?", (*rows[i], j))
    elif tampering == "truncate":
        keep = data.draw(st.integers(0, n - 1), label="keep")
        conn.execute("DELETE FROM entries WHERE idx >= ?", (keep,))
        conn.execute("DELETE FROM nodes WHERE (idx + 1) << level > ?", (keep,))
    elif tampering == "swap two checkpoints":
        first, second = data.draw(
            st.lists(st.sampled_from(range(1, len(sizes) + 1)), min_size=2, max_size=2, unique=True)
        )
        rows = {
            cid: (size, root, note)
            for cid, size, root, note in conn.execute(
                "SELECT id, size, root, note FROM checkpoints WHERE id IN (?, ?)", (first, second)
            )
        }
        update = "UPDATE checkpoints SET size = ?, root = ?, note = ? WHERE id = ?"
        conn.execute(update, (*rows[second], first))
        conn.execute(update, (*rows[first], second))
    elif tampering == "flip a checkpoint note byte":
        cid = data.draw(st.integers(1, len(sizes)), label="checkpoint")
        (note,) = conn.execute("SELECT note FROM checkpoints WHERE id = ?", (cid,)).fetchone()
        at = data.draw(st.integers(0, len(note) - 1), label="at")
        conn.execute("UPDATE checkpoints SET note = ? WHERE id = ?", (_flip(note, at), cid))
    elif tampering == "change a checkpoint root column":
        cid = data.draw(st.integers(1, len(sizes)), label="checkpoint")
        conn.execute("UPDATE checkpoints SET root = zeroblob(32) WHERE id = ?", (cid,))
    else:
        cid = data.draw(st.integers(1, len(sizes) - 1), label="checkpoint")
        conn.execute("DELETE FROM checkpoints WHERE id = ?", (cid,))
    conn.close()
    result = _verify(path)
    assert not result.ok, tampering
    assert result.reasons


def test_one_entry_is_proven_under_a_signed_checkpoint(tmp_path: Path) -> None:
    entries = _entries(40)
    with Journal.open(tmp_path / "j.db") as journal:
        journal.append_many(entries)
        record = journal.checkpoint(signer=SIGNER, origin=ORIGIN, now=NOW)
        proof = journal.inclusion_proof(17, record.size)
        older = journal.inclusion_proof(17, 30)
    good = verify_entry_inclusion(
        entries[17], proof, checkpoint_note=record.note, journal_keys=[KEY]
    )
    assert good.ok, good.reasons
    assert not verify_entry_inclusion(
        entries[18], proof, checkpoint_note=record.note, journal_keys=[KEY]
    ).ok
    wrong_size = verify_entry_inclusion(
        entries[17], older, checkpoint_note=record.note, journal_keys=[KEY]
    )
    assert _failed(wrong_size) == {"proof size"}
    stranger = VerifierKey.for_signer(ORIGIN, FileSigner.generate(KeyAlgorithm.ED25519))
    assert not verify_entry_inclusion(
        entries[17], proof, checkpoint_note=record.note, journal_keys=[stranger]
    ).ok
    assert not verify_entry_inclusion(
        entries[17], proof, checkpoint_note=b"garbage", journal_keys=[KEY]
    ).ok
    assert not verify_checkpoint_consistency(
        b"garbage", record.note, ConsistencyProof(1, 40, ()), journal_keys=[KEY]
    ).ok


def test_two_checkpoints_are_proven_consistent_or_not(tmp_path: Path) -> None:
    entries = _entries(50)
    with Journal.open(tmp_path / "a.db") as journal:
        journal.append_many(entries[:20])
        old = journal.checkpoint(signer=SIGNER, origin=ORIGIN, now=NOW)
        journal.append_many(entries[20:])
        new = journal.checkpoint(signer=SIGNER, origin=ORIGIN, now=NOW)
        proof = journal.consistency_proof(old.size, new.size)
    with Journal.open(tmp_path / "b.db") as forked:
        forked.append_many([*entries[:19], b'{"rewritten":true}', *entries[20:]])
        fork = forked.checkpoint(signer=SIGNER, origin=ORIGIN, now=NOW)
        fork_proof = forked.consistency_proof(20, 50)
    good = verify_checkpoint_consistency(old.note, new.note, proof, journal_keys=[KEY])
    assert good.ok, good.reasons
    assert _failed(
        verify_checkpoint_consistency(new.note, old.note, proof, journal_keys=[KEY])
    ) == {"proof sizes"}
    rewritten = verify_checkpoint_consistency(old.note, fork.note, fork_proof, journal_keys=[KEY])
    assert _failed(rewritten) == {"consistency proof"}
    with Journal.open(tmp_path / "c.db") as other_log:
        other_log.append_many(entries)
        elsewhere = other_log.checkpoint(signer=SIGNER, origin="other.example/log", now=NOW)
    other_key = VerifierKey.for_signer("other.example/log", SIGNER)
    assert _failed(
        verify_checkpoint_consistency(
            old.note, elsewhere.note, proof, journal_keys=[KEY, other_key]
        )
    ) == {"same log"}
