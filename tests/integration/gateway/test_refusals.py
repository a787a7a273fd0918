"""What the receiving gateway refuses: a dossier whose seal the hub altered, and a
file whose bytes are not the sealed ones. Neither appears on the LAN; both are
journaled as refused, and the sender gets a sealed rejection naming the reason."""

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
from tests.unit.gateway.support import LanClient, certdc_folder, deposit


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
