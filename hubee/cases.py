"""Cases and their events: read, change status, exchange messages.

Reading a delivered case as its recipient marks it SENT (HubEE: "SENT = the SI fetched
it"). A STATUS_UPDATE event with ``caseNewStatus`` changes the case's status under the
same rules as ``PATCH /cases/{id}`` (DINUM's reference SI client works that way). An
event is SENT as soon as all its attachments are uploaded (at once if it has none); a
SENT event with ``notification: true`` notifies the other side.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from hubee.access import case_side
from hubee.blob_refs import drop_unreferenced_blobs
from hubee.blobs import BlobStore
from hubee.commands import NewEvent
from hubee.errors import IllegalTransition, NotFound
from hubee.event_sink import EventSink
from hubee.model import (
    ActionType,
    Attachment,
    AttachmentStatus,
    Case,
    Event,
    EventStatus,
    Notification,
    PartnerInfo,
    Principal,
    Side,
    Status,
)
from hubee.store import Store, StoreTx
from hubee.transitions import check_case_move, check_event_move


@dataclass(frozen=True)
class CaseView:
    case: Case
    side: Side
    attachments: list[Attachment] | None
    events: list[Event] | None


def load_case(tx: StoreTx, principal: Principal, case_id: str) -> tuple[Case, Side]:
    case = tx.case(case_id)
    if case is None:
        raise NotFound(f"Case is not found: {case_id}")
    return case, case_side(principal, case)


def load_event(
    tx: StoreTx, principal: Principal, case_id: str, event_id: str
) -> tuple[Case, Side, Event]:
    case, side = load_case(tx, principal, case_id)
    event = tx.event(event_id)
    if event is None or event.case_id != case.id:
        raise NotFound(f"Event is not found: {event_id}")
    return case, side, event


def _creator(side: Side, event: Event) -> bool | None:
    return None if side is Side.ADMIN else side is event.side


class Cases:
    def __init__(self, store: Store, blobs: BlobStore, sink: EventSink) -> None:
        self._store = store
        self._blobs = blobs
        self._sink = sink

    async def get(
        self, principal: Principal, case_id: str, *, lite: bool, now: datetime
    ) -> CaseView:
        def read(tx: StoreTx) -> tuple[Case, Side]:
            return load_case(tx, principal, case_id)

        case, side = await self._store.read(read)
        if side is Side.SI and case.status is Status.HUBEE_NOTIFIED:
            await self._store.write(lambda tx: self._mark_fetched(tx, case_id, now))

        def view(tx: StoreTx) -> CaseView:
            fresh, _ = load_case(tx, principal, case_id)
            if lite:
                return CaseView(fresh, side, None, None)
            return CaseView(fresh, side, tx.case_attachments(case_id), tx.events(case_id))

        return await self._store.read(view)

    def _mark_fetched(self, tx: StoreTx, case_id: str, now: datetime) -> None:
        case = tx.case(case_id)
        assert case is not None
        if case.status is Status.HUBEE_NOTIFIED:  # not already fetched by a concurrent read
            check_case_move(case.status, Status.SENT, Side.HUB)
            tx.set_case_status(case_id, Status.SENT, at=now, transmitted=True)
            self._record_status(tx, case, Status.SENT, now, Side.HUB)

    def _record_status(
        self, tx: StoreTx, case: Case, target: Status, now: datetime, side: Side
    ) -> None:
        self._sink.record(
            tx,
            "case.status",
            case.id,
            now,
            {"from": case.status.value, "to": target.value, "by": side.value},
        )

    async def set_status(
        self, principal: Principal, case_id: str, target: Status, *, now: datetime
    ) -> None:
        def work(tx: StoreTx) -> None:
            case, side = load_case(tx, principal, case_id)
            if check_case_move(case.status, target, side):
                tx.set_case_status(case.id, target, at=now)
                self._record_status(tx, case, target, now, side)

        await self._store.write(work)

    async def create_event(
        self,
        principal: Principal,
        case_id: str,
        cmd: NewEvent,
        *,
        partner: PartnerInfo,
        now: datetime,
    ) -> Event:
        def work(tx: StoreTx) -> Event:
            case, side = load_case(tx, principal, case_id)
            if case.status is Status.ARCHIVED:
                raise IllegalTransition("archived-is-final", "an ARCHIVED case takes no events")
            if case.status is Status.HUBEE_RECEIVED:
                raise IllegalTransition(
                    "case-not-delivered", "events start once the folder is HUBEE_COMPLETED"
                )
            if (
                cmd.case_new_status is not None
                and cmd.action_type is ActionType.STATUS_UPDATE
                and check_case_move(case.status, cmd.case_new_status, side)
            ):
                tx.set_case_status(case.id, cmd.case_new_status, at=now)
                self._record_status(tx, case, cmd.case_new_status, now, side)
            event = Event(
                id=str(uuid.uuid4()),
                case_id=case.id,
                transmitter=principal.org,
                side=side,
                action_type=cmd.action_type,
                status=EventStatus.IN_PROGRESS if cmd.attachments else EventStatus.SENT,
                notification=cmd.notification,
                create_at=now,
                update_at=now,
                message=cmd.message,
                comment=cmd.comment,
                author=cmd.author,
                case_current_status=case.status.value,
                case_new_status=(
                    None if cmd.case_new_status is None else cmd.case_new_status.value
                ),
                partner_attributes=cmd.partner_attributes,
                partner_info=partner,
                attachments=tuple(
                    Attachment(
                        id=str(uuid.uuid4()),
                        file_name=a.file_name,
                        type=a.type,
                        size=a.size,
                        mime_type=a.mime_type,
                        status=AttachmentStatus.PENDING,
                    )
                    for a in cmd.attachments
                ),
            )
            tx.insert_event(event, case.folder_id)
            self._sink.record(
                tx,
                "event.created",
                event.id,
                now,
                {
                    "case": case.id,
                    "actionType": event.action_type.value,
                    "by": side.value,
                    "status": event.status.value,
                    "attachments": {a.id: [a.file_name, a.size] for a in event.attachments},
                },
            )
            if event.status is EventStatus.SENT:
                self.notify(tx, case, event, now)
            return event

        return await self._store.write(work)

    def notify(self, tx: StoreTx, case: Case, event: Event, now: datetime) -> None:
        """Notify the side(s) that did not create ``event``, if it asks for it."""
        if not event.notification:
            return
        recipients = {
            Side.SI: [case.transmitter],
            Side.OSL: [case.recipient],
        }.get(event.side, [case.transmitter, case.recipient])
        for recipient in recipients:
            notification = Notification(
                id=str(uuid.uuid4()),
                recipient=recipient,
                transmitter=event.transmitter,
                process_code=case.process_code,
                case_id=case.id,
                event_id=event.id,
                create_at=now,
            )
            tx.insert_notification(notification)
            self._sink.record(
                tx,
                "notification.created",
                notification.id,
                now,
                {"case": case.id, "event": event.id, "recipient": recipient.ref.key},
            )

    def send_event(self, tx: StoreTx, case: Case, event: Event, now: datetime) -> None:
        """IN_PROGRESS → SENT once every attachment is received; then notify."""
        missing = [a for a in event.attachments if a.status is not AttachmentStatus.RECEIVED]
        if missing:
            raise IllegalTransition(
                "event-attachments-first",
                "upload the event's attachments before sending it; not received: "
                + ", ".join(f"{a.file_name} ({a.id})" for a in missing),
            )
        tx.set_event_status(event.id, EventStatus.SENT, at=now)
        self._sink.record(
            tx,
            "event.status",
            event.id,
            now,
            {"from": event.status.value, "to": EventStatus.SENT.value},
        )
        self.notify(tx, case, event, now)

    async def get_event(
        self, principal: Principal, case_id: str, event_id: str
    ) -> tuple[Event, Side]:
        def read(tx: StoreTx) -> tuple[Event, Side]:
            _, side, event = load_event(tx, principal, case_id, event_id)
            return event, side

        return await self._store.read(read)

    async def set_event_status(
        self,
        principal: Principal,
        case_id: str,
        event_id: str,
        target: EventStatus,
        *,
        now: datetime,
    ) -> None:
        def work(tx: StoreTx) -> None:
            case, side, event = load_event(tx, principal, case_id, event_id)
            if not check_event_move(event.status, target, creator=_creator(side, event)):
                return
            if target is EventStatus.SENT:
                self.send_event(tx, case, event, now)
                return
            tx.set_event_status(event.id, target, at=now)
            self._sink.record(
                tx,
                "event.status",
                event.id,
                now,
                {"from": event.status.value, "to": target.value, "by": side.value},
            )

        await self._store.write(work)

    async def delete_event(
        self, principal: Principal, case_id: str, event_id: str, *, now: datetime
    ) -> None:
        """Delete an ATTACH_DEPOSIT event still IN_PROGRESS (spec: ``deleteEvent``)."""

        def work(tx: StoreTx) -> list[str]:
            _, side, event = load_event(tx, principal, case_id, event_id)
            if _creator(side, event) is False:
                raise IllegalTransition(
                    "event-deleted-by-creator", "only the side that created an event deletes it"
                )
            if (
                event.action_type is not ActionType.ATTACH_DEPOSIT
                or event.status is not EventStatus.IN_PROGRESS
            ):
                raise IllegalTransition(
                    "event-delete-deposit-in-progress",
                    "only an ATTACH_DEPOSIT event still IN_PROGRESS can be deleted; this one is "
                    f"{event.action_type.value} {event.status.value}",
                )
            tx.delete_event(event.id)
            self._sink.record(tx, "event.deleted", event.id, now, {"case": case_id})
            return [a.sha256 for a in event.attachments if a.sha256]

        shas = await self._store.write(work)
        await drop_unreferenced_blobs(self._store, self._blobs, shas)
