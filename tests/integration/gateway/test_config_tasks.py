"""``folders:`` and ``purge:`` in gateway.yaml: the gateway service runs the watched
folders itself (no separate ``sceau gateway folders run``), against its own LAN API.

DGS's gateway watches an OSL folder, Saint-Denis's an SI folder, both from their
gateway.yaml: a dossier dropped in DGS's OUT/ is sealed, sent through the hub, and
appears whole in Saint-Denis's IN/.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.errors import GatewayConfigError
from gateway.local_directory import add_client
from gateway.runtime import GatewayRuntime
from gateway.service import GatewayService
from gateway.settings import GatewaySettings
from gateway.settings_tasks import PurgeSettings, WatchedFolder
from hubee.model import OrgRef, Scope
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    close_hub,
    enrolled_settings,
    eventually,
    open_hub,
    start_gateway,
)
from tests.integration.gateway_folders.scene import certdc_metadata, write_dossier
from tests.integration.hub.world import CERTDC_FILES


async def _configure(
    settings: GatewaySettings, ref: OrgRef, side: str, root: Path, **changes: object
) -> GatewaySettings:
    """Add a LAN client, write its secret to a file, list the folder in gateway.yaml."""
    runtime = await GatewayRuntime.open(settings)
    try:
        created = await add_client(
            runtime.services,
            runtime.store,
            name=f"folders-{side.lower()}",
            company_register=ref.company_register,
            branch_code=ref.branch_code,
            process_code="CERTDC",
            scope=Scope(side),
        )
    finally:
        await runtime.close()
    secret = settings.data_dir / "certdc-client.secret"
    secret.write_text(created.secret + "\n")
    folder = WatchedFolder(
        "CERTDC",
        root,
        side,
        created.client.client_id,
        Path("certdc-client.secret"),  # relative: under the data folder
        scan_interval=0.05,
        settle_time=0.1,
    )
    replace(settings, folders=(folder,), **changes).save()  # type: ignore[arg-type]
    text = (settings.data_dir / "gateway.yaml").read_text()
    assert 'folders:\n  - process: "CERTDC"' in text
    return GatewaySettings.load(settings.data_dir)


def test_watched_folders_from_the_config_send_and_receive(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        started: list[GatewayService] = []
        try:
            out_root, in_root = tmp_path / "dgs-files", tmp_path / "sd-files"
            dgs = await _configure(
                await enrolled_settings(hub, tmp_path / "dgs", DGS), DGS, "OSL", out_root
            )
            sd = await _configure(
                await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS),
                SAINT_DENIS,
                "SI",
                in_root,
                purge=PurgeSettings(enabled=True, every_minutes=1),
            )
            for settings, name in ((dgs, "dgs"), (sd, "saint-denis")):
                started.append((await start_gateway(settings, name)).service)
            osl, si = started
            assert [s.name for s in osl.task_states] == ["watched folders CERTDC (OSL)"]
            assert [s.name for s in si.task_states] == [
                "watched folders CERTDC (SI)",
                "retention purge",
            ]

            await eventually(lambda: _is_dir(out_root / "OUT"), what="OUT/ created")
            await asyncio.to_thread(
                write_dossier, out_root / "OUT" / "deces-1", certdc_metadata("ER-CONFIG-1")
            )
            receipt = out_root / "SENT" / "deces-1" / "receipt.json"
            await eventually(lambda: _is_file(receipt), timeout=60, what="dossier sent")
            sent = json.loads(receipt.read_text())["cases"][0]["externalId"]
            inbox = in_root / "IN"
            await eventually(lambda: _any_case(inbox), timeout=60, what="a case in IN/")
            (case_dir,) = list(inbox.iterdir())
            metadata = json.loads((case_dir / "metadata.json").read_text())
            assert metadata["case"]["externalId"] == sent == "ER-CONFIG-1-01"
            names = {p.name for p in case_dir.iterdir()}
            assert {f.path.name for f in CERTDC_FILES} <= names
            for f in CERTDC_FILES:
                assert (case_dir / f.path.name).read_bytes() == f.data
            assert all(s.restarts == 0 and s.last_error is None for s in si.task_states)
            purge = si.task_states[1]
            await eventually(lambda: _has(purge.running), what="a purge round")
        finally:
            for service in reversed(started):
                await service.close()
            await close_hub(hub)

    asyncio.run(main())


def test_a_missing_secret_file_stops_the_start_naming_it(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        try:
            settings = await _configure(
                await enrolled_settings(hub, tmp_path / "dgs", DGS), DGS, "OSL", tmp_path / "f"
            )
            (settings.data_dir / "certdc-client.secret").unlink()
            service = await GatewayService.open(settings)
            try:
                with pytest.raises(GatewayConfigError, match=r"certdc-client\.secret"):
                    await service.start()
                assert service.port == 0  # refused before the LAN API was served
            finally:
                await service.close()
        finally:
            await close_hub(hub)

    asyncio.run(main())


async def _is_dir(path: Path) -> bool:
    return await asyncio.to_thread(path.is_dir)


async def _is_file(path: Path) -> bool:
    return await asyncio.to_thread(path.is_file)


async def _any_case(inbox: Path) -> bool:
    return await asyncio.to_thread(lambda: inbox.is_dir() and any(inbox.iterdir()))


async def _has(value: object) -> bool:
    return value is not None
