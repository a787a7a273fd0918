"""``sceau gateway backup`` / ``restore``: one encrypted archive of a gateway's data folder.

Format (``.sceau-backup``), documented in docs/OPERATIONS.md:

- header (56 bytes): magic ``SCEAUBK1``, scrypt ``log2 N``, ``r``, ``p`` (one byte each),
  a reserved byte, a 16-byte random salt, the chunk size (u32, big-endian), and a
  16-byte passphrase check: HMAC-SHA256(key, "check")[:16];
- then records ``u32 length ‖ AES-256-GCM(chunk)``: the key is scrypt(passphrase,
  salt) (32 bytes); chunk *i*'s nonce is *i* (u88) ‖ final flag (1 byte), the STREAM
  construction, the header as associated data. Reordered, dropped, truncated or
  altered records fail.
- The plaintext is a POSIX tar of the data folder: settings, ``keys/``, ``certs/``,
  the SQLite databases (each copied with SQLite's online backup API), and ``blobs/``
  (already encrypted at rest with ``keys/blob.key``, which the archive carries).

Consistency while the gateway runs: ``gateway.db``'s write lock is held (a brief pause
of LAN writes) while ``journal.db`` and then ``gateway.db`` are copied, so the journal
is never behind what ``gateway.db`` accounts for; it may be ahead by the one batch the
drain was writing, which the drain recognises at start (docs/GATEWAY.md). Blobs are
immutable once published and copied after the databases.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import shutil
import sqlite3
import struct
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gateway.errors import GatewayConfigError, GatewayError

MAGIC = b"SCEAUBK1"
_HEADER = struct.Struct(">8sBBBB16sI16s")
CHUNK = 1 << 20
LOG2_N, R, P = 15, 8, 1  # scrypt: ≈ 32 MiB and ≈ 0.1 s here (RFC 7914 §2 guidance)
_SKIP_DIRS = {"exports", "tmp"}
_SQLITE_SIDE = ("-wal", "-shm", "-journal")


class BackupCorrupt(GatewayError):
    """The archive is damaged or truncated (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Use another copy of the backup; this one was altered.")


class WrongPassphrase(GatewayConfigError):
    """The passphrase does not open this archive (exit 3)."""


@dataclass(frozen=True)
class BackupSummary:
    files: int
    databases: int
    bytes_in: int


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise GatewayConfigError("an empty passphrase", hint="Give a long passphrase.")
    if not 10 <= log2_n <= 20 or not 1 <= r <= 16 or not 1 <= p <= 4:
        raise BackupCorrupt("the archive's scrypt parameters are out of range")
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase.encode())


def _check(key: bytes) -> bytes:
    return hmac.new(key, b"check", hashlib.sha256).digest()[:16]


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class _EncryptingWriter(io.RawIOBase):
    def __init__(self, out: IO[bytes], passphrase: str) -> None:
        salt = os.urandom(16)
        key = _key(passphrase, salt, LOG2_N, R, P)
        self._header = _HEADER.pack(MAGIC, LOG2_N, R, P, 0, salt, CHUNK, _check(key))
        out.write(self._header)
        self._aead, self._out, self._buf, self._index = AESGCM(key), out, bytearray(), 0
        self.total = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buf += data
        self.total += len(data)
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, chunk: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, final), chunk, self._header)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def finish(self) -> None:
        self._emit(bytes(self._buf), final=True)
        self._buf.clear()


