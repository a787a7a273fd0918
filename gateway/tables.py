"""Reading and writing the gateway's tables (:mod:`gateway.schema`) within a unit of work.

``GatewayTables.of(tx)`` wraps the connection of an engine unit of work
(:func:`hubee.sqlite_store.sqlite_connection`), so that what is written here commits
with the engine's rows. Blocking, like every unit of work: never on the event loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubee.sqlite_store import sqlite_connection
from trust.journal import journal_entry, rfc3339

OUT = "out"  # sealed here, pushed to the hub
IN = "in"  # pulled from the hub


def folder_subject(folder_id: str) -> str:
    """The journal subject of everything about a dossier (``<manifest kind>/<id>``)."""
    return f"folder/{folder_id}"


@dataclass(frozen=True)
class StoredManifest:
    folder_id: str
    direction: str
    manifest: bytes
    seal: bytes
    sha256: str


@dataclass(frozen=True)
class CaseLink:
    case_id: str
    folder_id: str
    direction: str
    remote_id: str | None


@dataclass(frozen=True)
class StoredReceipt:
    id: str
    case_id: str
    folder_id: str
    direction: str
    manifest: bytes
    seal: bytes
    outcome: str
    reason: str | None


class GatewayTables:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def of(cls, tx: object) -> GatewayTables:
        return cls(sqlite_connection(tx))

    # The journal outbox --------------------------------------------------------------

    def journal(self, kind: str, subject: str, data: Mapping[str, object], at: datetime) -> None:
        """Queue one journal entry; it commits with the unit (see gateway.journal_drain)."""
        self.conn.execute(
            "INSERT INTO gw_journal_outbox (subject, entry) VALUES (?, ?)",
            (subject, journal_entry(kind, subject, data, at)),
        )

    # The link outbox -------------------------------------------------------------------

    def enqueue(
        self, kind: str, *, lane: str, idem: str, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        """Queue work for the hub; ``False`` if ``idem`` was queued before (a retry)."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO gw_link_outbox (kind, lane, idem, payload, state, next_at, "
            "created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            (kind, lane, idem, json.dumps(dict(payload), sort_keys=True), 0.0, rfc3339(now)),
        )
        return cursor.rowcount == 1

    # Manifests, cases, attachments ------------------------------------------------------

    def put_manifest(
        self,
        folder_id: str,
        direction: str,
        manifest: bytes,
        seal: bytes,
        sha256: str,
        at: datetime,
    ) -> None:
        self.conn.execute(
            "INSERT INTO gw_manifests (folder_id, direction, manifest, seal, manifest_sha256, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (folder_id, direction, manifest, seal, sha256, rfc3339(at)),
        )

    def manifest(self, folder_id: str) -> StoredManifest | None:
        row = self.conn.execute(
            "SELECT folder_id, direction, manifest, seal, manifest_sha256 FROM gw_manifests "
            "WHERE folder_id = ?",
            (folder_id,),
        ).fetchone()
        return None if row is None else StoredManifest(*row)

    def link_case(
        self, case_id: str, folder_id: str, direction: str, remote_id: str | None
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO gw_cases (case_id, folder_id, direction, remote_id) "
            "VALUES (?, ?, ?, ?)",
            (case_id, folder_id, direction, remote_id),
        )

    def set_remote_case(self, case_id: str, remote_id: str) -> None:
        self.conn.execute(
            "UPDATE gw_cases SET remote_id = ? WHERE case_id = ?", (remote_id, case_id)
        )

    def case_link(self, case_id: str) -> CaseLink | None:
        row = self.conn.execute(
            "SELECT case_id, folder_id, direction, remote_id FROM gw_cases WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        return None if row is None else CaseLink(*row)

    def case_by_remote(self, remote_id: str) -> CaseLink | None:
        row = self.conn.execute(
            "SELECT case_id, folder_id, direction, remote_id FROM gw_cases WHERE remote_id = ?",
            (remote_id,),
        ).fetchone()
        return None if row is None else CaseLink(*row)

    def cases_of_folder(self, folder_id: str) -> list[CaseLink]:
        rows = self.conn.execute(
            "SELECT case_id, folder_id, direction, remote_id FROM gw_cases WHERE folder_id = ? "
            "ORDER BY case_id",
            (folder_id,),
        ).fetchall()
        return [CaseLink(*r) for r in rows]

    def set_remote_attachment(self, attachment_id: str, remote_id: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO gw_remote_attachments (attachment_id, remote_id) VALUES (?, ?)",
            (attachment_id, remote_id),
        )

    def remote_attachment(self, attachment_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT remote_id FROM gw_remote_attachments WHERE attachment_id = ?",
            (attachment_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    # Receipts, refusals, pulled events ---------------------------------------------------

    def put_receipt(self, receipt: StoredReceipt, at: datetime) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO gw_receipts (id, case_id, folder_id, direction, manifest, seal, "
            "outcome, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                receipt.id,
                receipt.case_id,
                receipt.folder_id,
                receipt.direction,
                receipt.manifest,
                receipt.seal,
                receipt.outcome,
                receipt.reason,
                rfc3339(at),
            ),
        )
        return cursor.rowcount == 1

    def receipt(self, receipt_id: str) -> StoredReceipt | None:
        row = self.conn.execute(
            "SELECT id, case_id, folder_id, direction, manifest, seal, outcome, reason "
            "FROM gw_receipts WHERE id = ?",
            (receipt_id,),
        ).fetchone()
        return None if row is None else StoredReceipt(*row)

    def receipts_of_folder(self, folder_id: str) -> list[StoredReceipt]:
        rows = self.conn.execute(
            "SELECT id, case_id, folder_id, direction, manifest, seal, outcome, reason "
            "FROM gw_receipts WHERE folder_id = ? ORDER BY created_at, id",
            (folder_id,),
        ).fetchall()
        return [StoredReceipt(*r) for r in rows]

    def refuse(self, case_id: str, folder_id: str | None, reason: str, at: datetime) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO gw_refused (case_id, folder_id, reason, at) VALUES (?, ?, ?, ?)",
            (case_id, folder_id, reason, rfc3339(at)),
        )
        return cursor.rowcount == 1

    def refusal(self, case_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT reason FROM gw_refused WHERE case_id = ?", (case_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def remember_event(self, remote_id: str, event_id: str) -> bool:
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO gw_remote_events (remote_id, event_id) VALUES (?, ?)",
            (remote_id, event_id),
        )
        return cursor.rowcount == 1

    def drop_forwarded_notifications(self, event_id: str, own_org_key: str) -> list[str]:
        """Delete the LAN engine's notifications of ``event_id`` for other organisations
        than this gateway's: no LAN client can read them, and the hub notifies those
        organisations once the event is pushed. Returns their ids."""
        siret, _, branch = own_org_key.partition("/")
        ids = [
            str(r[0])
            for r in self.conn.execute(
                "SELECT n.id FROM notifications n JOIN organizations o ON o.id = "
                "n.recipient_org_id WHERE n.event_id = ? AND NOT (o.company_register = ? "
                "AND o.branch_code = ?)",
                (event_id, siret, branch),
            )
        ]
        self.conn.executemany("DELETE FROM notifications WHERE id = ?", [(i,) for i in ids])
        return ids

    def event_for_remote(self, remote_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT event_id FROM gw_remote_events WHERE remote_id = ?", (remote_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    # Named values ------------------------------------------------------------------------

    def state(self, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM gw_link_state WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO gw_link_state (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
