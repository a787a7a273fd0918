"""The SQLite journal: storage, proofs, checkpoints, group commit, and surviving kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from trust import journal_store
from trust.checkpoint import SIG_TYPE_COSIGNATURE_V1, SignedNote, VerifierKey, cosign, verify_note
from trust.errors import JournalError
from trust.journal import MAX_ENTRY_SIZE, Journal, journal_entry
from trust.journal_verify import verify_journal
from trust.journal_writer import AsyncJournalWriter, JournalWriter
from trust.keys import FileSigner, KeyAlgorithm
from trust.merkle import (
    MemoryTree,
    leaf_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

ORIGIN = "gateway.example.org/journal"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
REPO = Path(__file__).parents[3]


def _entries(n: int, tag: str = "e") -> list[bytes]:
    return [journal_entry("received", f"folder/{tag}{i}", {"i": i}, NOW) for i in range(n)]


@pytest.fixture(scope="module")
def signer() -> FileSigner:
    return FileSigner.generate(KeyAlgorithm.ED25519)


def test_a_new_journal_is_a_versioned_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal.open(path) as journal:
        assert journal.size == 0
        assert journal.root() == tree_hash([])
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == journal_store.SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == journal_store.APPLICATION_ID
        conn.close()
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_an_old_schema_is_migrated_at_open_keeping_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in journal_store._MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id={journal_store.APPLICATION_ID}")
    conn.execute("PRAGMA user_version=1")
    entry = _entries(1)[0]
    conn.execute("INSERT INTO entries VALUES (0, ?, ?)", (leaf_hash(entry), entry))
    conn.close()
    with Journal.open(path) as journal:
        assert journal.size == 1
        assert journal.entry(0) == entry
        assert journal.checkpoints() == []
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == journal_store.SCHEMA_VERSION
    check.close()


def test_foreign_or_newer_databases_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="not a Sceau journal"):
        Journal.open(foreign)
    newer = tmp_path / "newer.db"
    Journal.open(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version={journal_store.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="newer") as info:
        Journal.open(newer)
    assert "Upgrade" in info.value.diagnostics()
    other_app = tmp_path / "other.db"
    conn = sqlite3.connect(other_app)
    conn.execute("PRAGMA application_id=7")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="not a Sceau journal"):
        Journal.open(other_app)


def test_journal_entry_is_canonical_json_in_utc() -> None:
    at = datetime(2026, 3, 1, 10, 30, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))
    entry = journal_entry("sealed", "folder/42", {"sha256": "ab", "n": 1, "a": [True, None]}, at)
    assert entry == (
        b'{"at":"2026-03-01T09:30:00.250000Z","data":{"a":[true,null],"n":1,"sha256":"ab"},'
        b'"kind":"sealed","subject":"folder/42"}'
    )
    assert rfc8785.dumps(json.loads(entry)) == entry
    with pytest.raises(ValueError, match="timezone"):
        journal_entry("k", "s", {}, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        journal_entry("", "s", {}, NOW)
    with pytest.raises(ValueError):
        journal_entry("k", "s", {"x": "y" * MAX_ENTRY_SIZE}, NOW)
    for unrepresentable in (2**60, float("nan"), object()):
        with pytest.raises(ValueError):
            journal_entry("k", "s", {"x": unrepresentable}, NOW)


def test_entries_the_journal_cannot_hold_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.db") as journal:
        good = _entries(1)[0]
        for bad in (b"", b"a\nb", b"x" * (MAX_ENTRY_SIZE + 1)):
            with pytest.raises(ValueError):
                journal.append_many([good, bad])
        with pytest.raises(TypeError):
            journal.append("text")  # type: ignore[arg-type]
        assert journal.size == 0
        assert journal.append_many([]) == []
        assert journal.append(b"x" * MAX_ENTRY_SIZE) == 0


def test_append_and_read_back(tmp_path: Path) -> None:
    entries = _entries(300)
    with Journal.open(tmp_path / "j.db") as journal:
        assert journal.append(entries[0]) == 0
        assert journal.append_many(entries[1:200]) == list(range(1, 200))
        assert [journal.append(e) for e in entries[200:]] == list(range(200, 300))
        assert journal.size == 300
        assert all(journal.entry(i) == e for i, e in enumerate(entries))
        for n in (0, 1, 2, 15, 16, 17, 255, 256, 257, 300):
            assert journal.root(n) == tree_hash(entries[:n])
        with pytest.raises(JournalError):
            journal.entry(300)
        with pytest.raises(JournalError):
            journal.root(301)
        with pytest.raises(JournalError):
            journal.inclusion_proof(5, 301)
        with pytest.raises(JournalError):
            journal.inclusion_proof(5, 5)
        with pytest.raises(JournalError):
            journal.consistency_proof(6, 5)


def test_only_every_fourth_level_of_nodes_is_stored(tmp_path: Path) -> None:
    n = 1000
    with Journal.open(tmp_path / "j.db") as journal:
        journal.append_many(_entries(n))
        rows = journal._conn.execute("SELECT level, count(*) FROM nodes GROUP BY level").fetchall()
    assert rows == [(4, n >> 4), (8, n >> 8)]


@settings(max_examples=25, deadline=None)
@given(batches=st.lists(st.integers(1, 40), min_size=1, max_size=8), data=st.data())
def test_proofs_from_the_database_verify_for_any_sizes(
    tmp_path_factory: pytest.TempPathFactory, batches: list[int], data: st.DataObject
) -> None:
    total = sum(batches)
    entries = _entries(total)
    with Journal.open(tmp_path_factory.mktemp("j") / "j.db") as journal:
        start = 0
        for size in batches:
            assert journal.append_many(entries[start : start + size]) == list(
                range(start, start + size)
            )
            start += size
        tree = MemoryTree.of_entries(entries)
        n = data.draw(st.integers(1, total), label="n")
        m = data.draw(st.integers(0, n), label="m")
        i = data.draw(st.integers(0, n - 1), label="i")
        assert journal.root() == tree.root()
        proof = journal.inclusion_proof(i, n)
        assert verify_inclusion(proof, leaf=leaf_hash(entries[i]), root=tree.root(n))
        consistency = journal.consistency_proof(m, n)
        assert verify_consistency(consistency, first_root=tree.root(m), second_root=tree.root(n))
        for k in range(n):
            assert verify_inclusion(
                journal.inclusion_proof(k, n), leaf=leaf_hash(entries[k]), root=tree.root(n)
            )


def test_entries_and_nodes_are_append_only_in_the_database(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.db") as journal:
        journal.append_many(_entries(20))
        conn = journal._conn
        for statement in (
            "UPDATE entries SET entry = x'00' WHERE idx = 1",
            "DELETE FROM entries WHERE idx = 19",
            "UPDATE nodes SET hash = x'00'",
            "DELETE FROM nodes",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        assert journal.size == 20


def test_two_connections_appending_in_turn_stay_one_tree(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    entries = _entries(90)
    with Journal.open(path) as a, Journal.open(path) as b:
        for k in range(0, 90, 10):
            (a if k % 20 else b).append_many(entries[k : k + 10])
        assert a.root() == b.root() == tree_hash(entries)
        assert a.append(b"after") == 90
        assert b.root() == tree_hash([*entries, b"after"])


def test_checkpoints_are_signed_recorded_and_queued(tmp_path: Path, signer: FileSigner) -> None:
    key = VerifierKey.for_signer(ORIGIN, signer)
    with Journal.open(tmp_path / "j.db") as journal:
        assert journal.latest_checkpoint() is None
        journal.append_many(_entries(10))
        first = journal.checkpoint(signer=signer, origin=ORIGIN, now=NOW)
        journal.append_many(_entries(5, "f"))
        second = journal.checkpoint(signer=signer, origin=ORIGIN, now=NOW + timedelta(seconds=5))
        assert (first.id, first.size, second.id, second.size) == (1, 10, 2, 15)
        assert first.root == journal.root(10)
        assert first.created_at == NOW
        note = SignedNote.parse(second.note)
        assert note.checkpoint().root == journal.root()
        assert verify_note(second.note, verifier_keys=[key]).ok
        assert journal.latest_checkpoint() == second
        assert journal.get_checkpoint(1) == first
        assert journal.checkpoints_without_timestamp() == [first, second]

        journal.attach_timestamp(1, tsr=b"tsr-bytes")
        journal.attach_timestamp(1, tsr=b"tsr-bytes")
        with pytest.raises(JournalError, match="already"):
            journal.attach_timestamp(1, tsr=b"other")
        with pytest.raises(JournalError):
            journal.attach_timestamp(99, tsr=b"x")
        with pytest.raises(ValueError):
            journal.attach_timestamp(2, tsr=b"")
        assert [r.id for r in journal.checkpoints_without_timestamp()] == [2]
        assert journal.get_checkpoint(1).tsr == b"tsr-bytes"

        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            journal._conn.execute("UPDATE checkpoints SET size = 3 WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError):
            journal._conn.execute("DELETE FROM checkpoints")
        with pytest.raises(ValueError):
            journal.checkpoint(signer=signer, origin=ORIGIN, now=datetime(2026, 1, 1))


def test_cosignatures_are_merged_onto_the_journal_note(tmp_path: Path, signer: FileSigner) -> None:
    witnesses = [FileSigner.generate(KeyAlgorithm.ED25519) for _ in range(2)]
    names = ["hub.example.org/w1", "hub.example.org/w2"]
    with Journal.open(tmp_path / "j.db") as journal:
        journal.append_many(_entries(3))
        record = journal.checkpoint(signer=signer, origin=ORIGIN, now=NOW)
        journal.append(b"more")
        other = journal.checkpoint(signer=signer, origin=ORIGIN, now=NOW)
        note = SignedNote.parse(record.note)
        for w, name in zip(witnesses, names, strict=True):
            journal.attach_cosignature(
                record.id, cosigned_note=cosign(note, signer=w, name=name, at=NOW).to_bytes()
            )
        stored = SignedNote.parse(journal.get_checkpoint(record.id).cosigned_note or b"")
        assert [s.name for s in stored.signatures] == [ORIGIN, *names]
        keys = [
            VerifierKey.for_signer(n, w, sig_type=SIG_TYPE_COSIGNATURE_V1)
            for w, n in zip(witnesses, names, strict=True)
        ]
        assert verify_note(stored, verifier_keys=keys, require_all=True).ok
        assert [r.id for r in journal.checkpoints_without_cosignature()] == [other.id]

        wrong_text = cosign(
            SignedNote.parse(other.note), signer=witnesses[0], name=names[0], at=NOW
        )
        with pytest.raises(JournalError, match="not checkpoint"):
            journal.attach_cosignature(record.id, cosigned_note=wrong_text.to_bytes())
        bare = SignedNote(
            note.text, cosign(note, signer=witnesses[0], name=names[0], at=NOW).signatures[1:]
        )
        with pytest.raises(JournalError, match="own signature"):
            journal.attach_cosignature(record.id, cosigned_note=bare.to_bytes())


def test_writer_group_commits_concurrent_producers(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    per_thread, threads = 300, 8
    with JournalWriter(path) as writer:

        def produce(t: int) -> list[tuple[int, bytes]]:
            futures = []
            for i in range(per_thread):
                entry = b'{"i":%d,"t":%d}' % (i, t)
                futures.append((writer.submit(entry), entry))
            return [(f.result(timeout=30), e) for f, e in futures]

        with ThreadPoolExecutor(threads) as pool:
            results = [r for rs in pool.map(produce, range(threads)) for r in rs]
        commits = writer.commits
    assert sorted(i for i, _ in results) == list(range(per_thread * threads))
    assert commits < per_thread * threads / 4
    with Journal.open(path) as journal:
        assert all(journal.entry(i) == e for i, e in results)
        by_index = [e for _, e in sorted(results)]
        assert journal.root() == tree_hash(by_index)


def test_entries_submitted_together_are_committed_together(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with JournalWriter(path, max_batch=5) as writer:
        singles = [writer.submit(b"single %d" % i) for i in range(20)]
        groups = [
            writer.submit_many([b"group %d.%d" % (g, k) for k in range(7)]) for g in range(10)
        ]
        with pytest.raises(ValueError):
            writer.submit_many([b"fine", b"not\nfine"])
        assert writer.submit_many([]).result(timeout=30) == []
        for group in groups:
            indexes = group.result(timeout=30)
            assert indexes == list(range(indexes[0], indexes[0] + 7))  # contiguous, one commit
        assert sorted(
            [f.result(timeout=30) for f in singles] + [i for g in groups for i in g.result()]
        ) == list(range(90))
    with Journal.open(path) as journal:
        assert journal.size == 90
        assert journal.entry(groups[3].result()[2]) == b"group 3.2"


def test_writer_refusals_cancellation_and_failures(tmp_path: Path) -> None:
    with pytest.raises(JournalError):
        JournalWriter(tmp_path / "missing-dir" / "j.db")
    with pytest.raises(ValueError):
        JournalWriter(tmp_path / "j.db", max_batch=0)
    writer = JournalWriter(tmp_path / "j.db")
    with pytest.raises(ValueError):
        writer.submit(b"a\nb")
    # Hold the write lock so the writer's next transaction waits, then cancel a queued entry.
    blocker = sqlite3.connect(tmp_path / "j.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = writer.submit(b"first")
    time.sleep(0.2)
    cancelled = writer.submit(b"cancelled")
    assert cancelled.cancel()
    blocker.execute("COMMIT")
    blocker.close()
    assert first.result(timeout=30) == 0
    last = writer.submit(b"last")
    assert last.result(timeout=30) == 1
    writer.close()
    with pytest.raises(JournalError, match="closed"):
        writer.submit(b"late")
    with Journal.open(tmp_path / "j.db") as journal:
        assert [journal.entry(i) for i in range(journal.size)] == [b"first", b"last"]


def test_writer_failures_reach_the_futures(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with JournalWriter(path) as writer:
        assert writer.submit(b"ok").result(timeout=30) == 0
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("DROP TABLE entries")
        conn.close()
        futures = [writer.submit(b"x%d" % i) for i in range(3)]
        errors = [f.exception(timeout=30) for f in futures]
        assert all(isinstance(e, JournalError) for e in errors)
        assert "entries" in str(errors[0])


def test_async_writer_appends_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    async def main() -> list[int]:
        async with await AsyncJournalWriter.open(path) as writer:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            task = asyncio.create_task(ticker())
            indexes = await asyncio.gather(*(writer.append(b"a%d" % i) for i in range(200)))
            task.cancel()
            assert ticks > 0
            group = await writer.append_many([b"b0", b"b1", b"b2"])
            assert group == [200, 201, 202]
            return list(indexes)

    indexes = asyncio.run(main())
    assert sorted(indexes) == list(range(200))
    with Journal.open(path) as journal:
        assert {journal.entry(i) for i in indexes} == {b"a%d" % i for i in range(200)}


def test_async_writer_reports_failures_and_tolerates_cancelled_waiters(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    async def main() -> None:
        async with await AsyncJournalWriter.open(path) as writer:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # hold the write lock: appends queue up
            waiting = asyncio.ensure_future(writer.append(b"abandoned"))
            await asyncio.sleep(0.05)
            waiting.cancel()
            blocker.execute("COMMIT")
            assert await writer.append(b"next") == 1  # "abandoned" was still written, at 0
            blocker.execute("DROP TABLE entries")
            blocker.close()
            with pytest.raises(JournalError):
                await writer.append(b"doomed")

    asyncio.run(main())


_CHILD = """
import sys, threading, time
from datetime import datetime, UTC
from trust.journal import Journal
from trust.journal_writer import JournalWriter
from trust.keys import FileSigner

