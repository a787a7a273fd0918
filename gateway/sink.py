"""The gateway's :class:`hubee.event_sink.EventSink`: every fact the LAN engine commits
becomes a journal entry, and the facts the hub must learn become link work, in the
same transaction.

So a 2xx to a LAN client means: the change, its journal entry (in the journal outbox,
``gw_journal_outbox``) and its upstream work (``gw_link_outbox``) are in one durable
commit. The Merkle journal (``journal.db``) receives the entry moments later
(:mod:`gateway.journal_drain`), exactly once, in commit order.

Journal subjects are ``folder/<folder id>`` for everything about a dossier (its cases,
attachments, events, downloads), so that a dossier's evidence bundle holds its whole
story; the directory's facts are ``directory/<id>``.

Facts made by the gateway itself while applying what the hub sent (pulled cases,
statuses, events) do not pass through here: they are journaled by their own code and
never sent back upstream.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from gateway.tables import GatewayTables, folder_subject
from hubee.store import DossierTx, StoreTx

# Engine fact → journal kind (docs/EVIDENCE.md's vocabulary where it has a word).
_KINDS = {
    "folder.created": "received",
    "attachment.received": "received",
    "folder.status": "status",
    "case.status": "status",
    "event.created": "event",
    "event.status": "event",
    "event.deleted": "event",
    "attachment.downloaded": "downloaded",
    "notification.created": "notified",
    "folder.deleted": "deleted",
    "purge.files": "purge",
    "purge.archived": "purge",
    "purge.folder": "purge",
}


class GatewaySink:
    """Journal every fact; queue status changes and sent events of linked cases."""

    def __init__(self, *wake: Callable[[], None]) -> None:
        # Called (from the engine's writer thread) after each fact: thread-safe pokes.
        self.listeners = list(wake)

    def record(
        self, tx: DossierTx, kind: str, subject: str, at: datetime, data: dict[str, object]
    ) -> None:
        full: StoreTx = tx  # type: ignore[assignment]  # the engine passes its whole unit
        tables = GatewayTables.of(full)
        folder_id, case_id = _locate(full, kind, subject, data)
        entry = {"fact": kind, "id": subject, **data}
        if folder_id is None:
            prefix = "notification" if kind.startswith("notification.") else "directory"
            tables.journal(kind, f"{prefix}/{subject}", entry, at)
        else:
            tables.journal(_KINDS.get(kind, kind), folder_subject(folder_id), entry, at)
            if case_id is not None:
                self._upstream(full, tables, kind, subject, case_id, at, data)
        for wake in self.listeners:
            wake()

    def _upstream(
        self,
        tx: StoreTx,
        tables: GatewayTables,
        kind: str,
        subject: str,
        case_id: str,
        at: datetime,
        data: dict[str, object],
    ) -> None:
        link = tables.case_link(case_id)
        if link is None:
            return
        if kind == "case.status":
            tables.enqueue(
                "push_status",
                lane=link.folder_id,
                idem=f"status:{case_id}:{uuid.uuid4()}",
                payload={"caseId": case_id, "status": data.get("to")},
                now=at,
            )
        elif (kind == "event.created" and data.get("status") == "SENT") or (
            kind == "event.status" and data.get("to") == "SENT"
        ):
            tables.enqueue(
                "push_event",
                lane=link.folder_id,
                idem=f"event:{subject}",
                payload={"caseId": case_id, "eventId": subject},
                now=at,
            )


def _locate(
    tx: StoreTx, kind: str, subject: str, data: dict[str, object]
) -> tuple[str | None, str | None]:
    """(folder id, case id) a fact is about; (None, None) for the directory's facts."""
    if kind == "purge.notifications":  # a démarche's expired notifications, by id
        return None, None
    if kind.startswith("folder.") or kind.startswith("purge."):
        return subject, None
    if kind == "case.status":
        case = tx.case(subject)
        return (case.folder_id, case.id) if case else (None, None)
    if kind in ("event.created", "event.status", "event.deleted") or kind.startswith(
        "notification."
    ):
        case_id = data.get("case")
        if case_id is None and kind == "event.status":
            event = tx.event(subject)
            case_id = event.case_id if event else None
        case = tx.case(str(case_id)) if case_id is not None else None
        if case is not None:
            return case.folder_id, case.id
        return (None, None) if kind.startswith("notification.") else (subject, None)
    if kind.startswith("attachment."):
        record = tx.attachment(subject)
        case_id = data.get("case")
        return (record.folder_id if record else None), (str(case_id) if case_id else None)
    return None, None
