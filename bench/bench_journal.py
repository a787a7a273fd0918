"""Journal benchmarks, each figure printed beside the limits measured in the same run.

    .venv/bin/python bench/bench_journal.py [--entries 1000000] [--dir DIR]

Targets (DESIGN §5, §7): ≥ 100,000 durable appends/s with 100 per commit,
≥ 3,000/s with one per commit, a 1,000,000-entry journal verified in ≤ 10 s.

Measured: durable appends (1 and 100 per commit; through JournalWriter with
many concurrent submitters), checkpoint creation, full verification and proof
times at ``--entries``. Limits (``limits.py``): SHA-256 MB/s, Ed25519 signs/s,
fsyncs/s in the benchmark's own directory.

The machine is shared: each append figure is the best of a few rounds, and is
also given as CPU µs per entry (``time.process_time``, all threads), the part
that does not depend on the disk or on other jobs; the load average is
recorded. Entries are ~200-byte canonical JSON journal entries built from a
template, so building them is not what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import rfc8785

sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import ed25519_signs_per_s, fsyncs_per_s, sha256_mb_per_s

from trust.checkpoint import VerifierKey
from trust.journal import Journal
from trust.journal_verify import verify_journal
from trust.journal_writer import AsyncJournalWriter, JournalWriter
from trust.keys import FileSigner, KeyAlgorithm
from trust.merkle import leaf_hash, verify_consistency, verify_inclusion

ORIGIN = "bench.example.org/journal"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RESULTS = Path(__file__).resolve().parent / "results" / "journal.json"
ROUNDS = 5
_TEMPLATE = (
    b'{"at":"2026-03-01T12:00:00.000000Z","data":{"fileName":"piece-%d.pdf",'
    b'"sha256":"%s","size":%d},"kind":"received","subject":"folder/%08d"}'
)


def entry(i: int) -> bytes:
    digest = hashlib.sha256(i.to_bytes(8, "big")).hexdigest().encode()
    return _TEMPLATE % (i % 7, digest, 1000 + i, i)


class Rate:
    """Operations per wall-clock second and CPU µs per operation, over one run."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def done(self, count: int) -> dict[str, float]:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return {"per_s": count / wall, "cpu_us_each": cpu / count * 1e6}


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    top = max(runs, key=lambda r: r["per_s"])
    return {**top, "rounds_per_s": [round(r["per_s"]) for r in runs]}  # type: ignore[dict-item]


def durable_rounds(directory: Path, name: str, per_commit: int, per_round: int) -> dict[str, float]:
    """ROUNDS rounds, each right after its own fsync probe: the disk is shared, so a
    round's commits per second are read against the fsyncs the disk gave just then."""
    runs = []
    with Journal.open(directory / name) as journal:
        for r in range(ROUNDS):
            base = r * per_round
            batches = [
                [entry(base + i) for i in range(k, k + per_commit)]
                for k in range(0, per_round, per_commit)
            ]
            fsyncs = fsyncs_per_s(directory, seconds=0.3)
            rate = Rate()
            for batch in batches:
                journal.append_many(batch)
            run = rate.done(per_round)
            run["fsyncs_per_s_just_before"] = fsyncs
            run["commits_per_fsync"] = run["per_s"] / per_commit / fsyncs
            runs.append(run)
    return best(runs)


def _threads(
    directory: Path, name: str, threads: int, work: Callable[[JournalWriter, int], int]
) -> dict[str, float]:
    with JournalWriter(directory / name) as writer:
        counts = [0] * threads

        def run(t: int) -> None:
            counts[t] = work(writer, t)

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        rate = Rate()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        result = rate.done(sum(counts))
        result["entries_per_commit"] = sum(counts) / writer.commits
    return result


def bench_writer_waiting_threads(
    directory: Path, threads: int = 64, seconds: float = 3.0
) -> dict[str, float]:
    """Many threads, each waiting for its entry to be durable (like request handlers)."""
    stop = time.perf_counter() + seconds

    def work(writer: JournalWriter, t: int) -> int:
        i = t * 10**8
        while time.perf_counter() < stop:
            writer.submit(entry(i)).result()
            i += 1
        return i - t * 10**8

    return _threads(directory, "waiting.db", threads, work)


