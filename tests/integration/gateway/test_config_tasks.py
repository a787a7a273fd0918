"""``folders:`` and ``purge:`` in gateway.yaml: the gateway service runs the watched
folders itself (no separate ``sceau gateway folders run``), against its own LAN API.

DGS's gateway watches an OSL folder, Saint-Denis's an SI folder, both from their
gateway.yaml: a dossier dropped in DGS's OUT/ is sealed, sent through the hub, and
appears whole in Saint-Denis's IN/.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.errors import GatewayConfigError
from gateway.local_directory import add_client
from gateway.runtime import GatewayRuntime
from gateway.service import GatewayService
from gateway.settings import GatewaySettings
from gateway.settings_tasks import PurgeSettings, WatchedFolder, Webhook, WebhooksSettings
from gateway.webhooks import verify_signature
from hubee.model import OrgRef, Scope
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.integration.gateway_folders.scene import certdc_metadata, write_dossier
from tests.integration.hub.world import CERTDC_FILES
from tests.unit.gateway.support import certdc_folder, deposit


async def _client(settings: GatewaySettings, ref: OrgRef, side: str, name: str) -> str:
    """A CERTDC LAN client made offline; its secret written to ``<data>/<name>.secret``."""
    runtime = await GatewayRuntime.open(settings)
    try:
        created = await add_client(
            runtime.services,
            runtime.store,
            name=name,
            company_register=ref.company_register,
            branch_code=ref.branch_code,
            process_code="CERTDC",
            scope=Scope(side),
        )
    finally:
        await runtime.close()
    (settings.data_dir / f"{name}.secret").write_text(created.secret + "\n")
    (settings.data_dir / f"{name}.secret").chmod(0o600)
    return created.client.client_id


async def _configure(
    settings: GatewaySettings, ref: OrgRef, side: str, root: Path, **changes: object
) -> GatewaySettings:
    """Add a LAN client, write its secret to a file, list the folder in gateway.yaml."""
    client_id = await _client(settings, ref, side, "certdc-client")
    folder = WatchedFolder(
        "CERTDC",
        root,
        side,
        client_id,
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


def test_a_webhook_from_the_config_posts_each_new_case_signed(tmp_path: Path) -> None:
    key = b"0123456789abcdef-webhook-key"
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hubee-hook", hook)
        receiver = web.AppRunner(app)
        await receiver.setup()
        site = web.TCPSite(receiver, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        hub = await open_hub(tmp_path)
        started: list[GatewayService] = []
        try:
            sd = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
            client_id = await _client(sd, SAINT_DENIS, "SI", "app")
            (sd.data_dir / "app-hook.key").write_bytes(key)
            (sd.data_dir / "app-hook.key").chmod(0o600)
            url = f"http://127.0.0.1:{port}/hubee-hook"
            hooks = (Webhook(client_id, Path("app.secret"), url, Path("app-hook.key"), 0.1),)
            replace(sd, webhooks=WebhooksSettings(enabled=True, hooks=hooks)).save()
            sd = GatewaySettings.load(sd.data_dir)
            osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
            started.append(osl.service)
            started.append((await start_gateway(sd, "saint-denis")).service)
            assert [s.name for s in started[1].task_states] == [f"webhook of {client_id}"]
            async with aiohttp.ClientSession() as session:
                dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                await deposit(dgs, *certdc_folder(recipient, "ER-HOOK-1"))
                await eventually(lambda: _has(received or None), timeout=60, what="a webhook")
        finally:
            for service in reversed(started):
                await service.close()
            await close_hub(hub)
            await receiver.cleanup()

    asyncio.run(main())
    headers, body = received[0]
    note = json.loads(body)
    assert note["type"] == "case.new" and note["processCode"] == "CERTDC"
    assert verify_signature(key, headers["Sceau-Signature"], body, now=int(time.time()))
    assert len(list((tmp_path / "sd" / "webhooks").glob("*.db"))) == 1  # the delivery queue


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
