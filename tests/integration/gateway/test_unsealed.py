"""A case the operator sent straight to the hub's HubEE API (no gateway, no seal), under
each ``unsealed_from_hub`` policy: accepted (checked against the hub's digests, shown
on the LAN, journaled without a sender seal, receipt sealed, a bundle that says so) or
refused (never shown, a sealed rejection naming the policy)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp

from gateway.tables import GatewayTables
from hubee.model import Scope
from tests.integration.gateway.evidence_check import (
    hub_receipts,
    journal_kinds,
    sceau_verify,
    witnessed_report,
)
from tests.integration.gateway.world import (
    DGS,
    SAINT_DENIS,
    Gw,
    Hub,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import LanClient, b64_sha256, certdc_folder, deposit
from trust.bundle import SENDER_SEAL, BundleReader


async def _operator_at_the_hub(hub: Hub, session: aiohttp.ClientSession) -> LanClient:
    """The DGS's software talking to the hub's own HubEE API: no gateway of its own."""
    client, secret = await hub.runtime.services.directory.add_client(
        org=DGS, scope=Scope.OSL, process_code="CERTDC"
    )
    operator = LanClient(session, hub.url)
    await operator.login(client.client_id, secret, "OSL")
    return operator


def _tls_session(hub: Hub) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cafile=str(hub.ca_pem))
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


async def _outbox_settled(gw: Gw) -> bool:
    state = (await gw.service.status()).outbox
    return state.pending == 0 and state.done > 0 and state.failed == 0


def test_an_unsealed_case_is_accepted_on_the_hubs_digests(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        si = await start_gateway(
            await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS, unsealed_from_hub="accept"),
            "saint-denis",
        )
        assert si.service.puller.unsealed_from_hub == "accept"  # opted in
        try:
            async with _tls_session(hub) as tls, aiohttp.ClientSession() as session:
                operator = await _operator_at_the_hub(hub, tls)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                body, files = certdc_folder(recipient, "ER-DIRECT")
                folder = await deposit(operator, body, files)
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)

                async def notified() -> list[dict[str, object]] | None:
                    found = (await commune.call("GET", "/teledossiers/v1/notifications")).json()
                    return found or None

                (note,) = await eventually(notified, what="the unsealed case on the LAN")
                case = (
                    await commune.call("GET", f"/teledossiers/v1/cases/{note['caseId']}")
                ).json()
                assert case["externalId"] == "ER-DIRECT-01"
                assert len(case["attachments"]) == len(files)
                first = case["attachments"][0]
                got = await commune.call(
                    "GET", f"/teledossiers/v1/cases/{case['id']}/attachments/{first['id']}"
                )
                data = next(f for f in files if b64_sha256(f) == got.headers["digest"])
                assert got.body == data
                # The receipt is sealed as usual, and the hub keeps it.
                await eventually(lambda: _outbox_settled(si), what="the receipt at the hub")
                assert hub_receipts(hub.runtime.config.engine.db_path) == [
                    (note["caseId"], "accepted")
                ]
                kinds = await journal_kinds(si, folder["id"])
                for kind in ("pulled", "verified", "manifest.recorded", "delivered", "receipt"):
                    assert kind in kinds, kinds
                assert "manifest.sealed" not in kinds  # never called a sealed dossier
                # The bundle verifies and says plainly that nobody sealed it.
                report = await witnessed_report(si, folder["id"], tmp_path / "direct.asice")
                assert report.ok, report.reasons
                assert report.facts["sender's seal"].startswith("no sender seal: the sender used")
                assert "the hub attests" in report.facts["sender's seal"]
                assert report.facts["dossier"].endswith("(no sender seal)")
                assert any("No sender seal" in w for w in report.warnings)
                assert "sender seal" not in [s.subject for s in report.sections]
                with BundleReader(report.path) as reader:
                    assert not reader.has(SENDER_SEAL)
                text = sceau_verify(si, Path(report.path))
                assert "VALID" in text and "INVALID" not in text
                assert "no sender seal: the sender used the hub directly" in text
                assert "This is not a sealed dossier." in text
        finally:
            await si.service.close()
            await close_hub(hub)

    asyncio.run(main())


def test_an_unsealed_case_is_refused_when_the_policy_says_so(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        settings = await enrolled_settings(
            hub, tmp_path / "sd", SAINT_DENIS, unsealed_from_hub="refuse"
        )
        si = await start_gateway(settings, "saint-denis")
        assert si.service.puller.unsealed_from_hub == "refuse"
        try:
            async with _tls_session(hub) as tls, aiohttp.ClientSession() as session:
                operator = await _operator_at_the_hub(hub, tls)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                body, files = certdc_folder(recipient, "ER-REFUSED")
                folder = await deposit(operator, body, files)
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)

                async def refused() -> str | None:
                    found: str | None = await si.runtime.store.read(
                        lambda tx: GatewayTables.of(tx).refusal(folder["cases"][0]["id"])
                    )
                    return found

                reason = await eventually(refused, what="the refusal")
                assert "unsealed_from_hub: refuse" in reason
                listed = await commune.call("GET", "/teledossiers/v1/notifications")
                assert listed.status == 200 and listed.json() == []
                await eventually(lambda: _outbox_settled(si), what="the rejection at the hub")
                assert hub_receipts(hub.runtime.config.engine.db_path) == [
                    (folder["cases"][0]["id"], "rejected")
                ]
                kinds = await journal_kinds(si, folder["id"])
                assert "refused" in kinds and "receipt" in kinds and "delivered" not in kinds
        finally:
            await si.service.close()
            await close_hub(hub)

    asyncio.run(main())
