"""One real CERTDC exchange through a hub and two gateways (tests.integration.gateway.world),
keeping the secrets it used so that tests can look for them where they must not be."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from gateway.local_directory import add_client
from hubee.model import Scope
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    Gw,
    Hub,
    enrolled_settings,
    eventually,
    start_gateway,
)
from tests.unit.gateway.support import LanClient, certdc_folder, deposit

# People named in the sample dossier (../shared/reference/hubee/JDD/CERTDC, DD.xml) and
# in the folder's applicant (tests.unit.gateway.support.certdc_folder).
PEOPLE = ("Geffrault", "CERCUEIL", "Camille", "c.martin@example.fr")


@dataclass
class Secrets:
    client_secrets: list[str] = field(default_factory=list)
    enrollment_tokens: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.client_secrets, *self.enrollment_tokens]


async def enrolled_gateway(hub: Hub, folder: Path, ref: Any, name: str, secrets: Secrets) -> Gw:
    """Like world.enrolled_settings + start_gateway, remembering the enrollment token."""
    original = hub.token

    async def token(r: Any) -> str:
        value = await original(r)
        secrets.enrollment_tokens.append(value)
        return value

    hub.token = token  # type: ignore[method-assign]
    try:
        settings = await enrolled_settings(hub, folder, ref)
    finally:
        hub.token = original  # type: ignore[method-assign]
    return await start_gateway(settings, name)


async def client(
    gw: Gw, session: aiohttp.ClientSession, name: str, scope: Scope, secrets: Secrets
) -> LanClient:
    runtime = gw.runtime
    created = await add_client(
        runtime.services,
        runtime.store,
        name=name,
        company_register=gw.settings.company_register,
        branch_code=gw.settings.branch_code,
        process_code="CERTDC",
        scope=scope,
    )
    secrets.client_secrets.append(created.secret)
    lan = LanClient(session, gw.base)
    await lan.login(created.client.client_id, created.secret, scope.value)
    return lan


async def certdc_exchange(
    osl: Gw, si: Gw, session: aiohttp.ClientSession, secrets: Secrets
) -> dict[str, Any]:
    """DGS deposits the CERTDC sample; Saint-Denis downloads it and closes it DONE; the
    status comes back to the DGS. Returns the DGS's folder."""
    dgs = await client(osl, session, "logiciel-dgs", Scope.OSL, secrets)
    commune = await client(si, session, "etat-civil", Scope.SI, secrets)
    body, files = certdc_folder(
        (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), "ER20190860001"
    )
    folder = await deposit(dgs, body, files)

    async def notified() -> list[dict[str, Any]]:
        reply = await commune.call("GET", "/teledossiers/v1/notifications?maxResult=25")
        return reply.json()  # type: ignore[no-any-return]

    found = await eventually(notified, what="the commune's notification")
    case_id = found[0]["caseId"]
    case = (await commune.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
    for attachment in case["attachments"]:
        got = await commune.call(
            "GET", f"/teledossiers/v1/cases/{case_id}/attachments/{attachment['id']}"
        )
        assert got.status == 200
    assert any(b"Geffrault" in f for f in files)  # the names really travelled
    patched = await commune.call(
        "PATCH", f"/teledossiers/v1/cases/{case_id}", json_body={"status": "DONE"}
    )
    assert patched.status == 204, patched.body
    local_case = folder["cases"][0]["id"]

    async def done() -> bool:
        view = (await dgs.call("GET", f"/teledossiers/v1/cases/{local_case}")).json()
        return bool(view["status"] == "DONE")

    await eventually(done, what="DONE back at the DGS")
    return folder


async def witnessed(gw: Gw) -> None:
    """Wait until ``gw``'s journal is checkpointed, time-stamped and cosigned."""
    runtime = gw.runtime

    async def ready() -> bool:
        await runtime.checkpoints.maybe_checkpoint(force=True)
        gap = await runtime.checkpoints.gap()
        return gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0

    await runtime.drain.wait_drained()
    await eventually(ready, what=f"{gw.name}'s checkpoints stamped and witnessed")


__all__ = ["DGS", "PEOPLE", "SAINT_DENIS", "Secrets", "certdc_exchange", "enrolled_gateway"]
