"""The RSA flow (CNAF → the Seine-Saint-Denis conseil départemental) through two
gateways: the RSABEI file, then an ATTACH_DEPOSIT event from the operator with the
RSABAI file (a sealed event manifest, its attachment pushed, pulled and checked), and
the department's status updates back; both bundles verify."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from hubee.model import Scope
from tests.integration.gateway.test_exchange import _witnessed_bundle
from tests.integration.gateway.world import (
    CD93,
    CNAF,
    close_hub,
    enrolled_settings,
    eventually,
    lan_client,
    open_hub,
    start_gateway,
)
from tests.unit.gateway.support import SAMPLES, LanClient, b64_sha256, deposit

RSABEI = (SAMPLES / "RSABEI-RSABAI" / "RSABEI.xml").read_bytes()
RSABAI = (SAMPLES / "RSABEI-RSABAI" / "RSABAI.xml").read_bytes()


def _rsa_folder() -> dict[str, Any]:
    return {
        "processCode": "RSABEI-RSABAI",
        "externalId": "RSA-2026-0042",
        "applicant": {"firstName": "Dominique", "lastName": "Bernard"},
        "cases": [
            {
                "recipient": {
                    "type": "SI",
                    "companyRegister": CD93.company_register,
                    "branchCode": CD93.branch_code,
                },
                "externalId": "RSA-2026-0042-93",
            }
        ],
        "attachments": [
            {
                "fileName": "RSABEI.xml",
                "type": "RSABEI",
                "size": len(RSABEI),
                "mimeType": "application/xml",
                "recipients": ["RSA-2026-0042-93"],
            }
        ],
    }


async def _events(client: LanClient, case_id: str) -> list[dict[str, Any]]:
    return (await client.call("GET", f"/teledossiers/v1/cases/{case_id}")).json().get("events", [])


def test_rsa_with_an_additional_document(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncExitStack() as stack:
            hub = await open_hub(tmp_path)
            stack.push_async_callback(close_hub, hub)
            cnaf_gw = await start_gateway(
                await enrolled_settings(hub, tmp_path / "cnaf", CNAF), "cnaf"
            )
            stack.push_async_callback(cnaf_gw.service.close)
            cd93_gw = await start_gateway(
                await enrolled_settings(hub, tmp_path / "cd93", CD93), "cd93"
            )
            stack.push_async_callback(cd93_gw.service.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            cnaf = await lan_client(
                cnaf_gw, session, name="cnaf", process="RSABEI-RSABAI", scope=Scope.OSL
            )
            cd93 = await lan_client(
                cd93_gw, session, name="cd93", process="RSABEI-RSABAI", scope=Scope.SI
            )
            folder = await deposit(cnaf, _rsa_folder(), [RSABEI])
            local_case = folder["cases"][0]["id"]

            async def notified() -> list[dict[str, Any]] | None:
                found = (await cd93.call("GET", "/teledossiers/v1/notifications")).json()
                return found or None

            first = (await eventually(notified, what="the RSA case at the department"))[0]
            case_id = first["caseId"]
            await cd93.call("DELETE", f"/teledossiers/v1/notifications/{first['id']}")
            case = (await cd93.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
            got = await cd93.call(
                "GET",
                f"/teledossiers/v1/cases/{case_id}/attachments/{case['attachments'][0]['id']}",
            )
            assert got.body == RSABEI and got.headers["digest"] == b64_sha256(RSABEI)
            # The operator deposits the additional document as an event.
            event = await cnaf.call(
                "POST",
                f"/teledossiers/v1/cases/{local_case}/events",
                json_body={
                    "actionType": "ATTACH_DEPOSIT",
                    "notification": True,
                    "message": "Pièce complémentaire",
                    "attachments": [
                        {
                            "fileName": "RSABAI.xml",
                            "type": "RSABAI",
                            "size": len(RSABAI),
                            "mimeType": "application/xml",
                        }
                    ],
                },
            )
            assert event.status == 201, event.body
            deposit_event = event.json()
            put = await cnaf.call(
                "PUT",
                f"/teledossiers/v1/cases/{local_case}/events/{deposit_event['id']}/attachments/"
                f"{deposit_event['attachments'][0]['id']}",
                data=RSABAI,
                headers={"Content-Type": "application/octet-stream", "digest": b64_sha256(RSABAI)},
            )
            assert put.status == 204, put.body
            second = (await eventually(notified, what="the event's notification"))[0]
            assert second["eventId"] is not None
            pulled = (
                await cd93.call(
                    "GET", f"/teledossiers/v1/cases/{case_id}/events/{second['eventId']}"
                )
            ).json()
            assert pulled["actionType"] == "ATTACH_DEPOSIT" and pulled["status"] == "SENT"
            doc = await cd93.call(
                "GET",
                f"/teledossiers/v1/cases/{case_id}/events/{second['eventId']}/attachments/"
                f"{pulled['attachments'][0]['id']}",
            )
            assert doc.body == RSABAI
            assert (
                doc.headers["digest"] == base64.b64encode(hashlib.sha256(RSABAI).digest()).decode()
            )
            # The department's decision flows back to the operator.
            update = await cd93.call(
                "POST",
                f"/teledossiers/v1/cases/{case_id}/events",
                json_body={
                    "actionType": "STATUS_UPDATE",
                    "caseNewStatus": "IN_PROGRESS",
                    "notification": True,
                    "message": "dossier en instruction",
                },
            )
            assert update.status == 201, update.body

            async def in_progress() -> bool:
                view = (await cnaf.call("GET", f"/teledossiers/v1/cases/{local_case}")).json()
                kinds = [e["actionType"] for e in view.get("events", [])]
                return view["status"] == "IN_PROGRESS" and "STATUS_UPDATE" in kinds

            await eventually(in_progress, what="IN_PROGRESS at the CNAF")
            await _witnessed_bundle(cnaf_gw, folder["id"], tmp_path / "cnaf.asice")
            await _witnessed_bundle(cd93_gw, case_id, tmp_path / "cd93.asice")

    asyncio.run(main())
