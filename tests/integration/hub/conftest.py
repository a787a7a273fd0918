"""Fixtures for the hub's conformance tests: a real hub per test, one set of specs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.hub.conformance import Conformance
from tests.integration.hub.harness import Hub, Scenario, run_guarded, running_hub

_CONFORMANCE: list[Conformance] = []


@pytest.fixture(scope="session")
def conformance() -> Conformance:
    if not _CONFORMANCE:
        _CONFORMANCE.append(Conformance())
    return _CONFORMANCE[0]


@pytest.fixture
def hub_run(tmp_path: Path, conformance: Conformance) -> Callable[..., None]:
    """Run ``scenario(hub)`` against a fresh hub; settings overrides as keywords."""

    def run(scenario: Scenario, **settings: Any) -> None:
        async def main() -> None:
            async with running_hub(tmp_path / "hub", conformance, **settings) as hub:
                await scenario(hub)
                assert all(r.checked for r in hub.replies)

        run_guarded(main())

    return run


__all__ = ["Hub"]
