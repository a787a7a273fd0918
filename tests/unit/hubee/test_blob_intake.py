"""Streaming a blob in: small bodies in one trip, large ones pipelined; failures leave nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubee.blob_intake import receive
from hubee.blobs import BlobStore
from hubee.errors import ValidationFailed


async def _chunks(data: bytes, size: int, *, fail_at: int | None = None) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        if fail_at is not None and offset >= fail_at:
            raise ConnectionResetError("the client went away")
        yield data[offset : offset + size]
        await asyncio.sleep(0)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("size", [0, 10 * 1024, 5 * 1024 * 1024 + 17])
def test_streams_in_and_publishes(tmp_path: Path, size: int) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = os.urandom(size)

    async def main() -> None:
        writer, digest = await receive(_chunks(data, 64 * 1024), lambda: blobs.writer(limit=size))
        assert digest.sha256 == hashlib.sha256(data).hexdigest() and digest.size == size
        await asyncio.to_thread(writer.publish, digest.sha256)
        with pytest.raises(RuntimeError, match="event loop"):
            writer.publish(digest.sha256)  # blocking I/O on the loop is refused

    asyncio.run(main())
    assert blobs.path_of(hashlib.sha256(data).hexdigest()).read_bytes() == data
    assert list(blobs.tmp_dir.iterdir()) == []


@pytest.mark.parametrize("size", [100, 3 * 1024 * 1024])
def test_too_many_bytes_leave_nothing(tmp_path: Path, size: int) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = os.urandom(size + 1)

    async def main() -> None:
        with pytest.raises(ValidationFailed, match="declared size"):
            await receive(_chunks(data, 256 * 1024), lambda: blobs.writer(limit=size))

    asyncio.run(main())
    assert _files(tmp_path / "blobs") == []


def test_a_broken_stream_leaves_nothing(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = os.urandom(4 * 1024 * 1024)

    async def main() -> None:
        with pytest.raises(ConnectionResetError):
            await receive(
                _chunks(data, 512 * 1024, fail_at=3 * 1024 * 1024),
                lambda: blobs.writer(limit=len(data)),
            )

    asyncio.run(main())
    assert _files(tmp_path / "blobs") == []