def _decrypted_chunks(src: IO[bytes], passphrase: str) -> Iterator[bytes]:
    header = src.read(_HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise BackupCorrupt("not a Sceau backup (bad magic or too short)")
    _, log2_n, r, p, _, salt, chunk, check = _HEADER.unpack(header)
    key = _key(passphrase, salt, log2_n, r, p)
    if not hmac.compare_digest(_check(key), check):
        raise WrongPassphrase(
            "the passphrase does not open this backup",
            hint="Type the passphrase given at backup time (it is not stored anywhere).",
        )
    aead, index = AESGCM(key), 0

    def record() -> bytes | None:
        size = src.read(4)
        if not size:
            return None
        if len(size) < 4:
            raise BackupCorrupt("the archive is truncated")
        (length,) = struct.unpack(">I", size)
        if length > chunk + 16:
            raise BackupCorrupt(f"record {index} is too long")
        body = src.read(length)
        if len(body) < length:
            raise BackupCorrupt("the archive is truncated")
        return body

    current = record()
    while current is not None:
        following = record()
        try:
            yield aead.decrypt(_nonce(index, following is None), current, header)
        except InvalidTag:
            raise BackupCorrupt(f"record {index} does not authenticate") from None
        index, current = index + 1, following
    if index == 0:
        raise BackupCorrupt("the archive holds no data")


class _DecryptingReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buf = nxt
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@contextmanager
def _writes_paused(db: Path) -> Iterator[None]:
    """Hold ``db``'s write lock (BEGIN IMMEDIATE); readers go on, writers wait."""
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.close()  # rolls back: nothing was written


def _snapshot(data_dir: Path, staging: Path) -> int:
    databases = sorted(p for p in data_dir.rglob("*.db") if p.is_file())
    first = [data_dir / "journal.db", data_dir / "gateway.db"]
    rest = [p for p in databases if p not in first]
    gateway_db = data_dir / "gateway.db"
    lock = _writes_paused(gateway_db) if gateway_db.exists() else _nothing()
    with lock:
        for db in first:
            if db.exists():
                _sqlite_copy(db, staging / db.name)
    for db in rest:
        target = staging / db.relative_to(data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(db, target)
    return len([p for p in first if p.exists()]) + len(rest)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _plain_files(data_dir: Path) -> Iterator[Path]:
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if rel.parts[0] in _SKIP_DIRS or "tmp" in rel.parts[:-1] or not path.is_file():
            continue
        if path.suffix == ".db" or path.name.endswith(_SQLITE_SIDE) or path.name.endswith(".tmp"):
            continue
        yield path


def create_backup(data_dir: Path, target: Path, *, passphrase: str) -> BackupSummary:
    """Write the encrypted archive of ``data_dir`` to ``target`` (atomically, 0600)."""
    if not any((data_dir / name).is_file() for name in ("gateway.yaml", "gateway.json")):
        raise GatewayConfigError(f"{data_dir} holds no gateway (no gateway.yaml)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as tmp:
        staging = Path(tmp) / "db"
        staging.mkdir(mode=0o700)
        databases = _snapshot(data_dir, staging)
        partial = Path(tmp) / "archive"
        files = 0
        with open(partial, "xb") as out:
            os.chmod(partial, 0o600)
            writer = _EncryptingWriter(out, passphrase)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for db in sorted(staging.rglob("*.db")):
                    tar.add(db, arcname=str(db.relative_to(staging)), recursive=False)
                for path in _plain_files(data_dir):
                    try:
                        tar.add(path, arcname=str(path.relative_to(data_dir)), recursive=False)
                    except FileNotFoundError:
                        continue  # purged meanwhile: the snapshot no longer refers to it
                    files += 1
            writer.finish()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    return BackupSummary(files=files, databases=databases, bytes_in=writer.total)


def restore_backup(archive: Path, data_dir: Path, *, passphrase: str) -> int:
    """Unpack ``archive`` into a new or empty ``data_dir``; returns the files written.

    Nothing is left in ``data_dir`` if the archive fails to decrypt or unpack.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise GatewayConfigError(
            f"{data_dir} is not empty", hint="Restore into a new, empty data folder."
        )
    try:
        src = open(archive, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise GatewayConfigError(f"cannot read {archive}: {exc.strerror}") from None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=".restore-"))
    try:
        with src:
            reader = io.BufferedReader(_DecryptingReader(_decrypted_chunks(src, passphrase)))
            try:
                with tarfile.open(fileobj=reader, mode="r|") as tar:
                    count = 0
                    for member in tar:
                        tar.extract(member, staging, filter="data")
                        count += 1
            except tarfile.TarError as exc:
                raise BackupCorrupt(f"the archive's content is not a valid tar: {exc}") from None
        _tighten(staging)
        if data_dir.exists():
            data_dir.rmdir()
        os.replace(staging, data_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _tighten(root: Path) -> None:
    root.chmod(0o700)
    for path in root.rglob("*"):
        if path.is_dir():
            path.chmod(0o700)
        elif path.parent.name == "keys" or path.suffix == ".db":
            path.chmod(0o600)
