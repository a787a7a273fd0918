"""One folder for two recipients: the operator's seal covers a manifest listing every
file, including those meant for the other recipient. Each recipient gets only its own
files, and its evidence bundle still verifies: the whole sealed manifest, its files
proven against it, and the others marked "not delivered to this recipient" (digests
only)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from hubee.model import Scope
from tests.integration.gateway.evidence_check import sceau_verify, witnessed_report
from tests.integration.gateway.world import (
    CD93,
    DGS,
    SAINT_DENIS,
    Gw,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import LanClient, deposit
from trust.bundle import DELIVERY, BundleReader

FILES = {
    "commun.pdf": b"%PDF-1.4 commun aux deux destinataires\n" * 30,
    "commune.xml": b"<avis destinataire='commune'/>\n" * 20,
    "departement.xml": b"<avis destinataire='departement'/>\n" * 25,
}
ROUTES = {
    "commun.pdf": ["MULTI-01", "MULTI-02"],
    "commune.xml": ["MULTI-01"],
    "departement.xml": ["MULTI-02"],
}


def _folder() -> tuple[dict[str, Any], list[bytes]]:
    cases = [
        (SAINT_DENIS, "MULTI-01"),
        (CD93, "MULTI-02"),
    ]
    body = {
        "processCode": "CERTDC",
        "externalId": "MULTI",
        "applicant": {"firstName": "Camille", "lastName": "Martin"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": ref.company_register,
                    "branchCode": ref.branch_code,
                },
                "externalId": external,
            }
            for ref, external in cases
        ],
        "attachments": [
            {
                "fileName": name,
                "type": "PJ",
                "size": len(data),
                "mimeType": "application/pdf" if name.endswith(".pdf") else "application/xml",
                "recipients": ROUTES[name],
            }
            for name, data in FILES.items()
        ],
    }
    return body, list(FILES.values())


async def _received(client: LanClient) -> dict[str, Any]:
    async def notified() -> list[dict[str, Any]] | None:
        found = (await client.call("GET", "/teledossiers/v1/notifications")).json()
        return found or None

    (note,) = await eventually(notified, what="the case at the recipient")
    case = await client.call("GET", f"/teledossiers/v1/cases/{note['caseId']}")
    return case.json()  # type: ignore[no-any-return]


async def _check_recipient_bundle(
    gw: Gw, case_id: str, own: set[str], out: Path, recipient: str
) -> None:
    report = await witnessed_report(gw, case_id, out)
    assert report.ok, report.reasons
    others = set(FILES) - own
    manifest_checks = {
        c.name: c for s in report.sections if s.subject == "manifest" for c in s.checks
    }
    for name in others:
        check = manifest_checks[f"attachment {name}"]
        assert check.ok and check.detail.startswith("not delivered to this recipient")
    for name in own:
        assert manifest_checks[f"attachment {name}"].ok
    assert report.facts["delivered to"].startswith(
        f"{recipient}: {len(own)} of the folder's {len(FILES)} files"
    )
    assert report.facts["sender's seal"] == "verified"  # over the whole manifest
    with BundleReader(report.path) as reader:
        assert reader.has(DELIVERY)
        for name in own:
            assert reader.read(name) == FILES[name]
        for name in others:
            assert not reader.has(name)
    text = sceau_verify(gw, Path(report.path))
    assert "VALID" in text and "INVALID" not in text
    for name in others:
        assert f"attachment {name}: not delivered to this recipient ({recipient})" in text
    assert f"delivered to {recipient}: {len(own)} of the folder's {len(FILES)} files" in text


def test_each_recipient_of_a_two_recipient_folder_gets_a_verifying_bundle(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            await hub.runtime.services.directory.subscribe(
                process_code="CERTDC",
                subscriber=CD93,
                activate=True,
                local_admin_email="admin@example.fr",
            )
            gateways = []
            for name, ref in (("dgs", DGS), ("sd", SAINT_DENIS), ("cd93", CD93)):
                gw = await start_gateway(await enrolled_settings(hub, tmp_path / name, ref), name)
                stack.push_async_callback(gw.service.close)
                gateways.append(gw)
            osl, sd, cd93 = gateways
            session = await stack.enter_async_context(aiohttp.ClientSession())
            dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
            commune = await lan_client(sd, session, name="ec", process="CERTDC", scope=Scope.SI)
            departement = await lan_client(
                cd93, session, name="dep", process="CERTDC", scope=Scope.SI
            )
            body, files = _folder()
            folder = await deposit(dgs, body, files)
            at_commune = await _received(commune)
            at_departement = await _received(departement)
            assert {a["fileName"] for a in at_commune["attachments"]} == {
                "commun.pdf",
                "commune.xml",
            }
            assert {a["fileName"] for a in at_departement["attachments"]} == {
                "commun.pdf",
                "departement.xml",
            }
            await _check_recipient_bundle(
                sd,
                at_commune["id"],
                {"commun.pdf", "commune.xml"},
                tmp_path / "commune.asice",
                SAINT_DENIS.key,
            )
            await _check_recipient_bundle(
                cd93,
                at_departement["id"],
                {"commun.pdf", "departement.xml"},
                tmp_path / "departement.asice",
                CD93.key,
            )
            # The sender's bundle holds every file and no delivery note.
            report = await witnessed_report(osl, folder["id"], tmp_path / "dgs.asice")
            assert report.ok, report.reasons
            assert "delivered to" not in report.facts
            with BundleReader(report.path) as reader:
                assert not reader.has(DELIVERY)
                assert all(reader.read(n) == d for n, d in FILES.items())

    asyncio.run(main())
