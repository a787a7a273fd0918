"""The journal hook: every accepted fact is handed to an :class:`EventSink`.

Domain code calls :meth:`EventSink.record` inside the unit of work that makes the fact
durable, so a fact is recorded if and only if it happened: a 2xx answer means the
change and its journal record were committed together.

Facts recorded (``kind``): ``folder.created``, ``folder.status``, ``folder.deleted``,
``attachment.received``, ``case.created``, ``case.status``, ``event.created``,
``event.status``, ``event.deleted``, ``notification.created``, ``purge.files``,
``purge.archived``, ``purge.folder``, and for the directory ``org.created``,
``process.created``, ``subscription.created``, ``subscription.status``,
``client.created``. ``subject`` is the object's id; ``data`` never holds secrets.

The default :class:`TableSink` appends to the hub database's ``journal`` table, which
doubles as an outbox: wiring the hub to ``trust``'s Merkle journal means draining that
table in order into the journal (``seq`` is the order), or providing a sink that
does both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hubee.model import JournalEntry
from hubee.store import DossierTx


class EventSink(Protocol):
    def record(
        self, tx: DossierTx, kind: str, subject: str, at: datetime, data: dict[str, object]
    ) -> None:
        """Record one fact within ``tx``; must not do blocking I/O of its own."""
        ...


class TableSink:
    """Records facts in the store's ``journal`` table, in the same transaction."""

    def record(
        self, tx: DossierTx, kind: str, subject: str, at: datetime, data: dict[str, object]
    ) -> None:
        tx.append_journal(JournalEntry(kind=kind, subject=subject, at=at, data=data))
