"""Resumable attachment uploads for the link API.

A link upload is spooled to ``<data>/uploads/<attachmentId>.part`` as it arrives. If
the connection is cut, what arrived stays (flushed and fsynced): ``HEAD`` answers
its length as ``Upload-Offset``, and a ``PUT`` with ``Content-Range: bytes
<offset>-<last>/<total>`` appends the rest. Once the spool holds the declared size,
it is handed to the engine's attachment intake, which hashes it while storing it and
checks the size and the ``digest``; the spool is then removed. A digest mismatch
removes the spool too, so the next attempt starts from zero. A whole upload of at most
:data:`DIRECT` bytes (no ``Content-Range``, nothing spooled) goes straight to the intake:
two fsyncs and a copy less per small attachment; a cut then keeps nothing.

One upload per attachment at a time: a second concurrent ``PUT`` is a conflict.

A spool untouched for ``upload_abandon_after_hours`` (hub.yaml, 24 by default) is an
abandoned upload: :meth:`Uploads.expire` (run by ``sceau hub purge`` and hourly by the
running hub, :mod:`hub.upload_expiry`) deletes it and leaves an empty
``<attachmentId>.expired`` marker. ``HEAD`` then answers offset 0, and a ``PUT`` that
tries to resume it (``Content-Range`` past 0) answers 410 saying to restart from byte 0.
A ``PUT`` from byte 0 starts afresh and removes the marker; markers themselves go after
:data:`MARKER_DAYS` days.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from hub.errors import UploadExpired, UploadInterrupted, UploadOffsetMismatch
from hubee.errors import Conflict, HubError, PayloadTooLarge, ValidationFailed

CHUNK = 1024 * 1024
DIRECT = 1024 * 1024  # whole uploads up to this size skip the spool (no resume needed)
MARKER_DAYS = 30  # how long a resume of an expired upload is answered 410 (then 409)
_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")

Deliver = Callable[[AsyncIterator[bytes]], Awaitable[None]]


@dataclass(frozen=True)
class ContentRange:
    """``Content-Range: bytes first-last/total`` (RFC 9110 §14.4), ``last`` inclusive."""

    first: int
    last: int
    total: int

    @classmethod
    def parse(cls, value: str) -> ContentRange:
        found = _RANGE.fullmatch(value.strip())
        if found is None:
            raise ValidationFailed("Content-Range", f"{value!r} is not 'bytes first-last/total'")
        first, last, total = (int(g) for g in found.groups())
        if not first <= last < total:
            raise ValidationFailed("Content-Range", f"{value!r} is not a range within the total")
        return cls(first, last, total)


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A file's bytes, read in a worker thread a chunk at a time."""
    stream = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(stream.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(stream.close)


async def _whole_body(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """``chunks``, with the spool's answers to a cut (400) and to too many bytes (413)."""
    received = 0
    body = chunks.__aiter__()
    while True:
        try:
            chunk = await body.__anext__()
        except StopAsyncIteration:
            return
        except HubError:
            raise
        except Exception as exc:  # any failure of the body is a cut
            raise UploadInterrupted(
                "body",
                f"the connection was cut after {received} of {size} bytes ({exc}); nothing "
                "was kept: send it again whole",
            ) from exc
        received += len(chunk)
        if received > size:
            raise PayloadTooLarge(f"more than the attachment's {size} bytes were sent")
        yield chunk


def _append(stream: BinaryIO, data: bytes, sync: bool) -> None:
    if data:
        stream.write(data)
    if sync:
        stream.flush()
        os.fsync(stream.fileno())


@dataclass(frozen=True)
class ExpiredUpload:
    """A partial upload deleted as abandoned: its id, the bytes held, when last written."""

    attachment_id: str
    size: int
    last_written: datetime


class Uploads:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._busy: set[str] = set()

    def part_path(self, attachment_id: str) -> Path:
        return self._root / f"{attachment_id}.part"

    def expired_path(self, attachment_id: str) -> Path:
        return self._root / f"{attachment_id}.expired"

    def expire(self, *, now: datetime, after: timedelta) -> list[ExpiredUpload]:
        """Delete the partial uploads last written ``after`` ago or more (not one in
        progress in this process), each leaving its marker; drop markers older than
        :data:`MARKER_DAYS`. Blocking: call it in a worker thread."""
        cutoff = (now - after).timestamp()
        expired: list[ExpiredUpload] = []
        try:
            entries = sorted(self._root.iterdir())
        except FileNotFoundError:
            return expired
        for path in entries:
            attachment_id = path.stem
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # finished meanwhile
            modified = stat.st_mtime
            if path.suffix == ".expired":
                if modified < (now - timedelta(days=MARKER_DAYS)).timestamp():
                    path.unlink(missing_ok=True)
                continue
            if path.suffix != ".part" or attachment_id in self._busy or modified >= cutoff:
                continue
            self.expired_path(attachment_id).touch()
            path.unlink(missing_ok=True)
            idle = datetime.fromtimestamp(modified, now.tzinfo)
            expired.append(ExpiredUpload(attachment_id, stat.st_size, idle))
        return expired

    async def offset(self, attachment_id: str) -> int:
        """How many bytes of a partial upload the hub holds (0 if none)."""
        path = self.part_path(attachment_id)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return 0

    async def receive(
        self,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        *,
        size: int,
        content_range: ContentRange | None,
        deliver: Deliver,
    ) -> int:
        """Spool ``chunks``; deliver the whole file once complete. Returns the offset
        reached (``size`` once delivered)."""
        if attachment_id in self._busy:
            raise Conflict(f"an upload of attachment {attachment_id} is already in progress")
        self._busy.add(attachment_id)
        try:
            if content_range is None and size <= DIRECT and await self.offset(attachment_id) == 0:
                # Small and whole: straight to the intake (which hashes, checks and fsyncs
                # it), without the spool's extra copy and fsyncs. A cut keeps nothing: the
                # sender re-sends the whole (HEAD says 0), as it would for so few bytes.
                await deliver(_whole_body(chunks, size))
                return size
            reached = await self._spool(attachment_id, chunks, size, content_range)
            if reached < size:
                return reached
            path = self.part_path(attachment_id)
            try:
                await deliver(file_chunks(path))
            except HubError:
                await asyncio.to_thread(path.unlink, missing_ok=True)
                raise
            await asyncio.to_thread(path.unlink, missing_ok=True)
            return size
        finally:
            self._busy.discard(attachment_id)

    async def _spool(
        self,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        size: int,
        content_range: ContentRange | None,
    ) -> int:
        start = 0
        if content_range is not None:
            if content_range.total != size:
                raise ValidationFailed(
                    "Content-Range",
                    f"total {content_range.total} is not the attachment's size {size}",
                )
            start = content_range.first
        held = await self.offset(attachment_id)
        marker = self.expired_path(attachment_id)
        if start and not held and await asyncio.to_thread(marker.exists):
            raise UploadExpired(
                f"the hub discarded this partial upload after it stayed untouched too long; "
                f"restart it from byte 0 (PUT the whole {size} bytes, no Content-Range)"
            )
        if start not in (0, held):
            raise UploadOffsetMismatch(
                f"the hub holds {held} bytes of this upload; resume at Content-Range: "
                f"bytes {held}-{size - 1}/{size}"
            )
        await asyncio.to_thread(self._root.mkdir, mode=0o700, parents=True, exist_ok=True)
        if not start:  # a fresh start: an earlier expiry no longer matters
            await asyncio.to_thread(marker.unlink, missing_ok=True)
        path = self.part_path(attachment_id)
        stream = await asyncio.to_thread(path.open, "ab" if start else "wb")
        written = start
        pending: list[bytes] = []
        buffered = 0
        overflow = False
        body = chunks.__aiter__()
        try:
            while True:
                try:
                    chunk = await body.__anext__()
                except StopAsyncIteration:
                    break
                except HubError:
                    raise
                except Exception as exc:  # any failure of the body is a cut
                    raise UploadInterrupted(
                        "body",
                        f"the connection was cut after {written} of {size} bytes ({exc}); the hub "
                        f"keeps them: resume with Content-Range: bytes {written}-{size - 1}/{size}",
                    ) from exc
                if written + len(chunk) > size:
                    overflow = True
                    raise PayloadTooLarge(f"more than the attachment's {size} bytes were sent")
                written += len(chunk)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= CHUNK:
                    data, pending, buffered = b"".join(pending), [], 0
                    await asyncio.to_thread(_append, stream, data, False)
        finally:
            # Keep what arrived, even when the connection was cut: it is the resume point.
            data = b"".join(pending)
            await asyncio.shield(asyncio.to_thread(_append, stream, data, not overflow))
            await asyncio.shield(asyncio.to_thread(stream.close))
            if overflow:
                await asyncio.shield(asyncio.to_thread(path.unlink, missing_ok=True))
        return written
