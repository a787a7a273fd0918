"""Retention over time (a fake clock): files purged, dossiers archived, then deleted."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta

from hubee.model import Scope
from tests.integration.hub.harness import Hub
from tests.integration.hub.world import CERTDC_FILES, build_world, deposit, folder_body

TD = "/teledossiers/v1"


def purge_records(hub: Hub) -> list[tuple[str, dict[str, object]]]:
    conn = sqlite3.connect(f"file:{hub.settings.db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT kind, detail FROM purge_records ORDER BY seq").fetchall()
        return [(kind, json.loads(detail)) for kind, detail in rows]
    finally:
        conn.close()


def test_files_then_dossiers_are_purged_and_evidence_stays(hub_run: Callable[..., None]) -> None:
    async def scenario(hub: Hub) -> None:
        world = await build_world(hub, subscribe=False)
        await hub.process(
            "ETATCIVIL",
            world.dila,
            time_before_file_deletion=2,
            time_before_archiving=10,
            time_before_folder_deletion=30,
        )
        await hub.subscribe("ETATCIVIL", world.saint_denis)
        dila = await hub.login(world.dila, Scope.OSL, "ETATCIVIL")
        si = await hub.login(world.saint_denis, Scope.SI, "ETATCIVIL")
        dinum = await hub.org("ADMIN", "13002526500013", "DINUM", "DINUM")
        admin = await hub.login(dinum, Scope.ADMIN, None)
        files = CERTDC_FILES[:2]
        kept = await deposit(
            hub, dila, folder_body("ETATCIVIL", "EC-KEPT", world.saint_denis, files), files
        )
        folder = await deposit(
            hub, dila, folder_body("ETATCIVIL", "EC-1", world.saint_denis, files), files
        )
        case_id = folder["cases"][0]["id"]
        case_url = f"{TD}/cases/{case_id}"
        await hub.call("GET", case_url, token=si)
        for status in ("SI_RECEIVED", "DONE"):
            assert (
                await hub.call("PATCH", case_url, token=si, json_body={"status": status})
            ).status == 204

        async def purge() -> dict[str, int]:
            reply = await hub.call("POST", "/referential/v1/purge", token=admin)
            assert reply.status == 200
            return dict(reply.json())

        assert (await purge())["cases_with_files_purged"] == 0
        hub.clock.advance(days=1)
        assert (
            await hub.call("PATCH", case_url, token=dila, json_body={"status": "CLOSED"})
        ).status == 204
        assert (
            await hub.call(
                "PATCH",
                f"{TD}/folders/{folder['id']}",
                token=dila,
                json_body={"globalStatus": "CLOSED"},
            )
        ).status == 204

        hub.clock.advance(days=1, minutes=1)  # two days after SI_RECEIVED
        report = await purge()
        assert report["cases_with_files_purged"] == 1 and report["attachments_deleted"] == 2
        assert report["blobs_deleted"] == 0  # the other folder holds the same bytes
        gone = await hub.call(
            "GET", f"{case_url}/attachments/{folder['attachments'][0]['id']}", token=si
        )
        assert gone.status == 404 and "purged" in gone.message
        seen = (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dila)).json()
        assert {a["status"] for a in seen["attachments"]} == {"DELETED"}
        pending = (await hub.call("GET", f"{TD}/attachmentsIdsForPurge", token=si)).json()
        assert {p["case_id"] for p in pending} == {case_id} and len(pending) == 2
        assert (await hub.call("PUT", f"{TD}/idsPurged", token=si, json_body=pending)).status == 204
        assert (await hub.call("GET", f"{TD}/attachmentsIdsForPurge", token=si)).json() == []
        still = await hub.call(
            "GET",
            f"{TD}/cases/{kept['cases'][0]['id']}/attachments/{kept['attachments'][0]['id']}",
            token=si,
        )
        assert still.status == 200 and still.body == files[0].data

        hub.clock.advance(days=10)
        assert (await purge())["folders_archived"] == 1
        assert (await hub.call("GET", case_url, token=si)).json()["status"] == "ARCHIVED"
        late = await hub.call(
            "POST",
            f"{case_url}/events",
            token=dila,
            json_body={"actionType": "COM_ADD", "message": "?"},
        )
        assert late.status == 400 and "archived-is-final" in late.message

        hub.clock.advance(days=30)
        assert (await purge())["folders_deleted"] == 1
        assert (await hub.call("GET", f"{TD}/folders/{folder['id']}", token=dila)).status == 404
        assert (await hub.call("GET", case_url, token=si)).status == 404
        records = purge_records(hub)
        assert [kind for kind, _ in records] == ["files", "archived", "folder"]
        digests = set(records[0][1]["attachments"].values())  # type: ignore[union-attr]
        assert len(digests) == 2 and all(len(str(d)) == 64 for d in digests)
        assert (await hub.call("GET", f"{TD}/folders/{kept['id']}", token=dila)).status == 200

    hub_run(scenario, token_ttl=timedelta(days=365))  # the clock jumps weeks ahead
