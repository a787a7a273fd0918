"""The feed's bell: a ring after a commit wakes the polls of that organisation only, and
a ring between a poll's read and its sleep is not lost."""

from __future__ import annotations

import asyncio

from hub.feed import FeedBell


def test_a_ring_wakes_the_waiters_of_its_organisation_only() -> None:
    async def main() -> None:
        bell = FeedBell()
        mine, theirs = bell.current("org-a"), bell.current("org-b")
        assert bell.current("org-a") is mine  # waiters of one org share one event
        bell.ring(["org-a"])
        assert mine.is_set() and not theirs.is_set()
        assert bell.current("org-a") is not mine  # the next ring needs a new event

    asyncio.run(main())


def test_a_ring_before_the_sleep_is_not_lost() -> None:
    async def main() -> None:
        bell = FeedBell()
        taken = bell.current("org-a")  # a poll takes the bell, then reads (nothing)…
        bell.ring(["org-a"])  # …a commit rings meanwhile…
        async with asyncio.timeout(1):
            await taken.wait()  # …and the sleep returns at once.

    asyncio.run(main())


def test_closing_wakes_everyone_and_later_polls_do_not_sleep() -> None:
    async def main() -> None:
        bell = FeedBell()
        waiting = [bell.current(f"org-{i}") for i in range(3)]
        bell.close()
        assert all(event.is_set() for event in waiting)
        assert bell.current("org-new").is_set()

    asyncio.run(main())