path, run, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
signer = FileSigner.load(key)
out = threading.Lock()

def report(index, entry):
    with out:
        sys.stdout.write(f"{index} {entry.hex()}\\n")
        sys.stdout.flush()

def produce(writer, t):
    i = 0
    while True:
        batch = [b'{"i":%d,"run":%d,"t":%d}' % (i + k, run, t) for k in range(1 + t * 7)]
        i += len(batch)
        futures = [(writer.submit(e), e) for e in batch]
        for future, entry in futures:
            report(future.result(), entry)

def checkpoints():
    with Journal.open(path) as journal:
        while True:
            record = journal.checkpoint(signer=signer, origin="crash.example/log", now=datetime.now(UTC))
            with out:
                sys.stdout.write(f"checkpoint {record.id} {record.size}\\n")
                sys.stdout.flush()
            time.sleep(0.02)

writer = JournalWriter(path)
for t in range(6):
    threading.Thread(target=produce, args=(writer, t), daemon=True).start()
threading.Thread(target=checkpoints, daemon=True).start()
time.sleep(60)
"""


def _run_and_kill(script: Path, args: list[str], delay: float) -> list[bytes]:
    """Start the child, let it work ``delay`` s past its first 50 lines, SIGKILL it."""
    child = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, cwd=REPO)
    stdout = child.stdout
    assert stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, b"")))
    reader.start()
    deadline = time.monotonic() + 30
    while len(lines) < 50 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    reader.join(timeout=30)
    stdout.close()
    assert child.returncode == -signal.SIGKILL
    return lines


def test_kill_9_loses_nothing_that_was_acknowledged(tmp_path: Path, signer: FileSigner) -> None:
    path, key = tmp_path / "crash.db", tmp_path / "journal.key"
    signer.save(key)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    acknowledged: dict[int, bytes] = {}
    rng = random.Random(1234)
    checkpoints = 0
    for run in range(4):
        for line in _run_and_kill(script, [str(path), str(run), str(key)], rng.uniform(0.05, 0.4)):
            if not line.endswith(b"\n"):
                continue  # cut by the kill mid-write
            first, second, *_ = line.split()
            if first == b"checkpoint":
                checkpoints += 1
            else:
                acknowledged[int(first)] = bytes.fromhex(second.decode())
    assert len(acknowledged) >= 100
    assert checkpoints > 0
    with Journal.open(path) as journal:
        assert journal.size >= max(acknowledged) + 1
        for index, entry in acknowledged.items():
            assert journal.entry(index) == entry
        assert len(journal.checkpoints()) >= checkpoints
    result = verify_journal(
        path, journal_keys=[VerifierKey.for_signer("crash.example/log", signer)]
    )
    assert result.ok, result.reasons
