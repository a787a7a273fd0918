"""The durable queue of work for the hub (``gw_link_outbox``), and its worker.

Items are queued in the same transaction as the LAN change that calls for them
(:mod:`gateway.sink`, :mod:`gateway.upstream_routing`), each with an idempotency key
(``idem``, unique: queuing twice is a no-op). Items of one *lane* (a dossier) run in
queue order, one at a time; lanes run side by side. An attempt that cannot reach the
hub is retried after a progressive delay (1 s, 2 s, 4 s… up to 5 minutes, with
jitter), kept in the row with the attempt count and the last error, so retries
survive restarts. An item the hub refuses (a 4xx that a retry cannot fix) is marked
``failed`` with the hub's reason, journaled, and shown by ``sceau gateway status``.

Every handler is idempotent: a crash after the hub acted but before ``done`` was
recorded makes the next attempt find the work already done (same folder id and
manifest, same attachment bytes, same status, same event manifest, same receipt).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.errors import HubRefused, HubUnreachable
from gateway.tables import GatewayTables, folder_subject
from gateway.wakeups import wait_event
from hubee.errors import HubError
from hubee.store import Store, StoreTx
from trust.journal import rfc3339

log = logging.getLogger("gateway.outbox")
MAX_DELAY = 300.0


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    lane: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class OutboxState:
    pending: int
    failed: int
    done: int
    oldest_pending_at: str | None
    last_error: str | None


def backoff(attempts: int, *, rng: random.Random | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from 1 s, capped, ±20 % jitter."""
    base = min(MAX_DELAY, 2.0 ** max(0, attempts - 1))
    return base * (0.8 + 0.4 * (rng or random).random())


def _due(tx: StoreTx, now: float, limit: int) -> list[Item]:
    rows = (
        GatewayTables.of(tx)
        .conn.execute(
            "SELECT o.id, o.kind, o.lane, o.payload, o.attempts FROM gw_link_outbox o "
            "WHERE o.state = 'pending' AND o.next_at <= ? AND NOT EXISTS ("
            "  SELECT 1 FROM gw_link_outbox e WHERE e.lane = o.lane AND e.state = 'pending' "
            "  AND e.id < o.id) ORDER BY o.id LIMIT ?",
            (now, limit),
        )
        .fetchall()
    )
    return [Item(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]


def update_payload(tx: StoreTx, item_id: int, payload: dict[str, Any]) -> None:
    GatewayTables.of(tx).conn.execute(
        "UPDATE gw_link_outbox SET payload = ? WHERE id = ?",
        (json.dumps(payload, sort_keys=True), item_id),
    )


def outbox_state(tx: StoreTx) -> OutboxState:
    conn = GatewayTables.of(tx).conn
    counts = dict(conn.execute("SELECT state, count(*) FROM gw_link_outbox GROUP BY state"))
    oldest = conn.execute(
        "SELECT min(created_at) FROM gw_link_outbox WHERE state = 'pending'"
    ).fetchone()[0]
    error = conn.execute(
        "SELECT last_error FROM gw_link_outbox WHERE last_error IS NOT NULL "
        "AND state != 'done' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return OutboxState(
        counts.get("pending", 0),
        counts.get("failed", 0),
        counts.get("done", 0),
        oldest,
        None if error is None else str(error[0]),
    )


# What a handler may return: work to commit in the same transaction as the item's "done"
# (one durable write instead of two; a crash before it commits retries the whole item).
Finish = Callable[[StoreTx], None] | None
Handler = Callable[[Item], Awaitable[Finish]]


class Outbox:
    def __init__(
        self,
        store: Store,
        handlers: dict[str, Handler],
        *,
        clock: Callable[[], datetime],
        parallel: int = 16,
    ) -> None:
        self._store = store
        self._handlers = handlers
        self._clock = clock
        self._parallel = parallel
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[int] = set()
        self.delivered = asyncio.Event()

    def poke(self) -> None:
        """Look at the queue now (thread-safe: the engine's writer thread calls it)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def _due_now(self) -> list[Item]:
        now = self._clock().timestamp()
        limit = self._parallel * 4

        def read(tx: StoreTx) -> list[Item]:
            return _due(tx, now, limit)

        return await self._store.read(read)

    async def run_once(self) -> int:
        """Start every due item (at most ``parallel`` at a time); returns how many ran."""
        items = await self._due_now()
        items = [i for i in items if i.id not in self._running][: self._parallel]
        if items:
            await asyncio.gather(*(self._attempt(i) for i in items))
        return len(items)

    async def run(self) -> None:
        """Keep up to ``parallel`` items in flight; look for more as each one ends."""
        self._loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = self._parallel - len(tasks)
                started = 0
                if free > 0:
                    try:
                        due = await self._due_now()
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("outbox round failed")
                        due = []
                    for item in [i for i in due if i.id not in self._running][:free]:
                        self._running.add(item.id)
                        task = asyncio.create_task(self._attempt(item))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                        task.add_done_callback(lambda _: self._wake.set())
                        started += 1
                if not started:
                    self._wake.clear()
                    await wait_event(self._wake, 0.25)
        finally:
            for task in tasks:
                task.cancel()

    async def _attempt(self, item: Item) -> None:
        self._running.add(item.id)
        try:
            handler = self._handlers[item.kind]
            try:
                finish = await handler(item)
            except HubUnreachable as exc:
                await self._retry(item, exc.message)
                return
            except (HubRefused, HubError) as exc:
                await self._fail(item, getattr(exc, "message", str(exc)))
                return
            except Exception as exc:
                log.exception("outbox item %s (%s) failed", item.id, item.kind)
                await self._retry(item, f"{type(exc).__name__}: {exc}")
                return
            try:
                await self._store.write(lambda tx: _set_done(tx, item.id, self._clock(), finish))
            except Exception as exc:
                log.exception("outbox item %s (%s) could not be recorded", item.id, item.kind)
                await self._retry(item, f"{type(exc).__name__}: {exc}")
                return
            self.delivered.set()
        finally:
            self._running.discard(item.id)

    async def _retry(self, item: Item, error: str) -> None:
        at = self._clock().timestamp() + backoff(item.attempts + 1)

        def work(tx: StoreTx) -> None:
            GatewayTables.of(tx).conn.execute(
                "UPDATE gw_link_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                "WHERE id = ?",
                (at, error[:2000], item.id),
            )

        await self._store.write(work)

    async def _fail(self, item: Item, error: str) -> None:
        now = self._clock()
        log.warning("the hub refused %s %s: %s", item.kind, item.lane, error)

        def work(tx: StoreTx) -> None:
            tables = GatewayTables.of(tx)
            tables.conn.execute(
                "UPDATE gw_link_outbox SET state = 'failed', attempts = attempts + 1, "
                "last_error = ?, done_at = ? WHERE id = ?",
                (error[:2000], rfc3339(now), item.id),
            )
            tables.journal(
                "refused",
                folder_subject(item.lane),
                {
                    "by": "hub",
                    "work": item.kind,
                    "reason": error[:2000],
                    **{k: v for k, v in item.payload.items() if k.endswith("Id")},
                },
                now,
            )

        await self._store.write(work)


def _set_done(tx: StoreTx, item_id: int, now: datetime, finish: Finish = None) -> None:
    if finish is not None:
        finish(tx)
    GatewayTables.of(tx).conn.execute(
        "UPDATE gw_link_outbox SET state = 'done', last_error = NULL, done_at = ? WHERE id = ?",
        (rfc3339(now), item_id),
    )
