"""Pushing to the hub: the handlers of the outbox's items (docs/LINK.md).

- ``push_folder``: ``PUT /link/v1/folders/{id}`` (the folder, its sealed manifest and
  seal), then each attachment (``HEAD`` for the offset the hub already holds, ``PUT``
  the rest, decrypted from the blob store as it streams, with its ``digest``), then
  ``POST …/complete``. The hub's case and attachment ids are mapped to ours (by
  recipient, by file name). Once the hub has accepted, the local cases and folder
  become HUBEE_NOTIFIED, journaled as ``pushed`` then ``accepted``.
- ``push_status``: ``PATCH /link/v1/cases/{hub case id}``.
- ``push_event``: ``POST /link/v1/cases/{hub case id}/events`` with a sealed event
  manifest (sealed once, at the first attempt, and kept in the item: a retry sends the
  same manifest, which the hub recognises), then the event's attachments.
- ``push_receipt``: ``POST /link/v1/cases/{id}/receipt`` with the receipt sealed when
  the case was verified.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from gateway.encrypted_blobs import EncryptedBlobStore
from gateway.errors import HubRefused, HubUnreachable
from gateway.link_client import LinkClient, unb64
from gateway.outbox import Finish, Item, update_payload
from gateway.sealing import seal_manifest
from gateway.tables import GatewayTables, folder_subject
from hubee.attachments import digest_header
from hubee.model import Attachment, Event, Folder, Status
from hubee.representations import applicant
from hubee.store import Store, StoreTx
from trust.evidence import SealingIdentity
from trust.manifest import AttachmentDigest, Manifest

CHUNK = 1024 * 1024
SMALL = 1024 * 1024  # attachments up to this size are re-sent whole rather than resumed


def folder_body(folder: Folder) -> dict[str, Any]:
    """The HubEE folder-creation body of a local folder (ids are the hub's to give)."""
    return {
        "processCode": folder.process_code,
        "externalId": folder.external_id,
        "applicant": applicant(folder.applicant),
        "cases": [
            {
                "recipient": {
                    "type": c.recipient.ref.type.value,
                    "companyRegister": c.recipient.ref.company_register,
                    "branchCode": c.recipient.ref.branch_code,
                },
                "externalId": c.external_id,
                **({"partnerAttributes": c.partner_attributes} if c.partner_attributes else {}),
            }
            for c in folder.cases
        ],
        "attachments": [_attachment_body(a, recipients=True) for a in folder.attachments],
    }


def _attachment_body(a: Attachment, *, recipients: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fileName": a.file_name,
        "type": a.type,
        "size": a.size,
        "mimeType": a.mime_type,
    }
    if recipients:
        out["recipients"] = list(a.recipients)
    return out


def event_body(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {
        "actionType": event.action_type.value,
        "notification": event.notification,
        "attachments": [_attachment_body(a, recipients=False) for a in event.attachments],
    }
    optional = {
        "message": event.message,
        "comment": event.comment,
        "author": event.author,
        "caseNewStatus": event.case_new_status,
        "partnerAttributes": event.partner_attributes,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


class Pusher:
    def __init__(
        self,
        store: Store,
        blobs: EncryptedBlobStore,
        link: LinkClient,
        sealer: SealingIdentity,
        *,
        org_key: str,
        clock: Any,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._link = link
        self._sealer = sealer
        self._org_key = org_key
        self._clock = clock

    def handlers(self) -> dict[str, Any]:
        return {
            "push_folder": self.push_folder,
            "push_status": self.push_status,
            "push_event": self.push_event,
            "push_receipt": self.push_receipt,
        }

    # Folders ---------------------------------------------------------------------------

    async def push_folder(self, item: Item) -> Finish:
        folder_id = item.payload["folderId"]

        def load(tx: StoreTx) -> tuple[Folder, bytes, bytes]:
            folder = tx.folder(folder_id)
            sealed = GatewayTables.of(tx).manifest(folder_id)
            if folder is None or sealed is None:
                raise HubRefused(f"folder {folder_id} is gone from the local store", status=410)
            return folder, sealed.manifest, sealed.seal

        folder, manifest, seal = await self._store.read(load)
        answer = await self._link.push_folder(folder_id, folder_body(folder), manifest, seal)
        remote = answer.get("folder")
        if not isinstance(remote, dict):
            raise HubRefused("the hub's folder answer has no folder", status=502)
        await self._store.write(lambda tx: self._map(tx, folder, remote, self._clock()))
        for attachment in folder.attachments:
            remote_id = _remote_attachment(remote, attachment)
            await self._upload(
                f"/link/v1/folders/{folder_id}/attachments/{remote_id}",
                attachment,
                first_attempt=item.attempts == 0,
            )
        accepted = await self._link.complete(folder_id)
        # Committed with the item's "done", in one transaction (gateway.outbox.Finish).
        return lambda tx: self._accepted(tx, folder, accepted, self._clock())

    def _map(self, tx: StoreTx, folder: Folder, remote: dict[str, Any], now: datetime) -> None:
        tables = GatewayTables.of(tx)
        by_recipient = {
            f"{c['recipient']['companyRegister']}/{c['recipient']['branchCode']}": c["id"]
            for c in remote.get("cases", [])
        }
        for case in folder.cases:
            hub_id = by_recipient.get(case.recipient.ref.key)
            if hub_id is None:
                raise HubRefused(
                    f"the hub's folder lacks a case for {case.recipient.ref.key}", status=502
                )
            tables.set_remote_case(case.id, str(hub_id))
        for attachment in folder.attachments:
            tables.set_remote_attachment(attachment.id, _remote_attachment(remote, attachment))
        tables.journal(
            "pushed",
            folder_subject(folder.id),
            {"to": "hub", "cases": sorted(by_recipient.values())},
            now,
        )

    def _accepted(self, tx: StoreTx, folder: Folder, answer: dict[str, Any], now: datetime) -> None:
        tables = GatewayTables.of(tx)
        current = tx.folder(folder.id)
        if current is None:
            return
        for case in current.cases:
            if case.status is Status.HUBEE_RECEIVED:
                tx.set_case_status(case.id, Status.HUBEE_NOTIFIED, at=now)
        if current.global_status is Status.HUBEE_COMPLETED:
            tx.set_folder_status(folder.id, Status.HUBEE_NOTIFIED, at=now)
        remote = answer.get("folder", {})
        tables.journal(
            "accepted",
            folder_subject(folder.id),
            {
                "by": "hub",
                "status": remote.get("globalStatus") if isinstance(remote, dict) else None,
            },
            now,
        )

    async def _upload(self, path: str, attachment: Attachment, *, first_attempt: bool) -> None:
        assert attachment.sha256 is not None
        if first_attempt and attachment.size <= SMALL:
            # Saves the HEAD round trip: the hub normally holds none of it yet. After a
            # crash it may hold a part (a PUT from 0 replaces it) or all of it (the same
            # bytes again are a no-op); on any refusal, ask the hub as usual below.
            with contextlib.suppress(HubRefused):
                await self._put(path, attachment, 0)
                return
        offset = await self._link.upload_offset(path)
        if offset >= attachment.size and attachment.size > 0:
            return
        await self._put(path, attachment, offset)

    async def _put(self, path: str, attachment: Attachment, offset: int) -> None:
        assert attachment.sha256 is not None
        try:
            reached = await self._link.upload(
                path,
                self._plaintext(attachment.sha256, offset),
                offset=offset,
                size=attachment.size,
                digest="sha-256=" + digest_header(attachment.sha256),  # LINK.md: required
            )
        except HubRefused as exc:
            # 409: an upload still in progress, or another offset; 410: the hub expired
            # its partial upload. Later: the retry asks the offset (HEAD) again.
            if exc.status in (409, 410):
                raise HubUnreachable(exc.message) from exc
            raise
        if reached < attachment.size:
            raise HubRefused(f"the hub holds {reached} of {attachment.size} bytes", status=502)

    async def _plaintext(self, sha256: str, skip: int) -> AsyncIterator[bytes]:
        chunks = await asyncio.to_thread(self._blobs.read_chunks, sha256)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            yield chunk[skip:]
            skip = 0

    # Statuses, events, receipts ---------------------------------------------------------------

    async def _remote_case(self, case_id: str) -> str:
        link = await self._store.read(lambda tx: GatewayTables.of(tx).case_link(case_id))
        if link is None or link.remote_id is None:
            raise HubRefused(f"case {case_id} is not known to the hub yet", status=409)
        return link.remote_id

    async def push_status(self, item: Item) -> None:
        remote = await self._remote_case(item.payload["caseId"])
        await self._link.set_status(remote, str(item.payload["status"]))

    async def push_event(self, item: Item) -> None:
        case_id, event_id = item.payload["caseId"], item.payload["eventId"]
        remote_case = await self._remote_case(case_id)
        event = await self._store.read(lambda tx: tx.event(event_id))
        if event is None:
            raise HubRefused(f"event {event_id} is gone from the local store", status=410)
        if "manifest" not in item.payload:
            manifest = Manifest(
                id=event.id,
                kind="event",
                created=self._clock(),
                attachments=tuple(
                    AttachmentDigest(a.file_name, a.mime_type, a.size, a.sha256 or "")
                    for a in event.attachments
                ),
                sender=self._org_key,
                extra={"caseId": remote_case, "actionType": event.action_type.value},
            )
            sealed = seal_manifest(manifest, self._sealer, self._clock())
            payload = {
                **item.payload,
                "manifest": base64.b64encode(sealed.manifest_json).decode(),
                "seal": base64.b64encode(sealed.seal).decode(),
            }
            await self._store.write(lambda tx: update_payload(tx, item.id, payload))
        else:
            payload = item.payload
        answer = await self._link.create_event(
            remote_case,
            event_body(event),
            unb64(payload["manifest"], "manifest"),
            unb64(payload["seal"], "seal"),
        )
        remote = answer.get("event", {})
        remote_id = str(remote.get("id")) if isinstance(remote, dict) else ""

        def remember(tx: StoreTx) -> None:
            tables = GatewayTables.of(tx)
            tables.remember_event(remote_id, event.id)
            tables.journal(
                "pushed",
                folder_subject(item.lane),
                {"to": "hub", "event": event.id, "hubEvent": remote_id},
                self._clock(),
            )
            forwarded = tables.drop_forwarded_notifications(event.id, self._org_key)
            if forwarded:  # the hub notifies them now: nothing on the LAN can read these
                tables.journal(
                    "purge",
                    folder_subject(item.lane),
                    {"fact": "purge.notifications", "reason": "pushed", "notifications": forwarded},
                    self._clock(),
                )

        await self._store.write(remember)
        by_name = {a.get("fileName"): a.get("id") for a in remote.get("attachments", [])}
        for attachment in event.attachments:
            await self._upload(
                f"/link/v1/cases/{remote_case}/events/{remote_id}/attachments/"
                f"{by_name.get(attachment.file_name)}",
                attachment,
                first_attempt=False,
            )

    async def push_receipt(self, item: Item) -> None:
        await self._link.post_receipt(
            item.payload["caseId"],
            unb64(item.payload["receipt"], "receipt"),
            unb64(item.payload["seal"], "seal"),
        )


def _remote_attachment(remote: dict[str, Any], attachment: Attachment) -> str:
    for candidate in remote.get("attachments", []):
        if (
            candidate.get("fileName") == attachment.file_name
            and candidate.get("size") == attachment.size
        ):
            return str(candidate["id"])
    raise HubRefused(f"the hub's folder lacks the attachment {attachment.file_name}", status=502)
