"""Where a completed folder goes: the one decision that differs between engines.

The hub routes a completed folder itself: it checks each recipient's subscription,
delivers the cases and notifies the recipients, in the completing transaction
(:class:`LocalRouting`, the default). An engine embedded in a gateway does not know the
hub's directory: it accepts recipients it has not met and hands the completed folder
to something that forwards it upstream. A :class:`FolderRouting` makes that choice; it
runs inside the unit of work that completes the folder, so whatever it records
commits with the completion or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from hubee.errors import IllegalTransition, ValidationFailed
from hubee.event_sink import EventSink
from hubee.model import (
    AttachmentStatus,
    Folder,
    Notification,
    Organization,
    OrgRef,
    Side,
    Status,
    SubscriptionStatus,
)
from hubee.store import StoreTx
from hubee.transitions import check_case_move


class FolderRouting(Protocol):
    def recipient(self, tx: StoreTx, ref: OrgRef) -> Organization | None:
        """The organization a new case is addressed to, or ``None`` if there is none."""
        ...

    def complete(self, tx: StoreTx, folder: Folder, now: datetime) -> Status:
        """Take a folder its operator declared complete; return its status afterwards."""
        ...


def require_attachments_received(folder: Folder) -> None:
    """Rule ``attachments-first``: every attachment is uploaded before completion."""
    pending = [a for a in folder.attachments if a.status is not AttachmentStatus.RECEIVED]
    if pending:
        raise IllegalTransition(
            "attachments-first",
            "upload every attachment before completing the folder; not received: "
            + ", ".join(f"{a.file_name} ({a.id})" for a in pending),
        )


def record_folder_status(
    sink: EventSink, tx: StoreTx, folder_id: str, before: Status, after: Status, now: datetime
) -> None:
    tx.set_folder_status(folder_id, after, at=now)
    sink.record(tx, "folder.status", folder_id, now, {"from": before.value, "to": after.value})


class LocalRouting:
    """The hub's routing: recipients must be known and subscribed (Actif)."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    def recipient(self, tx: StoreTx, ref: OrgRef) -> Organization | None:
        return tx.org_by_ref(ref.company_register, ref.branch_code)

    def complete(self, tx: StoreTx, folder: Folder, now: datetime) -> Status:
        require_attachments_received(folder)
        for i, case in enumerate(folder.cases):
            sub = tx.subscription_for(folder.process_code, case.recipient.id)
            if sub is None or sub.status is not SubscriptionStatus.ACTIVE:
                state = "no subscription" if sub is None else f"subscription {sub.status.value}"
                raise ValidationFailed(
                    f"cases[{i}].recipient",
                    f"{case.recipient.ref.key} ({case.recipient.name}) is not subscribed (Actif) "
                    f"to {folder.process_code}: {state}",
                )
        sink = self._sink
        record_folder_status(sink, tx, folder.id, folder.global_status, Status.HUBEE_COMPLETED, now)
        for case in folder.cases:
            check_case_move(case.status, Status.HUBEE_NOTIFIED, Side.HUB)
            tx.set_case_status(case.id, Status.HUBEE_NOTIFIED, at=now)
            sink.record(
                tx,
                "case.status",
                case.id,
                now,
                {"from": case.status.value, "to": Status.HUBEE_NOTIFIED.value},
            )
            notification = Notification(
                id=str(uuid.uuid4()),
                recipient=case.recipient,
                transmitter=folder.transmitter,
                process_code=folder.process_code,
                case_id=case.id,
                event_id=None,
                create_at=now,
            )
            tx.insert_notification(notification)
            sink.record(
                tx,
                "notification.created",
                notification.id,
                now,
                {"case": case.id, "recipient": case.recipient.ref.key},
            )
        record_folder_status(
            sink, tx, folder.id, Status.HUBEE_COMPLETED, Status.HUBEE_NOTIFIED, now
        )
        return Status.HUBEE_NOTIFIED
