"""Attachment bytes: streamed in (hashed while written, checked, then kept) and out.

An upload is written chunk by chunk to a temporary blob while its SHA-256 is computed,
off the event loop, with the next chunk read while the previous one is written. It is
kept only if its size equals the declared size and, when the client sent a ``digest``
header (base64 SHA-256, as in the spec's example), the digests match; otherwise nothing
of it stays on disk. A retried upload of the same bytes answers as the first; other
bytes for an attachment already received are a conflict.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hubee.access import owner_side
from hubee.blob_intake import receive
from hubee.blobs import BlobDigest, BlobStore, BlobWriter
from hubee.cases import Cases, load_case, load_event
from hubee.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from hubee.event_sink import EventSink
from hubee.model import Attachment, AttachmentStatus, EventStatus, Principal, Side
from hubee.store import Store, StoreTx


def digest_header(sha256_hex: str) -> str:
    """The ``digest`` header value: base64 of the raw SHA-256 (the spec's example form)."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def parse_digest(value: str) -> str:
    """A ``digest`` header as hex; accepts ``base64`` and RFC 3230 ``SHA-256=base64``."""
    text = value.strip()
    if text[:8].lower() == "sha-256=":
        text = text[8:]
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValidationFailed("digest", "must be the base64 SHA-256 of the file")
    return raw.hex()


@dataclass(frozen=True)
class BlobFile:
    """An attachment ready to send: where its blob is, and how to read it.

    When ``plain`` the file at ``path`` holds the bytes as they are (send it with
    sendfile); otherwise (a store that encrypts at rest) read them with ``chunks()``,
    a blocking iterator to run off the event loop.
    """

    attachment: Attachment
    path: Path
    digest: str
    plain: bool = True
    chunks: Callable[[], Iterator[bytes]] | None = None


class Attachments:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        sink: EventSink,
        cases: Cases,
        *,
        max_attachment_bytes: int,
        require_digest: bool,
        journal_downloads: bool = False,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._sink = sink
        self._cases = cases
        self._max = max_attachment_bytes
        self._require_digest = require_digest
        self._journal_downloads = journal_downloads

    async def receive_for_folder(
        self,
        principal: Principal,
        folder_id: str,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        *,
        digest: str | None,
        content_length: int | None,
        now: datetime,
    ) -> None:
        def locate(tx: StoreTx) -> Attachment:
            record = tx.attachment(attachment_id)
            if record is None or record.folder_id != folder_id or record.event_id is not None:
                raise NotFound(f"Binary meta-data is not found: {attachment_id}")
            owner_side(principal, record.transmitter_org_id, record.process_code, folder_id)
            return record.attachment

        await self._receive(locate, chunks, digest, content_length, now, None)

    async def receive_for_event(
        self,
        principal: Principal,
        case_id: str,
        event_id: str,
        attachment_id: str,
        chunks: AsyncIterator[bytes],
        *,
        digest: str | None,
        content_length: int | None,
        now: datetime,
    ) -> None:
        def locate(tx: StoreTx) -> Attachment:
            _, side, event = load_event(tx, principal, case_id, event_id)
            if side is not Side.ADMIN and side is not event.side:
                raise Forbidden("only the side that created the event uploads its attachments")
            found = [a for a in event.attachments if a.id == attachment_id]
            if not found:
                raise NotFound(f"Binary meta-data is not found: {attachment_id}")
            return found[0]

        def after(tx: StoreTx) -> None:
            case, _, event = load_event(tx, principal, case_id, event_id)
            received = all(a.status is AttachmentStatus.RECEIVED for a in event.attachments)
            if event.status is EventStatus.IN_PROGRESS and received:
                self._cases.send_event(tx, case, event, now)

        await self._receive(locate, chunks, digest, content_length, now, after)

    async def _receive(
        self,
        locate: Callable[[StoreTx], Attachment],
        chunks: AsyncIterator[bytes],
        digest: str | None,
        content_length: int | None,
        now: datetime,
        after: Callable[[StoreTx], None] | None,
    ) -> None:
        expected = None if digest is None else parse_digest(digest)
        if expected is None and self._require_digest:
            raise ValidationFailed("digest", "is required by this hub")
        target = await self._store.read(locate)
        if target.status is AttachmentStatus.DELETED:
            raise IllegalTransition("attachment-purged", "this attachment has been purged")
        if content_length is not None:
            if content_length > self._max:
                raise PayloadTooLarge(
                    f"Content-Length {content_length} exceeds the maximum of {self._max} bytes"
                )
            if content_length != target.size:
                raise ValidationFailed(
                    "Content-Length",
                    f"is {content_length}, but the attachment declares {target.size} bytes",
                )
        writer, result = await receive(chunks, lambda: self._blobs.writer(limit=target.size))
        try:
            if result.size != target.size:
                raise ValidationFailed(
                    "body", f"has {result.size} bytes, but the attachment declares {target.size}"
                )
            if expected is not None and expected != result.sha256:
                raise ValidationFailed(
                    "digest",
                    f"does not match the body: the body's SHA-256 is {digest_header(result.sha256)}",
                )
            published = await self._store.write(
                lambda tx: self._keep(tx, locate, writer, result, now, after)
            )
        except BaseException:
            await asyncio.to_thread(writer.discard)
            raise
        if published:
            await asyncio.to_thread(self._blobs.sync, result.sha256)

    def _keep(
        self,
        tx: StoreTx,
        locate: Callable[[StoreTx], Attachment],
        writer: BlobWriter,
        result: BlobDigest,
        now: datetime,
        after: Callable[[StoreTx], None] | None,
    ) -> bool:
        """In the writer thread: record the attachment and move its blob in place."""
        current = locate(tx)
        if current.status is AttachmentStatus.RECEIVED:
            if current.sha256 != result.sha256:
                raise Conflict(f"attachment {current.id} was already received with other content")
            if self._blobs.exists(result.sha256):
                writer.discard()
                return False
            writer.publish(result.sha256)  # a retry after a crash lost the first copy
            return True
        if current.status is not AttachmentStatus.PENDING:
            raise IllegalTransition(
                "attachment-pending", f"attachment {current.id} is {current.status.value}"
            )
        writer.publish(result.sha256)
        tx.set_attachment_received(current.id, result.sha256, at=now)
        self._sink.record(
            tx,
            "attachment.received",
            current.id,
            now,
            {"sha256": result.sha256, "size": result.size, "fileName": current.file_name},
        )
        if after is not None:
            after(tx)
        return True

    async def for_case(
        self, principal: Principal, case_id: str, attachment_id: str, *, now: datetime
    ) -> BlobFile:
        def locate(tx: StoreTx) -> Attachment:
            load_case(tx, principal, case_id)
            found = [a for a in tx.case_attachments(case_id) if a.id == attachment_id]
            if not found:
                raise NotFound(f"File is not found: {attachment_id}")
            return found[0]

        found = self._file(await self._store.read(locate))
        await self._downloaded(principal, found, {"case": case_id}, now)
        return found

    async def for_event(
        self,
        principal: Principal,
        case_id: str,
        event_id: str,
        attachment_id: str,
        *,
        now: datetime,
    ) -> BlobFile:
        def locate(tx: StoreTx) -> Attachment:
            _, _, event = load_event(tx, principal, case_id, event_id)
            found = [a for a in event.attachments if a.id == attachment_id]
            if not found:
                raise NotFound(f"File is not found: {attachment_id}")
            return found[0]

        found = self._file(await self._store.read(locate))
        await self._downloaded(principal, found, {"case": case_id, "event": event_id}, now)
        return found

    async def _downloaded(
        self, principal: Principal, found: BlobFile, where: dict[str, object], now: datetime
    ) -> None:
        """With ``journal_downloads``: record the download durably before it starts."""
        if not self._journal_downloads:
            return
        data: dict[str, object] = {
            **where,
            "client": principal.client_id,
            "org": principal.org.ref.key,
            "sha256": found.attachment.sha256,
            "fileName": found.attachment.file_name,
        }

        def work(tx: StoreTx) -> None:
            self._sink.record(tx, "attachment.downloaded", found.attachment.id, now, data)

        await self._store.write(work)

    def _file(self, attachment: Attachment) -> BlobFile:
        if attachment.status is not AttachmentStatus.RECEIVED or attachment.sha256 is None:
            state = "purged" if attachment.status is AttachmentStatus.DELETED else "not uploaded"
            raise NotFound(f"File is not found: {attachment.id} is {state}")
        sha256 = attachment.sha256
        return BlobFile(
            attachment,
            self._blobs.path_of(sha256),
            digest_header(sha256),
            plain=self._blobs.plain_at_rest,
            chunks=lambda: self._blobs.read_chunks(sha256),
        )
