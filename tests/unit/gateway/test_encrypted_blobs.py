"""Blobs at rest: AES-256-GCM chunks (round trips, tampering, truncation, resume)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.blob_crypto import (
    CHUNK,
    HEADER_SIZE,
    BlobCorrupted,
    ChunkSealer,
    new_master_key,
    read_master_key,
    read_plaintext,
    write_master_key,
)
from gateway.encrypted_blobs import EncryptedBlobStore
from hubee.blob_intake import receive
from hubee.errors import StorageFailure

KEY = bytes(range(32))


def _seal_all(data: bytes, *, chunk: int = 64) -> bytes:
    sealer = ChunkSealer(KEY, chunk=chunk)
    out = [sealer.header]
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    for i, piece in enumerate(pieces):
        out.append(sealer.seal(piece, final=i == len(pieces) - 1))
    return b"".join(out)


def _open_all(blob: bytes, key: bytes = KEY) -> bytes:
    return b"".join(read_plaintext(key, io.BytesIO(blob)))


@given(st.binary(max_size=700))
def test_round_trip_any_size(data: bytes) -> None:
    assert _open_all(_seal_all(data)) == data


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_flipped_byte_is_detected(data: bytes, draw: st.DataObject) -> None:
    blob = bytearray(_seal_all(data))
    where = draw.draw(st.integers(0, len(blob) - 1))
    blob[where] ^= draw.draw(st.integers(1, 255))
    with pytest.raises(BlobCorrupted):
        _open_all(bytes(blob))


@given(st.binary(min_size=65, max_size=400), st.data())
def test_truncation_and_reordering_are_detected(data: bytes, draw: st.DataObject) -> None:
    blob = _seal_all(data)
    sealed = 64 + 16
    chunks = [blob[i : i + sealed] for i in range(HEADER_SIZE, len(blob), sealed)]
    keep = draw.draw(st.integers(1, len(chunks) - 1))
    with pytest.raises(BlobCorrupted):  # whole chunks dropped from the end
        _open_all(blob[:HEADER_SIZE] + b"".join(chunks[:keep]))
    cut = draw.draw(st.integers(HEADER_SIZE, len(blob) - 1))
    with pytest.raises(BlobCorrupted):
        _open_all(blob[:cut])
    swapped = [chunks[1], chunks[0], *chunks[2:]]
    with pytest.raises(BlobCorrupted):
        _open_all(blob[:HEADER_SIZE] + b"".join(swapped))


def test_another_key_or_header_fails() -> None:
    blob = _seal_all(b"secret dossier")
    with pytest.raises(BlobCorrupted):
        _open_all(blob, key=new_master_key())
    other = _seal_all(b"secret dossier")  # same content, another salt
    assert other[HEADER_SIZE:] != blob[HEADER_SIZE:]
    with pytest.raises(BlobCorrupted):
        _open_all(other[:HEADER_SIZE] + blob[HEADER_SIZE:])
    with pytest.raises(BlobCorrupted, match="header"):
        _open_all(b"PLAINTEXT" * 10)


def test_master_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "blob.key"
    key = write_master_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_master_key(path) == key
    with pytest.raises(FileExistsError):
        write_master_key(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        read_master_key(path)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_store_round_trip_and_nothing_plain_on_disk(tmp_path: Path, size: int) -> None:
    store = EncryptedBlobStore(tmp_path, master_key=KEY)
    data = (b"Acte de deces " * (size // 14 + 1))[:size]
    writer = store.writer(limit=size)
    for i in range(0, size, 100_000):
        writer.write(data[i : i + 100_000])
    digest = writer.finish()
    writer.publish(digest.sha256)
    assert digest.sha256 == hashlib.sha256(data).hexdigest() and digest.size == size
    on_disk = store.path_of(digest.sha256).read_bytes()
    assert len(on_disk) == store.stored_size(size)
    if size >= 14:
        assert b"Acte de deces" not in on_disk
    assert b"".join(store.read_chunks(digest.sha256)) == data
    assert b"".join(store.verified_chunks(digest.sha256)) == data


def test_a_blob_moved_to_another_address_is_caught(tmp_path: Path) -> None:
    store = EncryptedBlobStore(tmp_path, master_key=KEY)
    shas = []
    for data in (b"first", b"second"):
        writer = store.writer(limit=len(data))
        writer.write(data)
        digest = writer.finish()
        writer.publish(digest.sha256)
        shas.append(digest.sha256)
    os.replace(store.path_of(shas[1]), store.path_of(shas[0]))
    assert b"".join(store.read_chunks(shas[0])) == b"second"  # decrypts, but…
    with pytest.raises(StorageFailure, match="other content"):
        b"".join(store.verified_chunks(shas[0]))


def test_streaming_intake_through_the_engine_pipeline(tmp_path: Path) -> None:
    store = EncryptedBlobStore(tmp_path, master_key=KEY)
    data = os.urandom(5 * CHUNK + 123)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 300_000):
            yield data[i : i + 300_000]

    async def main() -> str:
        writer, digest = await receive(chunks(), lambda: store.writer(limit=len(data)))
        await asyncio.to_thread(writer.publish, digest.sha256)
        return digest.sha256

    sha = asyncio.run(main())
    assert sha == hashlib.sha256(data).hexdigest()
    assert b"".join(store.read_chunks(sha)) == data


def test_a_download_resumes_after_a_crash(tmp_path: Path) -> None:
    store = EncryptedBlobStore(tmp_path, master_key=KEY)
    data = os.urandom(3 * CHUNK + 777)
    first = store.resumable("case-att", limit=len(data))
    assert first.offset == 0
    first.write(data[: 2 * CHUNK + 500])  # the process dies here…
    first.suspend()
    partial = store.resume_dir / "case-att.partial"
    with partial.open("ab") as f:
        f.write(b"half a chunk written when the power went")
    again = store.resumable("case-att", limit=len(data))
    assert again.offset == 2 * CHUNK  # whole chunks only; the 500 held back are re-fetched
    again.write(data[again.offset :])
    digest = again.finish()
    again.publish(digest.sha256)
    assert digest.sha256 == hashlib.sha256(data).hexdigest() and digest.size == len(data)
    assert b"".join(store.read_chunks(digest.sha256)) == data
    assert not partial.exists()
    fresh = store.resumable("other", limit=1)
    fresh.discard()
    assert list(store.resume_dir.iterdir()) == []
    with pytest.raises(ValueError):
        store.resumable("../escape", limit=1)
