"""Shared steps of the rotation tests: a CERTDC dossier sent and delivered, a witnessed
bundle exported, openssl's verdict on a seal."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from gateway.evidence_export import export_bundle
from hubee.model import Scope
from tests.integration.gateway.world import SAINT_DENIS, Gw, eventually, lan_client
from tests.unit.gateway.support import LanClient, certdc_folder, deposit
from trust.bundle import BundleReader
from trust.bundle_verify import BundleReport, TrustInputs, verify_bundle


async def send_certdc(
    dgs: LanClient, commune: LanClient, external_id: str
) -> tuple[dict[str, Any], str]:
    """Deposit a CERTDC folder at the DGS; wait until the commune is notified of it."""
    body, files = certdc_folder(
        (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), external_id
    )
    folder = await deposit(dgs, body, files)

    async def notified() -> str | None:
        reply = await commune.call("GET", "/teledossiers/v1/notifications?maxResult=50")
        assert reply.status == 200, reply.body
        for item in reply.json():
            case = await commune.call("GET", f"/teledossiers/v1/cases/{item['caseId']}")
            if case.json()["externalId"] == f"{external_id}-01":
                return str(item["caseId"])
        return None

    case_id = await eventually(notified, timeout=60, what=f"{external_id} at the commune")
    return folder, case_id


async def receipt_at_sender(dgs: LanClient, folder: dict[str, Any]) -> None:
    """The commune's sealed receipt (it verified the seal) is back at the DGS."""
    case_id = folder["cases"][0]["id"]

    async def received() -> bool:
        view = (await dgs.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
        return any(e["actionType"] == "SENDING_MESSAGE" for e in view.get("events", []))

    await eventually(received, timeout=60, what="the receipt at the DGS")


async def client(gw: Gw, session: aiohttp.ClientSession, name: str, scope: Scope) -> LanClient:
    return await lan_client(gw, session, name=name, process="CERTDC", scope=scope)


def trust_of(gw: Gw) -> TrustInputs:
    identity = gw.runtime.identity
    return TrustInputs(
        anchors=identity.hub_ca,
        journal_keys=(identity.journal_vkey,),
        witness_keys=(identity.witness_vkey,),
        require_witness=True,
    )


async def witnessed_bundle(gw: Gw, dossier_id: str, out: Path) -> Path:
    runtime = gw.runtime

    async def ready() -> bool:
        await runtime.checkpoints.maybe_checkpoint(force=True)
        gap = await runtime.checkpoints.gap()
        return gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0

    await runtime.drain.wait_drained()
    await eventually(ready, timeout=60, what=f"{gw.name}'s checkpoints stamped and witnessed")
    identity = runtime.identity
    done = await export_bundle(
        dossier_id,
        out,
        store=runtime.store,
        blobs=runtime.blobs,
        journal=runtime.journal,
        sealer=identity.seal,
        anchors=identity.hub_ca,
        journal_key=identity.journal_vkey,
        witness_key=identity.witness_vkey,
        now=runtime.deps.clock(),
    )
    assert done.witnessed
    return done.path


def verified(bundle: Path, trust: TrustInputs) -> BundleReport:
    return verify_bundle(bundle, trust=trust)


def sender_seal(bundle: Path, out: Path) -> tuple[Path, Path]:
    """Extract the bundle; returns (sender.p7s, manifest.json)."""
    with BundleReader(bundle) as reader:
        reader.extract_to(out)
    return out / "META-INF/sceau/seals/sender.p7s", out / "manifest.json"


def openssl_verifies(seal: Path, content: Path, ca: Path, signer_out: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(seal),
            "-content",
            str(content),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-signer",
            str(signer_out),
            "-out",
            "/dev/null",
        ],
        check=True,
        capture_output=True,
    )
