"""SQLite implementation of :class:`hub.store.DossierTx`."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from hubee.model import (
    ActionType,
    Attachment,
    Case,
    Event,
    EventStatus,
    Folder,
    JournalEntry,
    Notification,
    Side,
    Status,
)
from hubee.sqlite_rows import (
    ATTACHMENT_COLUMNS,
    applicant_from,
    applicant_json,
    attachment_from,
    dt,
    dt_required,
    org_from,
    partner_info_from,
    partner_info_json,
    ts,
)
from hubee.store import AttachmentRecord, NotificationQuery
from hubee.transitions import CASE_RANK

_ORG = "{a}.id, {a}.type, {a}.company_register, {a}.branch_code, {a}.name"
_A_COLUMNS = ", ".join("a." + c for c in ATTACHMENT_COLUMNS.split(", "))
# One encoder for every journal record: json.dumps(sort_keys=True) builds a new one per call.
_JOURNAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_CASE_SELECT = (
    "SELECT c.id, c.folder_id, f.process_code, c.external_id, c.status, c.create_at, "  # noqa: S608
    "c.update_at, c.transmission_at, c.close_at, c.partner_attributes, f.applicant, "
    f"{_ORG.format(a='r')}, {_ORG.format(a='t')} FROM cases c "
    "JOIN folders f ON f.id = c.folder_id "
    "JOIN organizations r ON r.id = c.recipient_org_id "
    "JOIN organizations t ON t.id = f.transmitter_org_id"
)
_EVENT_SELECT = (
    "SELECT e.id, e.case_id, e.side, e.action_type, e.status, e.notification, e.create_at, "  # noqa: S608
    "e.update_at, e.message, e.comment, e.author, e.case_current_status, e.case_new_status, "
    f"e.partner_attributes, e.partner_info, {_ORG.format(a='o')} FROM events e "
    "JOIN organizations o ON o.id = e.transmitter_org_id"
)
_NOTIFICATION_SELECT = (
    "SELECT n.id, n.process_code, n.case_id, n.event_id, n.create_at, e.status, "  # noqa: S608
    f"{_ORG.format(a='r')}, {_ORG.format(a='t')} FROM notifications n "
    "JOIN organizations r ON r.id = n.recipient_org_id "
    "JOIN organizations t ON t.id = n.transmitter_org_id "
    "LEFT JOIN events e ON e.id = n.event_id"
)


def _case(row: sqlite3.Row) -> Case:
    return Case(
        id=row[0],
        folder_id=row[1],
        process_code=row[2],
        external_id=row[3],
        status=Status(row[4]),
        create_at=dt_required(row[5]),
        update_at=dt(row[6]),
        transmission_at=dt(row[7]),
        close_at=dt(row[8]),
        partner_attributes=row[9],
        applicant=applicant_from(row[10]),
        recipient=org_from(row, 11),
        transmitter=org_from(row, 16),
    )


class SqliteDossiers:
    """Mixin: the dossier part of a SQLite unit of work."""

    _c: sqlite3.Connection

    def folder_by_external_id(
        self, transmitter_org_id: str, process_code: str, external_id: str
    ) -> tuple[str, str] | None:
        row = self._c.execute(
            "SELECT id, request_hash FROM folders WHERE transmitter_org_id = ? "
            "AND process_code = ? AND external_id = ?",
            (transmitter_org_id, process_code, external_id),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _insert_attachments(
        self, attachments: tuple[Attachment, ...], folder_id: str, event_id: str | None
    ) -> None:
        self._c.executemany(
            "INSERT INTO attachments (id, folder_id, event_id, position, file_name, type, size, "
            "mime_type, status, sha256, recipients) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    a.id,
                    folder_id,
                    event_id,
                    i,
                    a.file_name,
                    a.type,
                    a.size,
                    a.mime_type,
                    a.status.value,
                    a.sha256,
                    json.dumps(list(a.recipients)) if event_id is None else None,
                )
                for i, a in enumerate(attachments)
            ],
        )

    def insert_folder(self, folder: Folder, request_hash: str) -> None:
        self._c.execute(
            "INSERT INTO folders (id, transmitter_org_id, process_code, external_id, "
            "global_status, status_at, applicant, request_hash, partner_info, create_at, "
            "update_at, close_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                folder.id,
                folder.transmitter.id,
                folder.process_code,
                folder.external_id,
                folder.global_status.value,
                ts(folder.create_at),
                applicant_json(folder.applicant),
                request_hash,
                partner_info_json(folder.partner_info),
                ts(folder.create_at),
                ts(folder.update_at),
                ts(folder.close_at),
            ),
        )
        self._insert_attachments(folder.attachments, folder.id, None)

    def folder(self, folder_id: str) -> Folder | None:
        row = self._c.execute(
            "SELECT f.id, f.process_code, f.external_id, f.global_status, f.applicant, "  # noqa: S608
            "f.create_at, f.update_at, f.close_at, f.partner_info, "
            f"{_ORG.format(a='t')} FROM folders f "
            "JOIN organizations t ON t.id = f.transmitter_org_id WHERE f.id = ?",
            (folder_id,),
        ).fetchone()
        if row is None:
            return None
        attachments = self._c.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE folder_id = ? "  # noqa: S608
            "AND event_id IS NULL ORDER BY position",
            (folder_id,),
        )
        return Folder(
            id=row[0],
            process_code=row[1],
            external_id=row[2],
            global_status=Status(row[3]),
            applicant=applicant_from(row[4]),
            create_at=dt_required(row[5]),
            update_at=dt(row[6]),
            close_at=dt(row[7]),
            partner_info=partner_info_from(row[8]),
            transmitter=org_from(row, 9),
            cases=tuple(self.cases_of(folder_id)),
            attachments=tuple(attachment_from(a) for a in attachments),
        )

    def set_folder_status(
        self, folder_id: str, status: Status, *, at: datetime, close_at: datetime | None = None
    ) -> None:
        self._c.execute(
            "UPDATE folders SET global_status = ?, status_at = CASE WHEN global_status = ? "
            "THEN status_at ELSE ? END, update_at = ?, close_at = coalesce(?, close_at) "
            "WHERE id = ?",
            (status.value, status.value, ts(at), ts(at), ts(close_at), folder_id),
        )

    def delete_folder(self, folder_id: str) -> None:
        self._c.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    def insert_case(self, case: Case) -> None:
        self._c.execute(
            "INSERT INTO cases (id, folder_id, recipient_org_id, external_id, status, status_at, "
            "create_at, update_at, transmission_at, close_at, partner_attributes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.id,
                case.folder_id,
                case.recipient.id,
                case.external_id,
                case.status.value,
                ts(case.create_at),
                ts(case.create_at),
                ts(case.update_at),
                ts(case.transmission_at),
                ts(case.close_at),
                case.partner_attributes,
            ),
        )
        self._history(case.id, case.status, case.create_at)

    def _history(self, case_id: str, status: Status, at: datetime) -> None:
        self._c.execute(
            "INSERT INTO case_history (case_id, status, rank, at) VALUES (?, ?, ?, ?)",
            (case_id, status.value, CASE_RANK[status], ts(at)),
        )

    def case(self, case_id: str) -> Case | None:
        row = self._c.execute(f"{_CASE_SELECT} WHERE c.id = ?", (case_id,)).fetchone()
        return None if row is None else _case(row)

    def cases_of(self, folder_id: str) -> list[Case]:
        rows = self._c.execute(
            f"{_CASE_SELECT} WHERE c.folder_id = ? ORDER BY c.rowid", (folder_id,)
        )
        return [_case(r) for r in rows]

    def set_case_status(
        self, case_id: str, status: Status, *, at: datetime, transmitted: bool = False
    ) -> None:
        self._c.execute(
            "UPDATE cases SET status = ?, status_at = ?, update_at = ?, "
            "transmission_at = CASE WHEN ? THEN ? ELSE transmission_at END WHERE id = ?",
            (status.value, ts(at), ts(at), transmitted, ts(at), case_id),
        )
        self._history(case_id, status, at)

    def link_case_attachment(self, case_id: str, attachment_id: str) -> None:
        self._c.execute(
            "INSERT INTO case_attachments (case_id, attachment_id) VALUES (?, ?)",
            (case_id, attachment_id),
        )

    def case_attachments(self, case_id: str) -> list[Attachment]:
        rows = self._c.execute(
            f"SELECT {_A_COLUMNS} "  # noqa: S608
            "FROM case_attachments ca JOIN attachments a ON a.id = ca.attachment_id "
            "WHERE ca.case_id = ? ORDER BY a.position",
            (case_id,),
        )
        return [attachment_from(r) for r in rows]

    def attachment(self, attachment_id: str) -> AttachmentRecord | None:
        row = self._c.execute(
            f"SELECT {_A_COLUMNS}, a.folder_id, a.event_id, f.transmitter_org_id, "  # noqa: S608
            "f.process_code FROM attachments a JOIN folders f ON f.id = a.folder_id "
            "WHERE a.id = ?",
            (attachment_id,),
        ).fetchone()
        if row is None:
            return None
        return AttachmentRecord(attachment_from(row), row[8], row[9], row[10], row[11])

    def set_attachment_received(self, attachment_id: str, sha256: str, *, at: datetime) -> None:
        self._c.execute(
            "UPDATE attachments SET status = 'RECEIVED', sha256 = ?, received_at = ? WHERE id = ?",
            (sha256, ts(at), attachment_id),
        )

    def blob_in_use(self, sha256: str) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM attachments WHERE sha256 = ? AND status != 'DELETED' LIMIT 1",
            (sha256,),
        ).fetchone()
        return row is not None

    def insert_event(self, event: Event, folder_id: str) -> None:
        self._c.execute(
            "INSERT INTO events (id, case_id, transmitter_org_id, side, action_type, status, "
            "notification, message, comment, author, case_current_status, case_new_status, "
            "partner_attributes, partner_info, create_at, update_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.id,
                event.case_id,
                event.transmitter.id,
                event.side.value,
                event.action_type.value,
                event.status.value,
                event.notification,
                event.message,
                event.comment,
                event.author,
                event.case_current_status,
                event.case_new_status,
                event.partner_attributes,
                partner_info_json(event.partner_info),
                ts(event.create_at),
                ts(event.update_at),
            ),
        )
        self._insert_attachments(event.attachments, folder_id, event.id)

    def _event(self, row: sqlite3.Row) -> Event:
        attachments = self._c.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE event_id = ? ORDER BY position",  # noqa: S608
            (row[0],),
        )
        return Event(
            id=row[0],
            case_id=row[1],
            side=Side(row[2]),
            action_type=ActionType(row[3]),
            status=EventStatus(row[4]),
            notification=bool(row[5]),
            create_at=dt_required(row[6]),
            update_at=dt_required(row[7]),
            message=row[8],
            comment=row[9],
            author=row[10],
            case_current_status=row[11],
            case_new_status=row[12],
            partner_attributes=row[13],
            partner_info=partner_info_from(row[14]),
            transmitter=org_from(row, 15),
            attachments=tuple(attachment_from(a) for a in attachments),
        )

    def event(self, event_id: str) -> Event | None:
        row = self._c.execute(f"{_EVENT_SELECT} WHERE e.id = ?", (event_id,)).fetchone()
        return None if row is None else self._event(row)

    def events(self, case_id: str) -> list[Event]:
        rows = self._c.execute(
            f"{_EVENT_SELECT} WHERE e.case_id = ? ORDER BY e.create_at, e.rowid", (case_id,)
        ).fetchall()
        return [self._event(r) for r in rows]

    def set_event_status(self, event_id: str, status: EventStatus, *, at: datetime) -> None:
        self._c.execute(
            "UPDATE events SET status = ?, update_at = ? WHERE id = ?",
            (status.value, ts(at), event_id),
        )

    def delete_event(self, event_id: str) -> None:
        self._c.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def folder_has_activity(self, folder_id: str) -> bool:
        row = self._c.execute(
            "SELECT EXISTS (SELECT 1 FROM events e JOIN cases c ON c.id = e.case_id "
            "WHERE c.folder_id = ?) OR EXISTS (SELECT 1 FROM notifications n "
            "JOIN cases c ON c.id = n.case_id WHERE c.folder_id = ?)",
            (folder_id, folder_id),
        ).fetchone()
        return bool(row[0])

    def insert_notification(self, notification: Notification) -> None:
        self._c.execute(
            "INSERT INTO notifications (id, recipient_org_id, transmitter_org_id, process_code, "
            "case_id, event_id, create_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                notification.id,
                notification.recipient.id,
                notification.transmitter.id,
                notification.process_code,
                notification.case_id,
                notification.event_id,
                ts(notification.create_at),
            ),
        )

    def _notification(self, row: sqlite3.Row) -> Notification:
        return Notification(
            id=row[0],
            process_code=row[1],
            case_id=row[2],
            event_id=row[3],
            create_at=dt_required(row[4]),
            event_status=None if row[5] is None else EventStatus(row[5]),
            recipient=org_from(row, 6),
            transmitter=org_from(row, 11),
        )

    def notifications(self, query: NotificationQuery) -> list[Notification]:
        where = "n.recipient_org_id = ?"
        args: list[object] = [query.recipient_org_id]
        if query.process_codes:
            where += f" AND n.process_code IN ({','.join('?' * len(query.process_codes))})"
            args.extend(query.process_codes)
        order = "n.create_at, n.rowid"
        if query.priority:
            order = f"n.process_code IN ({','.join('?' * len(query.priority))}) DESC, " + order
            args.extend(query.priority)
        rows = self._c.execute(
            f"{_NOTIFICATION_SELECT} WHERE {where} ORDER BY {order} LIMIT ?",
            (*args, query.limit),
        )
        return [self._notification(r) for r in rows]

    def notification(self, notification_id: str) -> Notification | None:
        row = self._c.execute(
            f"{_NOTIFICATION_SELECT} WHERE n.id = ?", (notification_id,)
        ).fetchone()
        return None if row is None else self._notification(row)

    def delete_notification(self, notification_id: str) -> None:
        self._c.execute("DELETE FROM notifications WHERE id = ?", (notification_id,))

    def append_journal(self, entry: JournalEntry) -> None:
        self._c.execute(
            "INSERT INTO journal (at, kind, subject, data) VALUES (?, ?, ?, ?)",
            (ts(entry.at), entry.kind, entry.subject, _JOURNAL_JSON.encode(entry.data)),
        )

    def journal_after(self, seq: int, limit: int) -> list[tuple[int, JournalEntry]]:
        rows = self._c.execute(
            "SELECT seq, at, kind, subject, data FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return [
            (
                int(r[0]),
                JournalEntry(kind=r[2], subject=r[3], at=dt_required(r[1]), data=json.loads(r[4])),
            )
            for r in rows
        ]
