"""A guard against blocking I/O on the event loop's thread.

Storage and blob code call :func:`assert_off_loop` before doing I/O, so a regression
that runs them on the loop fails loudly (in tests and in production) instead of
stalling every request.
"""

from __future__ import annotations

import asyncio


def assert_off_loop() -> None:
    """Refuse to do blocking I/O on a thread that runs an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("blocking storage work was called on the event loop thread")