def bench_writer_dossiers(
    directory: Path, threads: int = 64, per_dossier: int = 5, seconds: float = 3.0
) -> dict[str, float]:
    """Many threads, each journaling a dossier's entries together and waiting for them."""
    stop = time.perf_counter() + seconds

    def work(writer: JournalWriter, t: int) -> int:
        i = t * 10**8
        while time.perf_counter() < stop:
            writer.submit_many([entry(i + k) for k in range(per_dossier)]).result()
            i += per_dossier
        return i - t * 10**8

    return _threads(directory, "dossiers.db", threads, work)


def bench_writer_bursts(
    directory: Path, threads: int = 4, burst: int = 1000, seconds: float = 3.0
) -> dict[str, float]:
    """A few threads, each submitting ``burst`` entries and then waiting for them all."""
    stop = time.perf_counter() + seconds

    def work(writer: JournalWriter, t: int) -> int:
        i = t * 10**8
        while time.perf_counter() < stop:
            futures = [writer.submit(entry(i + k)) for k in range(burst)]
            for future in futures:
                future.result()
            i += burst
        return i - t * 10**8

    return _threads(directory, "bursts.db", threads, work)


def bench_writer_async(
    directory: Path, tasks: int = 1000, seconds: float = 3.0
) -> dict[str, float]:
    """Many asyncio tasks, each awaiting its own append."""

    async def main() -> dict[str, float]:
        async with await AsyncJournalWriter.open(directory / "async.db") as writer:
            stop = time.perf_counter() + seconds
            done = 0

            async def task(t: int) -> None:
                nonlocal done
                i = t * 10**8
                while time.perf_counter() < stop:
                    await writer.append(entry(i))
                    i += 1
                    done += 1

            rate = Rate()
            await asyncio.gather(*(task(t) for t in range(tasks)))
            result = rate.done(done)
            result["entries_per_commit"] = done / writer.writer.commits
            return result

    return asyncio.run(main())


def build_big(path: Path, total: int, signer: FileSigner, every: int = 10_000) -> float:
    start = time.perf_counter()
    with Journal.open(path) as journal:
        for k in range(0, total, every):
            journal.append_many([entry(i) for i in range(k, min(k + every, total))])
            journal.checkpoint(signer=signer, origin=ORIGIN, now=NOW)
    return time.perf_counter() - start


def bench_checkpoints(path: Path, signer: FileSigner, count: int = 300) -> dict[str, float]:
    """Checkpoints by one connection while another appends between them (frontier reloads)."""
    with Journal.open(path) as writer, Journal.open(path) as checkpointer:
        cpu = wall = 0.0
        for i in range(count):
            writer.append(entry(10**9 + i))
            rate = Rate()
            checkpointer.checkpoint(signer=signer, origin=ORIGIN, now=NOW)
            wall += time.perf_counter() - rate.wall
            cpu += time.process_time() - rate.cpu
        return {"per_s": count / wall, "cpu_us_each": cpu / count * 1e6}


def bench_proofs(path: Path, count: int = 1000) -> dict[str, float]:
    rng = random.Random(7)
    with Journal.open(path) as journal:
        size = journal.size
        root = journal.root(size)
        indexes = [rng.randrange(size) for _ in range(count)]
        start = time.perf_counter()
        proofs = [journal.inclusion_proof(i, size) for i in indexes]
        inclusion = (time.perf_counter() - start) / count
        assert all(
            verify_inclusion(p, leaf=leaf_hash(journal.entry(i)), root=root)
            for p, i in zip(proofs, indexes, strict=True)
        )
        firsts = [rng.randrange(1, size) for _ in range(count)]
        start = time.perf_counter()
        consistency = [journal.consistency_proof(m, size) for m in firsts]
        per_consistency = (time.perf_counter() - start) / count
        assert all(
            verify_consistency(p, first_root=journal.root(p.first_size), second_root=root)
            for p in consistency[:50]
        )
    return {"inclusion_proof_ms": inclusion * 1e3, "consistency_proof_ms": per_consistency * 1e3}


def say(label: str, value: float, unit: str = "", note: str = "") -> None:
    print(f"  {label:<56} {value:>11,.1f} {unit:<5} {note}", flush=True)


