"""Evidence bundles hold a dossier in clear: a killed gateway's leftovers in
``<data>/exports`` are deleted when the service starts, fresh ones are spared."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tests.integration.gateway.world import (
    DGS,
    close_hub,
    enrolled_settings,
    open_hub,
    start_gateway,
)


def test_the_service_start_sweeps_stale_exports_and_spares_fresh_ones(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await enrolled_settings(hub, tmp_path / "dgs", DGS)
            exports = settings.data_dir / "exports"
            exports.mkdir(mode=0o700)
            stale = exports / "6f1c2f0e-0000-4000-8000-000000000000-0123456789abcdef.asice"
            partial = exports / ".bundle-abc123.tmp"  # a write cut by the kill
            fresh = exports / "6f1c2f0e-0000-4000-8000-000000000001-fedcba9876543210.asice"
            kept_dir = exports / "not-a-bundle"
            for path in (stale, partial, fresh):
                path.write_bytes(b"PK\x03\x04 a dossier in clear")
            kept_dir.mkdir()
            an_hour_ago = time.time() - 3600
            for path in (stale, partial):
                os.utime(path, (an_hour_ago, an_hour_ago))
            gw = await start_gateway(settings, "dgs")
            try:
                assert not stale.exists() and not partial.exists()
                assert fresh.exists() and kept_dir.is_dir()
            finally:
                await gw.service.close()
        finally:
            await close_hub(hub)

    asyncio.run(main())
