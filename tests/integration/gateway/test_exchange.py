"""Two gateways and a hub on loopback over real mTLS: the CERTDC sample goes from the
DGS's software (HubEE API on its gateway's LAN) to Saint-Denis's software (HubEE API on
the other gateway's LAN); statuses and the sealed receipt flow back; both dossiers'
evidence bundles verify, with the hub's cosignature, with sceau's verifier and openssl."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
from pathlib import Path
from typing import Any

from gateway.evidence_export import export_bundle
from gateway.service import gateway_status
from hubee.model import Scope
from tests.integration.gateway.world import SAINT_DENIS, Gw, eventually, world
from tests.unit.gateway.support import LanClient, certdc_folder, deposit
from trust.bundle import BundleReader
from trust.bundle_verify import TrustInputs, verify_bundle


async def _notifications(client: LanClient) -> list[dict[str, Any]]:
    reply = await client.call("GET", "/teledossiers/v1/notifications?maxResult=25")
    assert reply.status == 200, reply.body
    return reply.json()  # type: ignore[no-any-return]


async def _witnessed_bundle(gw: Gw, dossier_id: str, out: Path) -> Path:
    runtime = gw.runtime

    async def ready() -> bool:
        await runtime.checkpoints.maybe_checkpoint(force=True)
        gap = await runtime.checkpoints.gap()
        return gap.unstamped == 0 and gap.unwitnessed == 0 and gap.checkpoints > 0

    await runtime.drain.wait_drained()
    await eventually(ready, what=f"{gw.name}'s checkpoints stamped and witnessed")
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
    report = verify_bundle(
        done.path,
        trust=TrustInputs(
            anchors=identity.hub_ca,
            journal_keys=(identity.journal_vkey,),
            witness_keys=(identity.witness_vkey,),
            require_witness=True,
        ),
    )
    assert report.ok, report.reasons
    return done.path


def test_certdc_from_the_dgs_to_saint_denis_and_back(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as (hub, osl, si, session):
            dgs = await _client(osl, session, "logiciel-dgs", "CERTDC", Scope.OSL)
            commune = await _client(si, session, "etat-civil", "CERTDC", Scope.SI)
            body, files = certdc_folder(
                (SAINT_DENIS.company_register, SAINT_DENIS.branch_code), "ER20190860001"
            )
            folder = await deposit(dgs, body, files)
            found = await eventually(lambda: _notifications(commune), what="the SI's notification")
            assert len(found) == 1 and found[0]["processCode"] == "CERTDC"
            case_id = found[0]["caseId"]
            # The SI software, as written for HubEE: case, files with digests, events, status.
            case = (await commune.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
            assert case["status"] == "SENT" and case["externalId"] == "ER20190860001-01"
            assert sorted(a["fileName"] for a in case["attachments"]) == sorted(
                b["fileName"] for b in body["attachments"]
            )
            by_name = {a["fileName"]: a for a in body["attachments"]}
            for attachment in case["attachments"]:
                got = await commune.call(
                    "GET", f"/teledossiers/v1/cases/{case_id}/attachments/{attachment['id']}"
                )
                assert got.status == 200
                data = files[list(by_name).index(attachment["fileName"])]
                assert got.body == data
                assert (
                    got.headers["digest"]
                    == base64.b64encode(hashlib.sha256(data).digest()).decode()
                )
            for status in ("SI_RECEIVED", "IN_PROGRESS"):
                event = await commune.call(
                    "POST",
                    f"/teledossiers/v1/cases/{case_id}/events",
                    json_body={
                        "actionType": "STATUS_UPDATE",
                        "caseNewStatus": status,
                        "message": f"passage en {status}",
                        "notification": True,
                    },
                )
                assert event.status == 201, event.body
            patched = await commune.call(
                "PATCH", f"/teledossiers/v1/cases/{case_id}", json_body={"status": "DONE"}
            )
            assert patched.status == 204, patched.body
            gone = await commune.call("DELETE", f"/teledossiers/v1/notifications/{found[0]['id']}")
            assert gone.status == 204
            assert await _notifications(commune) == []
            # Back at the operator: the case's status, the receipt, the SI's events.
            local_case = folder["cases"][0]["id"]

            async def done_at_dgs() -> dict[str, Any] | None:
                reply = await dgs.call("GET", f"/teledossiers/v1/cases/{local_case}")
                view = reply.json()
                kinds = [e["actionType"] for e in view.get("events", [])]
                ok = view["status"] == "DONE" and "SENDING_MESSAGE" in kinds
                return view if ok else None

            view = await eventually(done_at_dgs, what="DONE and the receipt at the DGS")
            receipt = [e for e in view["events"] if e["actionType"] == "SENDING_MESSAGE"]
            assert "reçu et vérifié" in receipt[0]["message"]
            assert any(n["caseId"] == local_case for n in await _notifications(dgs))
            # Nothing is left to push on either side, and both bundles verify.
            for gw in (osl, si):
                state = (await gateway_status(gw.runtime, gw.service)).outbox
                assert (state.failed, state.pending) == (0, 0), state
            osl_bundle = await _witnessed_bundle(osl, folder["id"], tmp_path / "dgs.asice")
            si_bundle = await _witnessed_bundle(si, case_id, tmp_path / "commune.asice")
            for bundle in (osl_bundle, si_bundle):
                _openssl_verifies(bundle, hub.ca_pem, tmp_path)
                with BundleReader(bundle) as reader:
                    names = reader.names()
                    assert "META-INF/sceau/seals/sender.p7s" in names
                    assert any(n.startswith("META-INF/sceau/receipts/") for n in names)
                    assert "META-INF/sceau/anchors/witness.vkey" in names

    asyncio.run(main())


async def _client(gw: Gw, session: Any, name: str, process: str, scope: Scope) -> LanClient:
    from tests.integration.gateway.world import lan_client

    return await lan_client(gw, session, name=name, process=process, scope=scope)


def _openssl_verifies(bundle: Path, ca: Path, tmp: Path) -> None:
    out = tmp / bundle.stem
    with BundleReader(bundle) as reader:
        reader.extract_to(out)
    subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(out / "META-INF/signature001.p7s"),
            "-content",
            str(out / "META-INF/ASiCManifest001.xml"),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(out / "META-INF/sceau/seals/sender.p7s"),
            "-content",
            str(out / "manifest.json"),
            "-CAfile",
            str(ca),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        check=True,
        capture_output=True,
    )
