"""What the receiving gateway refuses: a dossier whose seal the hub altered, a file
whose bytes are not the sealed ones, and an event whose attachment is not the sealed
one. None appears on the LAN; each is journaled as refused, and the sender gets a
sealed rejection naming the reason."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from gateway.service import gateway_status
from gateway.tables import GatewayTables
from hubee.model import Scope
from tests.integration.gateway.world import (
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
from tests.unit.gateway.support import LanClient, b64_sha256, certdc_folder, deposit


async def _pushed(gw: Gw) -> bool:
    state = (await gateway_status(gw.runtime, gw.service)).outbox
    return state.pending == 0 and state.done > 0


async def _rejection_seen(dgs: LanClient, case_id: str) -> str | None:
    view = (await dgs.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
    for event in view.get("events", []):
        if event["actionType"] == "SENDING_MESSAGE" and "refusé" in (event["message"] or ""):
            return str(event["message"])
    return None


def test_a_bad_seal_and_a_corrupted_file_are_refused_and_reported(tmp_path: Path) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
        si_settings = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
        si: Gw | None = None
        try:
            async with aiohttp.ClientSession() as session:
                dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                sealed_body, sealed_files = certdc_folder(recipient, "ER-BAD-SEAL")
                bad_seal = await deposit(dgs, sealed_body, sealed_files)
                body, files = certdc_folder(recipient, "ER-BAD-FILE")
                bad_file = await deposit(dgs, body, files)
                await eventually(lambda: _pushed(osl), what="both folders at the hub")
                _tamper_seal(hub.runtime.config.engine.db_path, bad_seal["id"])
                _tamper_blob(hub.runtime.config.engine.blob_dir, files[2])
                si = await start_gateway(si_settings, "saint-denis")
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)

                async def refused() -> list[tuple[str, str]] | None:
                    rows = await si.runtime.store.read(
                        lambda tx: (
                            GatewayTables.of(tx)
                            .conn.execute("SELECT folder_id, reason FROM gw_refused ORDER BY at")
                            .fetchall()
                        )
                    )
                    return rows if len(rows) == 2 else None

                reasons = dict(await eventually(refused, what="two refusals"))
                assert "seal" in reasons[bad_seal["id"]]
                assert "is not the sealed" in reasons[bad_file["id"]]
                # Nothing of either on the SI's LAN.
                listed = await commune.call("GET", "/teledossiers/v1/notifications")
                assert listed.status == 200 and listed.json() == []
                # The operator's software learns it, with the reason.
                for folder in (bad_seal, bad_file):
                    message = await eventually(
                        lambda f=folder: _rejection_seen(dgs, f["cases"][0]["id"]),
                        what="the sealed rejection at the DGS",
                    )
                    assert "refusé" in message
                await si.runtime.drain.wait_drained()
                kinds = await _journal_kinds(si, bad_seal["id"])
                assert "refused" in kinds and "delivered" not in kinds
                kinds = await _journal_kinds(osl, bad_file["id"])
                assert "receipt" in kinds
        finally:
            if si is not None:
                await si.service.close()
            await osl.service.close()
            await close_hub(hub)

    asyncio.run(main())


async def _journal_kinds(gw: Gw, folder_id: str) -> list[str]:
    from gateway.journal_drain import subject_indexes

    await gw.runtime.drain.wait_drained()
    indexes = await gw.runtime.store.read(lambda tx: subject_indexes(tx, f"folder/{folder_id}"))
    entries = await gw.runtime.journal.entries_at(indexes)
    return [json.loads(e)["kind"] for e in entries]


def _tamper_seal(db: Path, folder_id: str) -> None:
    conn = sqlite3.connect(db)
    try:
        (seal,) = conn.execute(
            "SELECT seal FROM link_sealed WHERE subject = ?", (folder_id,)
        ).fetchone()
        altered = bytearray(seal)
        altered[-5] ^= 0x55  # inside the signature value
        conn.execute(
            "UPDATE link_sealed SET seal = ? WHERE subject = ?", (bytes(altered), folder_id)
        )
        conn.commit()
    finally:
        conn.close()


def _tamper_blob(blob_dir: Path, data: bytes) -> Any:
    sha = hashlib.sha256(data).hexdigest()
    path = blob_dir / sha[:2] / sha[2:]
    altered = bytearray(path.read_bytes())
    altered[len(altered) // 2] ^= 0x01
    path.write_bytes(bytes(altered))


def test_an_event_whose_attachment_fails_its_digest_is_refused_with_a_sealed_rejection(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        hub = await open_hub(tmp_path)
        osl = await start_gateway(await enrolled_settings(hub, tmp_path / "dgs", DGS), "dgs")
        si_settings = await enrolled_settings(hub, tmp_path / "sd", SAINT_DENIS)
        si: Gw | None = await start_gateway(si_settings, "saint-denis")
        try:
            async with aiohttp.ClientSession() as session:
                dgs = await lan_client(osl, session, name="dgs", process="CERTDC", scope=Scope.OSL)
                assert si is not None
                commune = await lan_client(si, session, name="ec", process="CERTDC", scope=Scope.SI)
                recipient = (SAINT_DENIS.company_register, SAINT_DENIS.branch_code)
                body, files = certdc_folder(recipient, "ER-BAD-EVENT")
                folder = await deposit(dgs, body, files)
                local_case = folder["cases"][0]["id"]

                async def notified() -> list[dict[str, Any]] | None:
                    found = (await commune.call("GET", "/teledossiers/v1/notifications")).json()
                    return found or None

                (note,) = await eventually(notified, what="the case at Saint-Denis")
                case_id = note["caseId"]
                await si.service.close()  # the commune's gateway is off for a while
                si = None
                done_before = (await gateway_status(osl.runtime, osl.service)).outbox.done
                extra = b"%PDF-1.4 piece complementaire, unique to this test\n" * 40
                created = await dgs.call(
                    "POST",
                    f"/teledossiers/v1/cases/{local_case}/events",
                    json_body={
                        "actionType": "ATTACH_DEPOSIT",
                        "notification": True,
                        "message": "Pièce complémentaire",
                        "attachments": [
                            {
                                "fileName": "complement.pdf",
                                "type": "PJ",
                                "size": len(extra),
                                "mimeType": "application/pdf",
                            }
                        ],
                    },
                )
                assert created.status == 201, created.body
                event = created.json()
                put = await dgs.call(
                    "PUT",
                    f"/teledossiers/v1/cases/{local_case}/events/{event['id']}/attachments/"
                    f"{event['attachments'][0]['id']}",
                    data=extra,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "digest": b64_sha256(extra),
                    },
                )
                assert put.status == 204, put.body

                async def event_pushed() -> bool:
                    state = (await gateway_status(osl.runtime, osl.service)).outbox
                    return state.pending == 0 and state.done > done_before

                await eventually(event_pushed, what="the event and its file at the hub")
                _tamper_blob(hub.runtime.config.engine.blob_dir, extra)
                si = await start_gateway(si_settings, "saint-denis")
                commune = await lan_client(
                    si, session, name="ec2", process="CERTDC", scope=Scope.SI
                )

                async def refused() -> list[tuple[str, str]] | None:
                    assert si is not None
                    rows = await si.runtime.store.read(
                        lambda tx: (
                            GatewayTables.of(tx)
                            .conn.execute(
                                "SELECT case_id, reason FROM gw_refused WHERE case_id LIKE 'event:%'"
                            )
                            .fetchall()
                        )
                    )
                    return rows or None

                ((key, reason),) = await eventually(refused, what="the event refused")
                assert "is not the sealed" in reason
                # Never on the commune's LAN: the case shows no such event.
                view = (await commune.call("GET", f"/teledossiers/v1/cases/{case_id}")).json()
                assert "ATTACH_DEPOSIT" not in [e["actionType"] for e in view.get("events", [])]
                kinds = await _journal_kinds(si, folder["id"])
                assert "refused" in kinds
                # The operator's software gets the sealed rejection, with the reason.

                async def rejection_seen() -> str | None:
                    view = (await dgs.call("GET", f"/teledossiers/v1/cases/{local_case}")).json()
                    for found in view.get("events", []):
                        text = found.get("message") or ""
                        if found["actionType"] == "SENDING_MESSAGE" and "événement" in text:
                            return str(text)
                    return None

                message = await eventually(rejection_seen, what="the rejection at the DGS")
                assert key.removeprefix("event:") in message and "refusé" in message
                assert "is not the sealed" in message
                # The rejection was sealed by the commune, and the hub checked that seal.
                sealed = _hub_sealed_event_manifests(hub.runtime.config.engine.db_path)
                assert any(b'"outcome":"rejected"' in m for m in sealed)
        finally:
            if si is not None:
                await si.service.close()
            await osl.service.close()
            await close_hub(hub)

    asyncio.run(main())


def _hub_sealed_event_manifests(db: Path) -> list[bytes]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT manifest FROM link_sealed WHERE kind = 'event'").fetchall()
        return [bytes(r[0]) for r in rows]
    finally:
        conn.close()
