"""Waiting for a wake-up with a time limit, without swallowing a cancellation.

Python 3.11's ``asyncio.wait_for(event.wait(), t)`` loses a ``cancel()`` that arrives
in the same loop iteration as the event is set: it returns the inner result and the
task goes on as if never cancelled (CPython gh-86296, fixed in 3.12 by building
``wait_for`` on ``asyncio.timeout``). A worker loop that waits that way then never
ends, and ``close()`` awaiting it hangs: what the hub-outage test hit on a loaded
machine, where the outbox is woken often while the service stops. ``asyncio.timeout``
keeps the cancellation, so every wait with a limit goes through here.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set.

    A cancellation of the calling task always propagates, whatever the timing.
    """
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True
