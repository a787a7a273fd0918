"""Receiving a blob from an asynchronous stream of chunks, without blocking the loop.

A body of at most one chunk (most attachments) costs a single trip to a worker thread:
open, write, fsync. A larger one is pipelined: the event loop keeps reading while one
thread hashes and another writes (both release the GIL), with at most
:data:`_IN_FLIGHT` bytes between the socket and the disk, so memory stays flat
whatever the size.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from hubee.blobs import BlobDigest, BlobWriter

_CHUNK = 1024 * 1024  # bytes handed to a worker thread at a time
_IN_FLIGHT = 32 * _CHUNK  # bytes read but not yet hashed and written (absorbs disk stalls)


async def receive(
    chunks: AsyncIterator[bytes], open_writer: Callable[[], BlobWriter]
) -> tuple[BlobWriter, BlobDigest]:
    """Stream ``chunks`` into a new blob; returns the writer (to publish) and the digest.

    On any error nothing of the blob stays on disk.
    """
    loop = asyncio.get_running_loop()
    buffer: list[bytes] = []
    buffered = 0
    async for chunk in chunks:
        buffer.append(chunk)
        buffered += len(chunk)
        if buffered >= _CHUNK:
            break
    else:
        return await loop.run_in_executor(None, _small, open_writer, b"".join(buffer))
    return await _Pipeline(loop, open_writer).run(b"".join(buffer), chunks)


def _small(open_writer: Callable[[], BlobWriter], data: bytes) -> tuple[BlobWriter, BlobDigest]:
    writer = open_writer()
    try:
        writer.write(data)
        return writer, writer.finish()
    except BaseException:
        writer.discard()
        raise


class _Pipeline:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, open_writer: Callable[[], BlobWriter]
    ) -> None:
        self._loop = loop
        self._open = open_writer
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="hub-blob-hash")
        self._storer = ThreadPoolExecutor(1, thread_name_prefix="hub-blob-store")
        self._pending: deque[tuple[int, asyncio.Future[None], asyncio.Future[None]]] = deque()
        self._pending_bytes = 0

    async def run(
        self, first: bytes, chunks: AsyncIterator[bytes]
    ) -> tuple[BlobWriter, BlobDigest]:
        writer: BlobWriter | None = None
        try:
            writer = await self._loop.run_in_executor(self._storer, self._open)
            await self._feed(writer, first)
            buffer: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                buffer.append(chunk)
                buffered += len(chunk)
                if buffered >= _CHUNK:
                    await self._feed(writer, b"".join(buffer))
                    buffer, buffered = [], 0
            if buffer:
                await self._feed(writer, b"".join(buffer))
            await self._drain(0)
            digest = await self._loop.run_in_executor(self._storer, writer.finish)
            return writer, digest
        except BaseException:
            await asyncio.gather(
                *(f for _, h, s in self._pending for f in (h, s)), return_exceptions=True
            )
            if writer is not None:
                await self._loop.run_in_executor(self._storer, writer.discard)
            raise
        finally:
            self._hasher.shutdown(wait=False)
            self._storer.shutdown(wait=False)

    async def _feed(self, writer: BlobWriter, data: bytes) -> None:
        writer.accept(data)
        hashed = self._loop.run_in_executor(self._hasher, writer.hash, data)
        stored = self._loop.run_in_executor(self._storer, writer.store, data)
        self._pending.append((len(data), hashed, stored))
        self._pending_bytes += len(data)
        await self._drain(_IN_FLIGHT)

    async def _drain(self, allowed: int) -> None:
        while self._pending and self._pending_bytes > allowed:
            size, hashed, stored = self._pending[0]
            await hashed
            await stored
            self._pending.popleft()
            self._pending_bytes -= size
