"""Fixtures of the operations tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.gateway.world import DGS, close_hub, enrolled_settings, open_hub


@pytest.fixture
def gateway_dir(tmp_path: Path) -> Path:
    """An enrolled gateway's data folder (its hub, in this process, is gone again)."""

    async def main() -> Path:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
        finally:
            await close_hub(hub)
        return settings.data_dir

    return asyncio.run(main())
