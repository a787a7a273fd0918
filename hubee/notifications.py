"""Notifications: what each organization has to fetch, per démarche."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hubee.errors import NotFound
from hubee.event_sink import EventSink
from hubee.model import Notification, Principal
from hubee.store import NotificationQuery, Store, StoreTx

DEFAULT_PAGE = 25  # DINUM's reference SI client fetches 25 at a time
MAX_PAGE = 1000


@dataclass(frozen=True)
class NotificationFilter:
    max_result: int = DEFAULT_PAGE
    process_codes: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()


class Notifications:
    def __init__(self, store: Store, sink: EventSink) -> None:
        self._store = store
        self._sink = sink

    async def list(self, principal: Principal, wanted: NotificationFilter) -> list[Notification]:
        """The caller's organization's notifications, for the caller's démarche only."""
        codes = wanted.process_codes
        if not principal.is_admin:
            assert principal.process_code is not None
            if codes and principal.process_code not in codes:
                return []
            codes = (principal.process_code,)
        query = NotificationQuery(
            recipient_org_id=principal.org.id,
            process_codes=codes,
            priority=wanted.priority,
            limit=max(1, min(wanted.max_result, MAX_PAGE)),
        )
        return await self._store.read(lambda tx: tx.notifications(query))

    async def delete(self, principal: Principal, notification_id: str, *, now: datetime) -> None:
        def work(tx: StoreTx) -> None:
            found = tx.notification(notification_id)
            if (
                found is None
                or found.recipient.id != principal.org.id
                or not principal.may_use(found.process_code)
            ):
                raise NotFound(f"Notification is not found: {notification_id}")
            tx.delete_notification(notification_id)
            self._sink.record(tx, "notification.deleted", notification_id, now, {})

        await self._store.write(work)
