"""A wait with a time limit never swallows a cancellation (Python 3.11's wait_for
does when the event is set in the same loop iteration as the cancel), so the
gateway's worker loops always stop and ``close()`` never hangs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.outbox import Outbox
from gateway.schema import GATEWAY_SCHEMA
from gateway.wakeups import wait_event
from hubee.sqlite_store import SqliteStore
from tests.integration.hub.harness import FakeClock
from tests.unit.gateway.test_outbox import START


async def _worker(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        event.clear()
        await wait_event(event, 0.25)
        rounds.append(1)


async def _set_then_cancel(task: asyncio.Task[None], event: asyncio.Event) -> bool:
    """Wake the task and cancel it in the same loop iteration; True if it ended."""
    event.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    return task in done and task.cancelled()


def test_a_cancel_arriving_with_the_wake_up_still_stops_the_loop() -> None:
    async def main() -> None:
        event = asyncio.Event()
        rounds: list[int] = []
        task = asyncio.create_task(_worker(event, rounds))
        await asyncio.sleep(0.01)
        assert await _set_then_cancel(task, event)

    asyncio.run(main())


def test_wait_event_says_whether_the_event_came() -> None:
    async def main() -> None:
        event = asyncio.Event()
        assert await wait_event(event, 0.01) is False
        asyncio.get_running_loop().call_later(0.01, event.set)
        assert await wait_event(event, 5) is True
        assert await wait_event(event, 0) is True  # already set

    asyncio.run(main())


def test_the_outbox_worker_stops_when_cancelled_as_it_is_poked(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "gateway.db", extensions=[GATEWAY_SCHEMA])
        try:
            for _ in range(5):
                outbox = Outbox(store, {}, clock=FakeClock(START))
                task = asyncio.create_task(outbox.run())
                await asyncio.sleep(0.1)  # idle: waiting for a wake-up
                assert await _set_then_cancel(task, outbox._wake)
        finally:
            await store.close()

    asyncio.run(main())
