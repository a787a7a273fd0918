"""The hub goes down: both LANs keep accepting and answering, work and checkpoints
queue (the gap shows in the status); the hub comes back: everything drains, the
dossier arrives once, and the checkpoints are stamped and witnessed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from gateway.service import gateway_status
from hub.app import serve_hub
from hub.runtime import HubRuntime
from hubee.model import Scope
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
from tests.unit.gateway.support import certdc_folder, deposit


@pytest.mark.timeout(180)
def test_the_queue_drains_when_the_hub_returns(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        port = int(hub.url.rsplit(":", 1)[1])
        osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
        si = await start_gateway(
            await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS), "sd", feed_wait=1.0
        )
        try:
            async with aiohttp.ClientSession() as session:
                dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)
                config = hub.runtime.config
                await close_hub(hub)  # the hub is down
                body, files = certdc_folder(
                    (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), "ER-OUTAGE"
                )
                folder = await deposit(dgs, body, files)  # the LAN does not notice
                listed = await commune.call("GET", "/teledossiers/v1/notifications")
                assert listed.status == 200 and listed.json() == []

                async def queued() -> bool:
                    status = await gateway_status(osl.runtime, osl.service)
                    await osl.runtime.checkpoints.maybe_checkpoint(force=True)
                    return (
                        status.outbox.pending == 1
                        and status.outbox.last_error is not None
                        and status.checkpoints.unstamped >= 1
                        and status.checkpoints.unwitnessed >= 1
                    )

                await eventually(queued, what="work and checkpoints queued during the outage")
                # The hub returns on the same address.
                runtime = await HubRuntime.open(config)
                runner, _ = await serve_hub(runtime, host="127.0.0.1", port=port)
                try:
                    osl.service.outbox.poke()

                    async def arrived() -> list[object] | None:
                        found = (await commune.call("GET", "/teledossiers/v1/notifications")).json()
                        return found or None

                    found = await eventually(
                        arrived, timeout=60, what="the dossier after the outage"
                    )
                    assert len(found) == 1
                    case = await commune.call("GET", f"/teledossiers/v1/cases/{found[0]['caseId']}")
                    assert case.json()["externalId"] == "ER-OUTAGE-01"

                    async def caught_up() -> bool:
                        status = await gateway_status(osl.runtime, osl.service)
                        gap = status.checkpoints
                        return (
                            status.outbox.pending == 0
                            and gap.unstamped == 0
                            and gap.unwitnessed == 0
                        )

                    await eventually(caught_up, timeout=60, what="the gap closed")
                    local = await dgs.call("GET", f"/teledossiers/v1/folders/{folder['id']}")
                    assert local.json()["globalStatus"] == "HUBEE_NOTIFIED"
                finally:
                    await si.service.close()
                    await osl.service.close()
                    await runner.cleanup()
                    await runtime.close()
        except BaseException:
            await si.service.close()
            await osl.service.close()
            raise

    asyncio.run(main())
