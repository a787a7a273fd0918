"""The hub's journal hook: facts into the outbox, feed items beside them, bells after.

:class:`HubSink` is the engine's :class:`~hubee.event_sink.EventSink` at the hub. Each
fact goes to the outbox table (``journal``, drained into the hub's Merkle journal by
:mod:`hub.evidence_journal`) and, when a gateway should hear of it, becomes feed
items in the same transaction:

- ``notification.created``: a ``case`` item (a delivered case) or an ``event`` item
  for the notified organisation;
- ``case.status``: a ``status`` item for the other side of the case: the operator when
  the instructing service or the hub moved it, the recipient when the operator did,
  both when the hub's admin did.

Receipts announce themselves (:meth:`HubSink.announce`).

:class:`RingingStore` wraps the engine's store: once a unit that announced items has
committed, it rings their organisations' :class:`~hub.feed.FeedBell`, and tells
listeners (the evidence journal) that facts were recorded. Nothing rings before the
commit, so a woken poll always finds what woke it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from hub.feed import FeedBell
from hub.link_model import FeedKind
from hub.link_tx import link_tx
from hubee.event_sink import TableSink
from hubee.model import Case
from hubee.store import DossierTx, Store, StoreTx

T = TypeVar("T")


class _Unit(threading.local):
    """What the unit running on this (writer) thread recorded so far."""

    def __init__(self) -> None:
        self.orgs: set[str] = set()
        self.facts = 0


def _audience(case: Case, by: object) -> tuple[str, ...]:
    if by == "OSL":
        return (case.recipient.id,)
    if by == "ADMIN":
        return (case.transmitter.id, case.recipient.id)
    return (case.transmitter.id,)  # SI, or the hub itself (delivery, fetch)


class HubSink(TableSink):
    def __init__(self) -> None:
        self._unit = _Unit()

    def record(
        self, tx: DossierTx, kind: str, subject: str, at: datetime, data: dict[str, object]
    ) -> None:
        super().record(tx, kind, subject, at, data)
        self._unit.facts += 1
        if kind == "notification.created":
            self._notification(tx, at, data)
        elif kind == "case.status":
            case = tx.case(subject)
            if case is not None:
                for org_id in _audience(case, data.get("by")):
                    self.announce(
                        tx, org_id, FeedKind.STATUS, case.id, at=at, status=str(data["to"])
                    )

    def _notification(self, tx: DossierTx, at: datetime, data: dict[str, object]) -> None:
        case = tx.case(str(data["case"]))
        if case is None:
            return
        recipient = str(data.get("recipient"))
        for org in (case.recipient, case.transmitter):
            if org.ref.key == recipient:
                event = data.get("event")
                self.announce(
                    tx,
                    org.id,
                    FeedKind.CASE if event is None else FeedKind.EVENT,
                    case.id,
                    at=at,
                    process_code=case.process_code,
                    event_id=None if event is None else str(event),
                )
                return

    def announce(
        self,
        tx: DossierTx,
        org_id: str,
        kind: FeedKind,
        case_id: str,
        *,
        at: datetime,
        process_code: str | None = None,
        event_id: str | None = None,
        receipt_id: str | None = None,
        status: str | None = None,
    ) -> None:
        """Add a feed item for ``org_id`` in ``tx``; its bell rings after the commit."""
        link_tx(tx).insert_feed_item(
            org_id,
            kind,
            case_id,
            at=at,
            process_code=process_code,
            event_id=event_id,
            receipt_id=receipt_id,
            status=status,
        )
        self._unit.orgs.add(org_id)

    def begin_unit(self) -> None:
        self._unit.orgs = set()
        self._unit.facts = 0

    def end_unit(self) -> tuple[set[str], int]:
        return self._unit.orgs, self._unit.facts


class RingingStore:
    """The engine's store, ringing feed bells and fact listeners after each commit."""

    def __init__(self, inner: Store, sink: HubSink, bell: FeedBell) -> None:
        self.inner = inner
        self._sink = sink
        self._bell = bell
        self._listeners: list[Callable[[], None]] = []

    def add_fact_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` on the event loop after each commit that recorded facts."""
        self._listeners.append(listener)

    async def write(self, work: Callable[[StoreTx], T]) -> T:
        sink = self._sink

        def unit(tx: StoreTx) -> tuple[T, set[str], int]:
            sink.begin_unit()
            result = work(tx)
            orgs, facts = sink.end_unit()
            return result, orgs, facts

        result, orgs, facts = await self.inner.write(unit)
        if orgs:
            self._bell.ring(orgs)
        if facts:
            for listener in self._listeners:
                listener()
        return result

    async def read(self, work: Callable[[StoreTx], T]) -> T:
        return await self.inner.read(work)

    async def close(self) -> None:
        await self.inner.close()
