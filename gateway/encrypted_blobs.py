"""The gateway's blob store: hubee's content-addressed store, encrypted at rest.

Same layout, names and durability rules as :class:`hubee.blobs.BlobStore` (the name is
the SHA-256 of the plaintext, written to ``tmp/``, fsynced, renamed); the file holds
the :mod:`gateway.blob_crypto` format. The plaintext is hashed and encrypted as it
streams in, one chunk in memory at a time, and decrypted the same way when read.

Downloads from the hub resume: :meth:`EncryptedBlobStore.resumable` keeps a partial
blob under ``resume/`` across restarts (only whole, non-final chunks are ever on disk;
resuming re-reads them to restore the digest, and continues at their end).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from gateway.blob_crypto import (
    CHUNK,
    HEADER_SIZE,
    TAG_SIZE,
    BlobCorrupted,
    ChunkOpener,
    ChunkSealer,
    read_plaintext,
)
from hubee.blobs import READ_CHUNK, BlobDigest, BlobStore, BlobWriter, storage_error
from hubee.errors import StorageFailure
from hubee.loop_guard import assert_off_loop

_RESUME_NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}")


class EncryptedBlobWriter(BlobWriter):
    """A :class:`BlobWriter` that seals each full chunk before it reaches the disk."""

    def __init__(self, store: EncryptedBlobStore, *, limit: int) -> None:
        super().__init__(store, limit=limit)
        self._sealer = ChunkSealer(store.master_key)
        self._pending = bytearray()
        try:
            self.write_raw(self._sealer.header)
        except BaseException:
            self.discard()
            raise

    def store(self, chunk: bytes) -> None:
        self._pending += chunk
        size = self._sealer.chunk
        # Keep at least one byte back: only finish() knows which chunk is the last.
        while len(self._pending) > size:
            plain = bytes(self._pending[:size])
            del self._pending[:size]
            self.write_raw(self._sealer.seal(plain, final=False))

    def finish(self) -> BlobDigest:
        self.write_raw(self._sealer.seal(bytes(self._pending), final=True))
        self._pending.clear()
        return super().finish()


class ResumableWriter(EncryptedBlobWriter):
    """A blob written to a named partial file that survives restarts (hub downloads)."""

    def __init__(self, store: EncryptedBlobStore, path: Path, *, limit: int) -> None:
        assert_off_loop()
        self._store = store
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        self._written = 0
        self._flushed = 0
        self.temp = path
        self._pending = bytearray()
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._restore(store.master_key)
        except OSError as exc:
            raise storage_error(exc, "a partial download") from exc

    def _restore(self, master: bytes) -> None:
        assert self._fd is not None
        length = os.fstat(self._fd).st_size
        if length < HEADER_SIZE:
            os.ftruncate(self._fd, 0)
            self._sealer = ChunkSealer(master)
            self.write_raw(self._sealer.header)
            return
        header = os.pread(self._fd, HEADER_SIZE, 0)
        try:
            opener = ChunkOpener(master, header)
        except BlobCorrupted:
            os.ftruncate(self._fd, 0)
            self._sealer = ChunkSealer(master)
            self.write_raw(self._sealer.header)
            return
        whole = (length - HEADER_SIZE) // opener.sealed_chunk
        kept = 0
        for index in range(whole):
            sealed = os.pread(
                self._fd, opener.sealed_chunk, HEADER_SIZE + index * opener.sealed_chunk
            )
            try:
                plain = opener.open(index, sealed, final=False)
            except BlobCorrupted:
                break
            self._hash.update(plain)
            self.size += len(plain)
            kept += 1
        end = HEADER_SIZE + kept * opener.sealed_chunk
        os.ftruncate(self._fd, end)
        os.lseek(self._fd, end, os.SEEK_SET)
        self._written = self._flushed = end
        self._sealer = ChunkSealer(master, chunk=opener.chunk, salt=opener.salt)
        self._sealer.index = kept

    @property
    def offset(self) -> int:
        """Plaintext bytes already kept: where the download resumes."""
        return self.size

    def suspend(self) -> None:
        """Close the file and keep its whole chunks, to resume later (a broken transfer)."""
        assert_off_loop()
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


class EncryptedBlobStore(BlobStore):
    """:class:`hubee.blobs.BlobStore` with AES-256-GCM chunks at rest."""

    plain_at_rest = False

    def __init__(self, root: str | Path, *, master_key: bytes) -> None:
        super().__init__(root)
        self.master_key = master_key
        self.resume_dir = self.root / "resume"
        try:
            self.resume_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StorageFailure(f"cannot create {self.resume_dir}: {exc}") from exc

    def writer(self, *, limit: int) -> BlobWriter:
        return EncryptedBlobWriter(self, limit=limit)

    def resumable(self, name: str, *, limit: int) -> ResumableWriter:
        """The partial blob ``name`` (created empty, or resumed where it stopped)."""
        if not _RESUME_NAME.fullmatch(name):
            raise ValueError(f"bad partial blob name {name!r}")
        return ResumableWriter(self, self.resume_dir / f"{name}.partial", limit=limit)

    def read_chunks(self, sha256: str, *, size: int = READ_CHUNK) -> Iterator[bytes]:
        """The plaintext, chunk by chunk; :class:`StorageFailure` if the file fails."""
        assert_off_loop()
        with self.path_of(sha256).open("rb") as f:
            try:
                yield from read_plaintext(self.master_key, f)
            except BlobCorrupted as exc:
                raise StorageFailure(f"blob {sha256[:12]}… is damaged: {exc}") from exc

    def verified_chunks(self, sha256: str) -> Iterator[bytes]:
        """:meth:`read_chunks`, and a :class:`StorageFailure` at the end if the plaintext's
        SHA-256 is not the blob's name (a file moved to another address)."""
        digest = hashlib.sha256()
        for chunk in self.read_chunks(sha256):
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != sha256:
            raise StorageFailure(f"blob {sha256[:12]}… holds other content than its name")

    @staticmethod
    def stored_size(plaintext_size: int) -> int:
        """Bytes on disk for a blob of ``plaintext_size`` bytes."""
        chunks = max(1, -(-plaintext_size // CHUNK))
        return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE
