"""The outbox: one lane at a time in order, retries persisted with a growing delay,
refusals recorded and journaled, and queuing idempotent."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path

from gateway.errors import HubRefused, HubUnreachable
from gateway.outbox import MAX_DELAY, Item, Outbox, backoff, outbox_state
from gateway.schema import GATEWAY_SCHEMA
from gateway.tables import GatewayTables
from hubee.sqlite_store import SqliteStore
from hubee.store import StoreTx
from tests.integration.hub.harness import FakeClock

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_backoff_doubles_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff(n, rng=rng) for n in range(1, 12)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and 3.2 <= delays[2] <= 4.8
    assert all(d <= MAX_DELAY * 1.2 for d in delays) and delays[-1] >= MAX_DELAY * 0.8


def test_lanes_order_retries_and_refusals(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "gateway.db", extensions=[GATEWAY_SCHEMA])
        clock = FakeClock(START)
        ran: list[str] = []
        hub_up = False

        async def push(item: Item) -> None:
            ran.append(item.payload["n"])
            if item.payload["n"] == "refused":
                raise HubRefused("400 illegal transition (rule: si-forward-only)", status=400)
            if not hub_up:
                raise HubUnreachable("connection refused")

        def enqueue(tx: StoreTx) -> list[bool]:
            tables = GatewayTables.of(tx)
            return [
                tables.enqueue("push", lane="A", idem="a1", payload={"n": "a1"}, now=START),
                tables.enqueue("push", lane="A", idem="a2", payload={"n": "a2"}, now=START),
                tables.enqueue("push", lane="B", idem="b1", payload={"n": "refused"}, now=START),
                tables.enqueue("push", lane="A", idem="a1", payload={"n": "again"}, now=START),
            ]

        try:
            assert await store.write(enqueue) == [True, True, True, False]
            outbox = Outbox(store, {"push": push}, clock=clock)
            assert await outbox.run_once() == 2  # a1 and b1: a2 waits behind a1
            assert sorted(ran) == ["a1", "refused"]
            state = await store.read(outbox_state)
            assert (state.pending, state.failed) == (2, 1)
            assert state.last_error is not None and "si-forward-only" in state.last_error
            row = await store.read(
                lambda tx: (
                    GatewayTables.of(tx)
                    .conn.execute("SELECT attempts, next_at FROM gw_link_outbox WHERE idem = 'a1'")
                    .fetchone()
                )
            )
            assert row[0] == 1 and row[1] > START.timestamp()
            assert await outbox.run_once() == 0  # not due yet: nothing hammers the hub
            refused = await store.read(
                lambda tx: [
                    json.loads(r[0])
                    for r in GatewayTables.of(tx).conn.execute(
                        "SELECT entry FROM gw_journal_outbox"
                    )
                ]
            )
            assert refused[0]["kind"] == "refused" and refused[0]["subject"] == "folder/B"
            assert "si-forward-only" in refused[0]["data"]["reason"]
            hub_up = True
            clock.advance(seconds=5)
            assert await outbox.run_once() == 1 and ran[-1] == "a1"
            assert await outbox.run_once() == 1 and ran[-1] == "a2"
            state = await store.read(outbox_state)
            assert (state.pending, state.failed, state.done) == (0, 1, 2)
        finally:
            await store.close()

    asyncio.run(main())
