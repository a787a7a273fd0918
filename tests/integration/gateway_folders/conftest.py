"""Fixtures for the watched folders and webhooks: a fresh HubEE engine per test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway_folders.scene import Certdc, certdc
from tests.integration.hub.conformance import Conformance
from tests.integration.hub.harness import Hub, run_guarded, running_hub

_CONFORMANCE: list[Conformance] = []

Scenario = Callable[[Certdc], Awaitable[None]]


@pytest.fixture(scope="session")
def conformance() -> Conformance:
    if not _CONFORMANCE:
        _CONFORMANCE.append(Conformance())
    return _CONFORMANCE[0]


@pytest.fixture
def certdc_run(tmp_path: Path, conformance: Conformance) -> Callable[..., None]:
    """Run ``scenario(world)`` against a fresh engine with the CERTDC world.

    The loop runs in debug mode and fails on any callback that blocks it over 100 ms:
    the adapters must do their file and SQLite work in threads.
    """

    def run(scenario: Scenario, *, subscribe: bool = True, **settings: Any) -> None:
        async def main() -> None:
            async with running_hub(tmp_path / "hub", conformance, **settings) as hub:
                await scenario(await certdc(hub, subscribe=subscribe))
                assert all(r.checked for r in hub.replies)

        run_guarded(main())

    return run


__all__ = ["Hub"]
