"""The service's trust loop (time-stamps and cosignatures of checkpoints) logs a warning
once per failure episode and its retries at debug, so a TSA or hub down for hours does
not flood the logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from gateway.errors import HubUnreachable
from gateway.service import GatewayService
from tests.unit.gateway.support import DGS, HubPki, enroll_offline


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_one_warning_per_failure_episode_and_debug_for_the_retries(tmp_path: Path) -> None:
    settings = enroll_offline(tmp_path / "g", HubPki.create(), DGS, "OSL")
    # Two episodes: three failures then a success, two failures then a success.
    outcomes = [False, False, False, True, False, False, True]
    done = asyncio.Event()
    errors_seen: list[str | None] = []

    async def main() -> None:
        service = await GatewayService.open(settings)
        checkpoints = service.runtime.checkpoints

        async def stamp_pending(_timestamper: object) -> int:
            checkpoints.changed.set()  # wake the loop at once: no backoff wait in a test
            if not outcomes:
                done.set()
                await asyncio.Event().wait()
            errors_seen.append(service.trust_error)
            if not outcomes.pop(0):
                raise HubUnreachable("the TSA at https://tsa.example/ did not answer")
            return 1

        async def witness_pending(_witness: object, _key: object) -> int:
            return 0

        checkpoints.stamp_pending = stamp_pending  # type: ignore[method-assign]
        checkpoints.witness_pending = witness_pending  # type: ignore[method-assign]
        loop = asyncio.create_task(service._trust_loop())
        try:
            await asyncio.wait_for(done.wait(), 30)
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
            await service.close()

    handler = _Records()
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        asyncio.run(main())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    failed = [r for r in handler.records if "time-stamp or witness failed" in r.getMessage()]
    assert [r.levelno for r in failed] == [
        logging.WARNING,
        logging.DEBUG,
        logging.DEBUG,
        logging.WARNING,
        logging.DEBUG,
    ]
    assert "(attempt 1, retrying): the TSA at https://tsa.example/" in failed[0].getMessage()
    assert "(attempt 3, retrying)" in failed[2].getMessage()
    # The error is kept while failing and cleared by the success (what status persists).
    assert errors_seen[1] is not None and errors_seen[4] is None
