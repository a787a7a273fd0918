"""HubEE notifications a gateway has consumed through the feed: deleted at the hub.

An organisation served by a gateway never calls ``DELETE /notifications/{id}`` at the
hub: its gateway follows the feed (:mod:`hub.feed`) and saves its cursor only once the
items are applied, so a poll with ``after=N`` says that every item up to ``N`` was
consumed. The engine's notification rows behind those items (a delivered case, an
event) are then deleted here, as HubEE's own clients would have done; each batch is
journaled as ``purge.notifications`` with the organisation's id, the cursor and the
notification ids (nothing else). The feed items themselves stay (a gateway restored
from a backup reads them again).

The check is a read; a write happens only when there is something to delete, and the
highest cursor handled per organisation is remembered so that an unchanged cursor
costs nothing.
"""

from __future__ import annotations

from datetime import datetime

from hub.link_tx import link_tx
from hubee.event_sink import EventSink
from hubee.store import Store, StoreTx

BATCH = 500  # notifications per write unit


class ConsumedNotifications:
    def __init__(self, store: Store, sink: EventSink) -> None:
        self._store = store
        self._sink = sink
        self._handled: dict[str, int] = {}  # org id -> highest cursor cleaned up to

    async def acknowledge(self, org_id: str, upto: int, *, now: datetime) -> int:
        """The organisation's gateway consumed the feed up to ``upto``: delete the
        notifications behind those items. Returns how many were deleted."""
        if upto <= self._handled.get(org_id, 0):
            return 0
        found = await self._store.read(
            lambda tx: link_tx(tx).consumed_notifications(org_id, upto=upto, limit=BATCH)
        )
        if not found:
            self._handled[org_id] = upto
            return 0

        def work(tx: StoreTx) -> int:
            ids = link_tx(tx).consumed_notifications(org_id, upto=upto, limit=BATCH)
            if ids:
                tx.delete_notifications(ids)
                detail: dict[str, object] = {
                    "reason": "consumed by the organisation's gateway",
                    "feedCursor": upto,
                    "notifications": ids,
                }
                self._sink.record(tx, "purge.notifications", org_id, now, detail)
            return len(ids)

        deleted = await self._store.write(work)
        if deleted < BATCH:
            self._handled[org_id] = upto
        return deleted