def say_rate(label: str, rate: dict[str, float]) -> None:
    extra = f"  ({rate['entries_per_commit']:,.0f}/commit)" if "entries_per_commit" in rate else ""
    say(label, rate["per_s"], "/s", f"{rate['cpu_us_each']:.1f} CPU µs each{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-journal-", dir=args.dir))
    signer = FileSigner.generate(KeyAlgorithm.ED25519)
    assert rfc8785.dumps(json.loads(entry(1))) == entry(1), "bench entries are canonical JSON"
    load_before = os.getloadavg()[0]

    print(f"journal benchmark in {directory}: {len(entry(1))}-byte entries, load {load_before:.2f}")
    limits = {
        "sha256_MB_per_s": sha256_mb_per_s(),
        "ed25519_signs_per_s": ed25519_signs_per_s(),
        "fsyncs_per_s": fsyncs_per_s(directory),
    }
    print("limits, measured in this run:")
    say("SHA-256", limits["sha256_MB_per_s"], "MB/s")
    say("Ed25519 signatures", limits["ed25519_signs_per_s"], "/s")
    say("fsync of a small file, same directory", limits["fsyncs_per_s"], "/s")

    results: dict[str, object] = {}
    print("results:")
    results["append_1_per_commit"] = r = durable_rounds(directory, "one.db", 1, 1500)
    say_rate("durable appends, 1 per commit (target 3,000/s)", r)
    say("  … fsyncs/s measured just before that round", r["fsyncs_per_s_just_before"], "/s")
    results["append_100_per_commit"] = r = durable_rounds(directory, "hundred.db", 100, 50_000)
    say_rate("durable appends, 100 per commit (target 100,000/s)", r)
    say("  … fsyncs/s measured just before that round", r["fsyncs_per_s_just_before"], "/s")
    results["append_1000_per_commit"] = r = durable_rounds(directory, "thousand.db", 1000, 100_000)
    say_rate("durable appends, 1000 per commit", r)
    results["writer_64_waiting_threads"] = r = bench_writer_waiting_threads(directory)
    say_rate("JournalWriter, 64 threads each awaiting its entry", r)
    results["writer_64_threads_dossiers_of_5"] = r = bench_writer_dossiers(directory)
    say_rate("JournalWriter, 64 threads each awaiting 5 entries at once", r)
    results["writer_4_threads_bursts_of_1000"] = r = bench_writer_bursts(directory)
    say_rate("JournalWriter, 4 threads submitting bursts of 1000", r)
    results["writer_1000_asyncio_tasks"] = r = bench_writer_async(directory)
    say_rate("AsyncJournalWriter, 1000 tasks each awaiting its entry", r)

    big, n = directory / "big.db", args.entries
    results["build_seconds"] = v = build_big(big, n, signer)
    say(f"build {n:,} entries (10,000 per commit, then a checkpoint)", v, "s")
    key = VerifierKey.for_signer(ORIGIN, signer)
    rate = Rate()
    verdict = verify_journal(big, journal_keys=[key])
    timing = rate.done(n)
    assert verdict.ok, verdict.reasons
    results["verify_seconds"] = v = n / timing["per_s"]
    results["verify_cpu_us_per_entry"] = timing["cpu_us_each"]
    say(f"verify {n:,} entries, {n // 10_000} checkpoints (target 10 s)", v, "s")
    results.update(proofs := bench_proofs(big))
    say(f"inclusion proof at {n:,} entries", proofs["inclusion_proof_ms"], "ms")
    say(f"consistency proof at {n:,} entries", proofs["consistency_proof_ms"], "ms")
    results["checkpoints"] = r = bench_checkpoints(big, signer)
    say_rate("checkpoints (reload frontier, sign, commit durably)", r)

    report = {
        "benchmark": "journal",
        "command": ".venv/bin/python bench/bench_journal.py"
        + (f" --entries {n}" if n != 1_000_000 else ""),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "entry_bytes": len(entry(1)),
        "entries": n,
        "limits": {k: round(v) for k, v in limits.items()},
        "results": results,
        "targets": {
            "append_100_per_commit_per_s": 100_000,
            "append_1_per_commit_per_s": 3_000,
            "verify_seconds": 10,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"load average {report['load_average_1min']} on {report['cpus']} CPUs; wrote {RESULTS}")
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()


if __name__ == "__main__":
    main()
