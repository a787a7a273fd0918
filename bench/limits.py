"""The machine's own limits, measured in the same run as each benchmark.

Every benchmark prints its figures beside these, so a reader can tell a slow
design from a slow machine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519


def _rate(fn: object, seconds: float = 0.5) -> float:
    call = fn  # type: ignore[assignment]
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            call()  # type: ignore[operator]
        count += 100
    return count / elapsed


def sha256_mb_per_s() -> float:
    block = os.urandom(4 * 1024 * 1024)
    start = time.perf_counter()
    for _ in range(64):
        hashlib.sha256(block).digest()
    return 64 * 4 / (time.perf_counter() - start)


def p256_signs_per_s() -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    return _rate(lambda: key.sign(b"x" * 64, ec.ECDSA(hashes.SHA256())))


def ed25519_signs_per_s() -> float:
    key = ed25519.Ed25519PrivateKey.generate()
    return _rate(lambda: key.sign(b"x" * 64))


def fsyncs_per_s(folder: Path | None = None, seconds: float = 1.0) -> float:
    with tempfile.NamedTemporaryFile(dir=folder) as f:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            f.write(b"x")
            f.flush()
            os.fsync(f.fileno())
            count += 1
        return count / (time.perf_counter() - start)


def durable_dossiers_per_s(folder: Path, seconds: float = 1.0) -> float:
    """The trust core's durable pipeline per dossier, without HTTP: a P-256 CAdES seal
    over a 1 KB manifest, then one journal append committed with fsync (no batching)."""
    import datetime as dt

    from trust.journal import Journal, journal_entry
    from trust.keys import KeyAlgorithm
    from trust.seal import seal
    from trust.throwaway_pki import ThrowawayPki

    pki = ThrowawayPki.create(KeyAlgorithm.EC_P256)
    manifest = os.urandom(512).hex().encode()
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(dir=folder) as tmp, Journal.open(Path(tmp) / "j.db") as j:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            sealed = seal(
                manifest, signer=pki.seal.signer, certificate=pki.seal.certificate, signing_time=now
            )
            data = {"seal": hashlib.sha256(sealed).hexdigest(), "n": count}
            j.append(journal_entry("sealed", f"folder/{count}", data, now))
            count += 1
        return count / (time.perf_counter() - start)


def measure(folder: Path | None = None) -> dict[str, float]:
    return {
        "sha256_MB_per_s": round(sha256_mb_per_s()),
        "p256_signs_per_s": round(p256_signs_per_s()),
        "ed25519_signs_per_s": round(ed25519_signs_per_s()),
        "fsyncs_per_s": round(fsyncs_per_s(folder)),
    }


if __name__ == "__main__":
    for k, v in measure().items():
        print(f"{k:>22}: {v:,}")
