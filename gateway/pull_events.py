"""Events and receipts pulled from the hub, shown on the LAN in one unit of work each.

Like :mod:`gateway.pull_import`: idempotent (an event or receipt already here is left
alone), and never sent back upstream.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gateway.pull_import import PulledFile, apply_status
from gateway.tables import GatewayTables, StoredReceipt, folder_subject
from hubee.model import (
    ActionType,
    Attachment,
    AttachmentStatus,
    Case,
    Event,
    EventStatus,
    Notification,
    Side,
    Status,
)
from hubee.store import StoreTx
from trust.manifest import Manifest


def import_event(
    tx: StoreTx,
    remote_case_id: str,
    event_json: dict[str, Any],
    files: list[PulledFile],
    now: datetime,
) -> bool:
    """An event made on the other side, shown here (with a notification if it asks)."""
    tables = GatewayTables.of(tx)
    remote_id = str(event_json.get("id"))
    link = tables.case_by_remote(remote_case_id)
    case = None if link is None else tx.case(link.case_id)
    if link is None or case is None or tables.event_for_remote(remote_id) is not None:
        return False
    transmitter_json = event_json.get("transmitter") or {}
    key = f"{transmitter_json.get('companyRegister')}/{transmitter_json.get('branchCode')}"
    transmitter = case.recipient if key == case.recipient.ref.key else case.transmitter
    side = Side.SI if transmitter.id == case.recipient.id else Side.OSL
    event = Event(
        id=remote_id,
        case_id=case.id,
        transmitter=transmitter,
        side=side,
        action_type=ActionType(event_json.get("actionType", "COM_ADD")),
        status=EventStatus.SENT,
        notification=bool(event_json.get("notification")),
        create_at=now,
        update_at=now,
        message=event_json.get("message"),
        comment=event_json.get("comment"),
        author=event_json.get("author"),
        case_current_status=event_json.get("caseCurrentStatus"),
        case_new_status=event_json.get("caseNewStatus"),
        partner_attributes=event_json.get("partnerAttributes"),
        attachments=tuple(
            Attachment(
                id=f.remote_id,
                file_name=f.file_name,
                type=f.type,
                size=f.size,
                mime_type=f.mime_type,
                status=AttachmentStatus.RECEIVED,
                sha256=f.sha256,
            )
            for f in files
        ),
    )
    for f in files:
        f.writer.publish(f.sha256)
    tx.insert_event(event, case.folder_id)
    tables.remember_event(remote_id, event.id)
    if event.case_new_status and event.action_type is ActionType.STATUS_UPDATE:
        apply_status(tx, remote_case_id, Status(event.case_new_status), now)
    _notify(tx, case, event, now)
    tables.journal(
        "event",
        folder_subject(link.folder_id),
        {
            "case": case.id,
            "event": event.id,
            "from": "hub",
            "actionType": event.action_type.value,
            "by": side.value,
            "files": {f.file_name: f.sha256 for f in files},
        },
        now,
    )
    return True


def _notify(tx: StoreTx, case: Case, event: Event, now: datetime) -> None:
    if not event.notification:
        return
    recipient = case.transmitter if event.side is Side.SI else case.recipient
    tx.insert_notification(
        Notification(
            id=str(uuid.uuid4()),
            recipient=recipient,
            transmitter=event.transmitter,
            process_code=case.process_code,
            case_id=case.id,
            event_id=event.id,
            create_at=now,
        )
    )


def import_receipt(
    tx: StoreTx,
    *,
    remote_case_id: str,
    receipt_id: str,
    manifest: Manifest,
    manifest_json: bytes,
    seal: bytes,
    now: datetime,
) -> bool:
    """A recipient's sealed receipt: stored, journaled, and shown to the operator's
    software as a notified SENDING_MESSAGE event on the case."""
    tables = GatewayTables.of(tx)
    link = tables.case_by_remote(remote_case_id)
    case = None if link is None else tx.case(link.case_id)
    if link is None or case is None:
        return False
    outcome = str(manifest.extra.get("outcome"))
    reason = manifest.extra.get("reason")
    stored = StoredReceipt(
        receipt_id,
        case.id,
        link.folder_id,
        "received",
        manifest_json,
        seal,
        outcome,
        str(reason) if reason else None,
    )
    if not tables.put_receipt(stored, now):
        return False
    text = "accusé de réception scellé : dossier " + (
        "reçu et vérifié" if outcome == "accepted" else f"refusé ({reason})"
    )
    event = Event(
        id=str(uuid.uuid4()),
        case_id=case.id,
        transmitter=case.recipient,
        side=Side.SI,
        action_type=ActionType.SENDING_MESSAGE,
        status=EventStatus.SENT,
        notification=True,
        create_at=now,
        update_at=now,
        message=f"{text} — reçu {receipt_id}, manifeste "
        f"{manifest.extra.get('folderManifestSha256')}",
        case_current_status=case.status.value,
    )
    tx.insert_event(event, case.folder_id)
    _notify(tx, case, event, now)
    tables.journal(
        "receipt",
        folder_subject(link.folder_id),
        {
            "direction": "received",
            "case": case.id,
            "outcome": outcome,
            "receiptId": receipt_id,
            "receiptSha256": manifest.sha256(),
            "by": manifest.sender,
            "event": event.id,
        },
        now,
    )
    return True
