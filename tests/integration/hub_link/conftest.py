"""A real hub over TLS per test, and one copy of its OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.hub.harness import run_guarded
from tests.integration.hub_link.conformance import LinkConformance
from tests.integration.hub_link.harness import Scenario, running_link_hub

_CONFORMANCE: list[LinkConformance] = []


@pytest.fixture(scope="session")
def link_conformance() -> LinkConformance:
    if not _CONFORMANCE:
        _CONFORMANCE.append(LinkConformance())
    return _CONFORMANCE[0]


@pytest.fixture
def link_run(tmp_path: Path, link_conformance: LinkConformance) -> Callable[..., None]:
    """Run ``scenario(hub)`` against a fresh hub over TLS; settings as keywords."""

    def run(scenario: Scenario, **settings: Any) -> None:
        async def main() -> None:
            async with running_link_hub(tmp_path, link_conformance, **settings) as hub:
                await scenario(hub)

        run_guarded(main())

    return run
