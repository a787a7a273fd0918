"""Making what was pulled from the hub visible on the LAN, in one unit of work each.

Each function runs inside an engine write unit: the local folder, case, attachments
(their blobs published in the same unit), notification, link rows, journal entries and
any receipt to send commit together. Each is idempotent: a case, event or receipt
already imported (or refused) is left alone, so a feed item processed twice (after a
crash) changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.encrypted_blobs import ResumableWriter
from gateway.link_client import b64
from gateway.sealing import Sealed
from gateway.tables import IN, GatewayTables, StoredReceipt, folder_subject
from hubee.model import (
    Applicant,
    Attachment,
    AttachmentStatus,
    Case,
    Folder,
    Notification,
    Organization,
    OrgRef,
    OrgType,
    Process,
    Status,
)
from hubee.store import StoreTx
from trust.manifest import Manifest


@dataclass(frozen=True)
class PulledFile:
    remote_id: str
    file_name: str
    type: str
    size: int
    mime_type: str
    sha256: str
    writer: ResumableWriter


def org_of(tx: StoreTx, key: str, org_type: OrgType, now: datetime) -> Organization:
    register, _, branch = key.partition("/")
    found = tx.org_by_ref(register, branch)
    if found is None:
        found = Organization(str(uuid.uuid4()), OrgRef(org_type, register, branch), key)
        tx.insert_org(found, at=now)
    return found


def _applicant(case_json: dict[str, Any]) -> Applicant:
    raw = case_json.get("applicant")
    if isinstance(raw, dict) and raw.get("firstName") and raw.get("lastName"):
        return Applicant(str(raw["firstName"]), str(raw["lastName"]), raw.get("email"))
    return Applicant("-", "-")


def enqueue_receipt(
    tables: GatewayTables,
    *,
    case_id: str,
    folder_id: str,
    receipt: Sealed,
    outcome: str,
    reason: str | None,
    now: datetime,
) -> None:
    tables.put_receipt(
        StoredReceipt(
            receipt.manifest.id,
            case_id,
            folder_id,
            "sent",
            receipt.manifest_json,
            receipt.seal,
            outcome,
            reason,
        ),
        now,
    )
    tables.enqueue(
        "push_receipt",
        lane=folder_id,
        idem=f"receipt:{case_id}",
        payload={
            "caseId": case_id,
            "receiptId": receipt.manifest.id,
            "receipt": b64(receipt.manifest_json),
            "seal": b64(receipt.seal),
        },
        now=now,
    )
    tables.journal(
        "receipt",
        folder_subject(folder_id),
        {
            "direction": "sent",
            "case": case_id,
            "outcome": outcome,
            "receiptId": receipt.manifest.id,
            "receiptSha256": receipt.sha256,
            **({"reason": reason} if reason else {}),
        },
        now,
    )


def import_case(
    tx: StoreTx,
    *,
    own_key: str,
    case_json: dict[str, Any],
    manifest: Manifest,
    manifest_json: bytes,
    seal: bytes,
    files: list[PulledFile],
    receipt: Sealed,
    now: datetime,
) -> bool:
    """Deliver a verified case to the LAN; ``False`` if it was already there.

    ``seal`` is the sender's seal over ``manifest_json``; empty for a case sent without
    one (the manifest then records the hub's digests, see :mod:`gateway.pull_unsealed`).
    """
    tables = GatewayTables.of(tx)
    case_id = str(case_json["id"])
    if tables.case_link(case_id) is not None:
        return False
    folder_id = manifest.id
    sender = org_of(tx, str(manifest.sender), OrgType.OSL, now)
    own = org_of(tx, own_key, OrgType.SI, now)
    process_code = str(manifest.process_code)
    if tx.process(process_code) is None:
        tx.insert_process(Process(process_code, process_code, osl_org_id=sender.id), at=now)
    attachments = tuple(
        Attachment(
            id=f.remote_id,
            file_name=f.file_name,
            type=f.type,
            size=f.size,
            mime_type=f.mime_type,
            status=AttachmentStatus.RECEIVED,
            sha256=f.sha256,
            recipients=(str(case_json.get("externalId", "")),),
        )
        for f in files
    )
    for f in files:
        f.writer.publish(f.sha256)
    applicant = _applicant(case_json)
    if tx.folder(folder_id) is None:
        tx.insert_folder(
            Folder(
                id=folder_id,
                process_code=process_code,
                external_id=str(manifest.external_id or folder_id)[:100],
                transmitter=sender,
                global_status=Status.HUBEE_NOTIFIED,
                applicant=applicant,
                create_at=now,
                attachments=attachments,
            ),
            f"pulled:{manifest.sha256()}",
        )
    tx.insert_case(
        Case(
            id=case_id,
            folder_id=folder_id,
            process_code=process_code,
            external_id=str(case_json.get("externalId", "")),
            recipient=own,
            transmitter=sender,
            status=Status.HUBEE_NOTIFIED,
            create_at=now,
            partner_attributes=case_json.get("partnerAttributes"),
            applicant=applicant,
        )
    )
    for a in attachments:
        tx.link_case_attachment(case_id, a.id)
    notification = Notification(
        id=str(uuid.uuid4()),
        recipient=own,
        transmitter=sender,
        process_code=process_code,
        case_id=case_id,
        event_id=None,
        create_at=now,
    )
    tx.insert_notification(notification)
    tables.link_case(case_id, folder_id, IN, case_id)
    if tables.manifest(folder_id) is None:
        tables.put_manifest(folder_id, IN, manifest_json, seal, manifest.sha256(), now)
    subject = folder_subject(folder_id)
    sha = manifest.sha256()
    # Without a sender seal (a case sent straight to the hub's HubEE API), the manifest
    # is the one this gateway recorded from the hub's digests: never "sealed".
    origin: dict[str, Any] = (
        {"sealedBy": manifest.sender}
        if seal
        else {"senderSeal": "none", "attestedBy": "hub", "sender": manifest.sender}
    )
    tables.journal("pulled", subject, {"case": case_id, "from": "hub", "files": len(files)}, now)
    tables.journal(
        "verified",
        subject,
        {
            "case": case_id,
            "manifestSha256": sha,
            **origin,
            "digests": {f.file_name: f.sha256 for f in files},
        },
        now,
    )
    tables.journal(
        "manifest.sealed" if seal else "manifest.recorded",
        subject,
        {"manifestSha256": sha, **origin},
        now,
    )
    tables.journal(
        "delivered", subject, {"case": case_id, "to": "lan", "notification": notification.id}, now
    )
    enqueue_receipt(
        tables,
        case_id=case_id,
        folder_id=folder_id,
        receipt=receipt,
        outcome="accepted",
        reason=None,
        now=now,
    )
    return True


def refuse_case(
    tx: StoreTx,
    *,
    case_id: str,
    folder_id: str,
    reason: str,
    receipt: Sealed | None,
    now: datetime,
) -> bool:
    """Record a refused case (never shown on the LAN) and queue the sealed rejection."""
    tables = GatewayTables.of(tx)
    if tables.case_link(case_id) is not None or not tables.refuse(case_id, folder_id, reason, now):
        return False
    tables.journal(
        "refused",
        folder_subject(folder_id),
        {"case": case_id, "by": "gateway", "reason": reason},
        now,
    )
    if receipt is not None:
        enqueue_receipt(
            tables,
            case_id=case_id,
            folder_id=folder_id,
            receipt=receipt,
            outcome="rejected",
            reason=reason,
            now=now,
        )
    return True


def apply_status(tx: StoreTx, remote_case_id: str, status: Status, now: datetime) -> bool:
    """The hub says a case moved (the other side moved it): apply it here."""
    tables = GatewayTables.of(tx)
    link = tables.case_by_remote(remote_case_id)
    case = None if link is None else tx.case(link.case_id)
    if link is None or case is None or case.status is status:
        return False
    tx.set_case_status(case.id, status, at=now, transmitted=status is Status.SENT)
    tables.journal(
        "status",
        folder_subject(link.folder_id),
        {"case": case.id, "from": case.status.value, "to": status.value, "by": "hub"},
        now,
    )
    return True
