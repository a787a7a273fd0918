"""Sealed rejections of events pulled from the hub whose attachments fail their checks.

An event with attachments must come with its sender's sealed manifest, and each file
must match the SHA-256 and size sealed for it. When it does not, the event is
**refused**: never shown on the LAN, recorded (``gw_refused``, keyed
``event:<hub event id>``, so a replayed feed item is skipped), journaled as
``refused`` with the reason, and answered with a sealed rejection.

The hub keeps one receipt per case (the case's own), so the rejection travels as an
event on the case: a notified ``SENDING_MESSAGE`` whose sealed manifest (kind
``event``, no attachments) carries the refused event's id, the SHA-256 of its
manifest (or of nothing, when it had none), ``outcome: rejected`` and the reason. The
manifest is sealed once, when the refusal is recorded, and kept in the outbox item,
so a retry sends the same manifest and the hub answers with the first event.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from gateway.link_client import LinkClient, b64, unb64
from gateway.outbox import Handler, Item
from gateway.sealing import REJECTED, Sealed
from gateway.tables import GatewayTables, folder_subject
from hubee.model import ActionType
from hubee.store import StoreTx
from trust.manifest import Manifest

KIND = "push_event_rejection"


def refusal_key(remote_event_id: str) -> str:
    """The ``gw_refused`` key of a refused event (cases use their own id)."""
    return f"event:{remote_event_id}"


def event_rejection_manifest(
    *,
    remote_case_id: str,
    remote_event_id: str,
    event_manifest: bytes | None,
    reason: str,
    sender: str,
    recipient: str | None,
    at: datetime,
) -> Manifest:
    return Manifest(
        id=str(uuid.uuid4()),
        kind="event",
        created=at,
        sender=sender,
        recipients=(recipient,) if recipient else (),
        extra={
            "caseId": remote_case_id,
            "actionType": ActionType.SENDING_MESSAGE.value,
            "outcome": REJECTED,
            "rejectedEvent": remote_event_id,
            "eventManifestSha256": hashlib.sha256(event_manifest or b"").hexdigest(),
            "reason": reason[:2000],
        },
    )


def rejection_text(remote_event_id: str, reason: str) -> str:
    return f"accusé de réception scellé : événement {remote_event_id} refusé ({reason[:1000]})"


def refuse_event(
    tx: StoreTx,
    *,
    remote_case_id: str,
    remote_event_id: str,
    reason: str,
    rejection: Sealed,
    now: datetime,
) -> bool:
    """Record the refusal, journal it and queue the sealed rejection; False if the event
    is already here, already refused, or of a case unknown here."""
    tables = GatewayTables.of(tx)
    link = tables.case_by_remote(remote_case_id)
    if link is None or tables.event_for_remote(remote_event_id) is not None:
        return False
    if not tables.refuse(refusal_key(remote_event_id), link.folder_id, reason, now):
        return False
    tables.journal(
        "refused",
        folder_subject(link.folder_id),
        {
            "case": link.case_id,
            "event": remote_event_id,
            "by": "gateway",
            "reason": reason,
            "rejectionId": rejection.manifest.id,
            "rejectionSha256": rejection.sha256,
        },
        now,
    )
    tables.enqueue(
        KIND,
        lane=link.folder_id,
        idem=f"event-rejection:{remote_event_id}",
        payload={
            "caseId": remote_case_id,
            "eventId": remote_event_id,
            "message": rejection_text(remote_event_id, reason),
            "manifest": b64(rejection.manifest_json),
            "seal": b64(rejection.seal),
        },
        now=now,
    )
    return True


class EventRejections:
    """The outbox handler that sends queued rejections to the hub."""

    def __init__(self, link: LinkClient) -> None:
        self._link = link

    def handlers(self) -> dict[str, Handler]:
        return {KIND: self.push}

    async def push(self, item: Item) -> None:
        payload = item.payload
        body: dict[str, Any] = {
            "actionType": ActionType.SENDING_MESSAGE.value,
            "notification": True,
            "message": payload["message"],
            "attachments": [],
        }
        await self._link.create_event(
            str(payload["caseId"]),
            body,
            unb64(payload["manifest"], "manifest"),
            unb64(payload["seal"], "seal"),
        )
