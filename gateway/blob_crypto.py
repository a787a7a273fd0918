"""AES-256-GCM in chunks: the format of the gateway's blobs at rest.

A blob file is a header and a sequence of sealed chunks::

    header  = b"SCBLOB1\\n" ‖ chunk size (4 bytes, big-endian) ‖ salt (16 random bytes)
    chunk i = AES-256-GCM(blob key, nonce_i, plaintext_i, aad=header)   (plaintext ‖ 16-byte tag)

- The blob key is HKDF-SHA256(master key, salt, info "sceau blob v1"): a fresh key per
  blob file, so chunk nonces never repeat under one key.
- ``nonce_i`` = i as 11 bytes big-endian ‖ a final flag (``0x01`` for the last chunk,
  ``0x00`` otherwise): the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
  2015). Reordered, dropped, duplicated or truncated chunks, and a header from another
  file, all fail authentication.
- Every chunk holds exactly ``chunk size`` plaintext bytes but the last, which holds
  0 to ``chunk size`` bytes (an empty blob is one empty final chunk).

Not covered: the binding between a file and its content address (its SHA-256 name);
readers that must be sure hash what they read (the gateway does when it pushes,
exports or serves a blob it did not just write).
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"SCBLOB1\n"
SALT_SIZE = 16
HEADER_SIZE = len(MAGIC) + 4 + SALT_SIZE
TAG_SIZE = 16
KEY_SIZE = 32
CHUNK = 1024 * 1024  # plaintext bytes per chunk: large enough for GCM to run at GB/s
_INFO = b"sceau blob v1"


class BlobCorrupted(Exception):
    """A blob file fails authentication: altered, truncated, or under another key."""


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def write_master_key(path: Path) -> bytes:
    """Create the master key file (mode 0600, never overwritten); returns the key."""
    key = new_master_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def read_master_key(path: Path) -> bytes:
    """The master key; refused if the file is readable by others or not 32 bytes."""
    mode = path.stat().st_mode
    if mode & 0o077:
        raise PermissionError(f"{path} is accessible to other users (mode {mode & 0o777:o})")
    key = path.read_bytes()
    if len(key) != KEY_SIZE:
        raise ValueError(f"{path} does not hold a {KEY_SIZE}-byte key")
    return key


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class ChunkSealer:
    """Encrypts one blob, chunk by chunk, in order."""

    def __init__(self, master: bytes, *, chunk: int = CHUNK, salt: bytes | None = None) -> None:
        self.chunk = chunk
        salt = salt if salt is not None else secrets.token_bytes(SALT_SIZE)
        self.header = MAGIC + struct.pack(">I", chunk) + salt
        self._aead = AESGCM(_derive(master, salt))
        self.index = 0

    def seal(self, plaintext: bytes, *, final: bool) -> bytes:
        if len(plaintext) > self.chunk or (not final and len(plaintext) != self.chunk):
            raise ValueError("only the final chunk may be short")
        out = self._aead.encrypt(_nonce(self.index, final), plaintext, self.header)
        self.index += 1
        return out


class ChunkOpener:
    """Decrypts the chunks of one blob file, given its header."""

    def __init__(self, master: bytes, header: bytes) -> None:
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise BlobCorrupted("not a Sceau blob file (bad header)")
        self.chunk: int = struct.unpack(">I", header[len(MAGIC) : len(MAGIC) + 4])[0]
        if not 0 < self.chunk <= 64 * 1024 * 1024:
            raise BlobCorrupted("bad chunk size in the blob header")
        self.header = header
        self.salt = header[len(MAGIC) + 4 :]
        self._aead = AESGCM(_derive(master, self.salt))

    @property
    def sealed_chunk(self) -> int:
        return self.chunk + TAG_SIZE

    def open(self, index: int, sealed: bytes, *, final: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(index, final), sealed, self.header)
        except InvalidTag:
            raise BlobCorrupted(f"chunk {index} fails authentication") from None


def _derive(master: bytes, salt: bytes) -> bytes:
    if len(master) != KEY_SIZE:
        raise ValueError("the master key is 32 bytes")
    return HKDF(hashes.SHA256(), KEY_SIZE, salt, _INFO).derive(master)


def read_plaintext(master: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The plaintext of the blob file ``stream``, one chunk at a time (flat memory).

    Raises :class:`BlobCorrupted` at the first chunk that fails, including a file that
    ends early (its last chunk was not sealed as the final one).
    """
    opener = ChunkOpener(master, stream.read(HEADER_SIZE))
    size = opener.sealed_chunk
    current = stream.read(size)
    index = 0
    while True:
        following = stream.read(size) if len(current) == size else b""
        final = not following
        if len(current) < TAG_SIZE:
            raise BlobCorrupted(f"chunk {index} is truncated")
        yield opener.open(index, current, final=final)
        if final:
            return
        current = following
        index += 1
