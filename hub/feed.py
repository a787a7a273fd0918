"""The gateways' feed: what is new for an organisation, long-polled.

Items live in ``link_feed`` (one row per item, per organisation, with a global
``cursor``); they are written in the transaction of the fact they announce
(:mod:`hub.fact_sink`). :class:`FeedBell` wakes the long polls of an organisation
right after such a commit: a poll reads, and if nothing is newer than its cursor,
sleeps on its organisation's bell until rung or until its deadline. The bell is taken
*before* reading, so a commit between the read and the sleep still wakes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hub.link_model import FeedItem
from hub.link_tx import link_tx
from hubee.store import Store

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class FeedBell:
    """One :class:`asyncio.Event` per organisation with waiters; used on the event loop."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self.closed = False

    def current(self, org_id: str) -> asyncio.Event:
        """The event the next :meth:`ring` for ``org_id`` will set."""
        if self.closed:
            done = asyncio.Event()
            done.set()
            return done
        event = self._events.get(org_id)
        if event is None:
            event = self._events[org_id] = asyncio.Event()
        return event

    def ring(self, org_ids: Iterable[str]) -> None:
        for org_id in org_ids:
            event = self._events.pop(org_id, None)
            if event is not None:
                event.set()

    def close(self) -> None:
        """Wake every waiter (the server is stopping); later polls answer at once."""
        self.closed = True
        events, self._events = self._events, {}
        for event in events.values():
            event.set()


class Feed:
    def __init__(self, store: Store, bell: FeedBell) -> None:
        self._store = store
        self._bell = bell

    async def read(self, org_id: str, *, after: int, limit: int) -> list[FeedItem]:
        return await self._store.read(lambda tx: link_tx(tx).feed(org_id, after=after, limit=limit))

    async def poll(
        self, org_id: str, *, after: int, wait: float, limit: int = DEFAULT_LIMIT
    ) -> list[FeedItem]:
        """Items newer than ``after``: at once if there are some, else within ``wait`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        limit = max(1, min(limit, MAX_LIMIT))
        while True:
            bell = self._bell.current(org_id)
            items = await self.read(org_id, after=after, limit=limit)
            if items:
                return items
            remaining = deadline - loop.time()
            if remaining <= 0 or self._bell.closed:
                return []
            try:
                async with asyncio.timeout(remaining):
                    await bell.wait()
            except TimeoutError:
                return []
