"""SQLite implementation of :class:`hub.store.RetentionTx`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from hubee.model import Attachment, Folder, Process
from hubee.sqlite_rows import ATTACHMENT_COLUMNS, attachment_from, ts
from hubee.transitions import CASE_RANK

_A_COLUMNS = ", ".join("a." + c for c in ATTACHMENT_COLUMNS.split(", "))


class SqliteRetention:
    """Mixin: the retention part of a SQLite unit of work."""

    _c: sqlite3.Connection

    def cases_due_for_file_deletion(self, process: Process, cutoff: datetime) -> list[str]:
        rows = self._c.execute(
            "SELECT c.id FROM cases c JOIN folders f ON f.id = c.folder_id "
            "WHERE f.process_code = ? AND c.files_purged_at IS NULL AND "
            "(SELECT min(h.at) FROM case_history h WHERE h.case_id = c.id AND h.rank >= ?) <= ?",
            (process.code, CASE_RANK[process.status_before_file_deletion], ts(cutoff)),
        )
        return [r[0] for r in rows]

    def purge_case_files(self, case_id: str, *, at: datetime) -> list[Attachment]:
        """Mark the case's files purged; returns the attachments that became DELETED.

        A folder attachment sent to several cases is deleted once every one of them
        is purged; event attachments go with their case.
        """
        self._c.execute("UPDATE cases SET files_purged_at = ? WHERE id = ?", (ts(at), case_id))
        candidates = self._c.execute(
            f"SELECT {_A_COLUMNS} FROM case_attachments ca "  # noqa: S608
            "JOIN attachments a ON a.id = ca.attachment_id "
            "WHERE ca.case_id = ? AND a.status != 'DELETED' AND NOT EXISTS ("
            "  SELECT 1 FROM case_attachments o JOIN cases oc ON oc.id = o.case_id "
            "  WHERE o.attachment_id = a.id AND oc.files_purged_at IS NULL) "
            "UNION ALL "
            f"SELECT {_A_COLUMNS} FROM attachments a JOIN events e ON e.id = a.event_id "
            "WHERE e.case_id = ? AND a.status != 'DELETED'",
            (case_id, case_id),
        ).fetchall()
        deleted = [attachment_from(r) for r in candidates]
        self._c.executemany(
            "UPDATE attachments SET status = 'DELETED' WHERE id = ?", [(a.id,) for a in deleted]
        )
        return deleted

    def folders_due_for_archiving(self, process_code: str, cutoff: datetime) -> list[str]:
        rows = self._c.execute(
            "SELECT f.id FROM folders f WHERE f.process_code = ? "
            "AND f.global_status != 'ARCHIVED' "
            "AND EXISTS (SELECT 1 FROM cases c WHERE c.folder_id = f.id) "
            "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.folder_id = f.id "
            "  AND (c.status != 'CLOSED' OR c.status_at > ?))",
            (process_code, ts(cutoff)),
        )
        return [r[0] for r in rows]

    def folders_due_for_deletion(self, process_code: str, cutoff: datetime) -> list[str]:
        rows = self._c.execute(
            "SELECT id FROM folders WHERE process_code = ? AND global_status = 'ARCHIVED' "
            "AND status_at <= ?",
            (process_code, ts(cutoff)),
        )
        return [r[0] for r in rows]

    def notifications_created_before(
        self, process_code: str, cutoff: datetime, limit: int
    ) -> list[str]:
        rows = self._c.execute(
            "SELECT id FROM notifications WHERE process_code = ? AND create_at <= ? "
            "ORDER BY create_at LIMIT ?",
            (process_code, ts(cutoff), limit),
        )
        return [r[0] for r in rows]

    def delete_notifications(self, notification_ids: Sequence[str]) -> None:
        self._c.executemany(
            "DELETE FROM notifications WHERE id = ?", [(i,) for i in notification_ids]
        )

    def insert_purge_record(
        self, *, kind: str, folder: Folder, at: datetime, detail: dict[str, object]
    ) -> None:
        self._c.execute(
            "INSERT INTO purge_records (at, kind, folder_id, process_code, external_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                ts(at),
                kind,
                folder.id,
                folder.process_code,
                folder.external_id,
                json.dumps(detail, sort_keys=True),
            ),
        )

    def portal_purge_pending(self, org_id: str | None, limit: int) -> list[tuple[str, str]]:
        where = (
            "" if org_id is None else " AND (c.recipient_org_id = ? OR f.transmitter_org_id = ?)"
        )
        args: tuple[object, ...] = (limit,) if org_id is None else (org_id, org_id, limit)
        rows = self._c.execute(
            "SELECT ca.attachment_id, ca.case_id FROM case_attachments ca "  # noqa: S608
            "JOIN attachments a ON a.id = ca.attachment_id "
            "JOIN cases c ON c.id = ca.case_id JOIN folders f ON f.id = c.folder_id "
            f"WHERE a.status = 'DELETED' AND ca.portal_purged = 0{where} "
            "ORDER BY c.files_purged_at LIMIT ?",
            args,
        )
        return [(r[0], r[1]) for r in rows]

    def mark_portal_purged(self, pairs: Sequence[tuple[str, str]], org_id: str | None) -> int:
        marked = 0
        for attachment_id, case_id in pairs:
            marked += self._c.execute(
                "UPDATE case_attachments SET portal_purged = 1 WHERE attachment_id = ? "
                "AND case_id = ? AND (? IS NULL OR case_id IN (SELECT c.id FROM cases c "
                "JOIN folders f ON f.id = c.folder_id WHERE c.recipient_org_id = ? "
                "OR f.transmitter_org_id = ?))",
                (attachment_id, case_id, org_id, org_id, org_id),
            ).rowcount
        return marked
