"""A case whose answer carries a manifest without its seal (or a seal without its
manifest) is mis-signed input: refused with a reason, never taken for an unsealed case
sent straight to the hub (which the ``unsealed_from_hub: accept`` policy would deliver)."""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.tables import GatewayTables
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
from tests.unit.gateway.support import LanClient, certdc_folder, deposit


@pytest.mark.parametrize("kept", ["manifest", "seal"])
def test_a_half_stripped_seal_is_refused_not_taken_for_unsealed(tmp_path: Path, kept: str) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        si = await start_gateway(
            await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS, unsealed_from_hub="accept"),
            "saint-denis",
        )
        assert si.service.puller.unsealed_from_hub == "accept"
        link = si.service.puller._link
        real_get_case = link.get_case

        async def half_stripped(case_id: str) -> dict[str, Any]:
            answer = await real_get_case(case_id)
            return {**answer, kept: base64.b64encode(b'{"kind":"folder"}').decode()}

        link.get_case = half_stripped  # type: ignore[method-assign]
        try:
            context = ssl.create_default_context(cafile=str(hub.ca_pem))
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as tls,
                aiohttp.ClientSession() as session,
            ):
                client, secret = await hub.runtime.services.directory.add_client(
                    org=DGS, scope=Scope.OSL, process_code="CERTDC"
                )
                operator = LanClient(tls, hub.url)
                await operator.login(client.client_id, secret, "OSL")
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                body, files = certdc_folder(recipient, "ER-HALF")
                folder = await deposit(operator, body, files)
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)

                async def refused() -> str | None:
                    found: str | None = await si.runtime.store.read(
                        lambda tx: GatewayTables.of(tx).refusal(folder["cases"][0]["id"])
                    )
                    return found

                reason = await eventually(refused, what="the refusal")
                assert "without" in reason and "seal" in reason, reason
                listed = await commune.call("GET", "/teledossiers/v1/notifications")
                assert listed.status == 200 and listed.json() == []
        finally:
            await si.service.close()
            await close_hub(hub)

    asyncio.run(main())
