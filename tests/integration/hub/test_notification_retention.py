"""Notifications a client never deletes expire after the démarche's
timeBeforeFolderDeletion (a fake clock); the purge journals their ids only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta

from hubee.model import Scope
from tests.integration.hub.harness import Hub
from tests.integration.hub.world import CERTDC_FILES, build_world, deposit, folder_body

TD = "/teledossiers/v1"


def journaled(hub: Hub, kind: str) -> list[tuple[str, dict[str, object]]]:
    conn = sqlite3.connect(f"file:{hub.settings.db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT subject, data FROM journal WHERE kind = ? ORDER BY seq", (kind,)
        ).fetchall()
        return [(subject, json.loads(data)) for subject, data in rows]
    finally:
        conn.close()


def test_undeleted_notifications_expire_with_the_demarche(hub_run: Callable[..., None]) -> None:
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
        files = CERTDC_FILES[:1]
        old = await deposit(
            hub, dila, folder_body("ETATCIVIL", "EC-OLD", world.saint_denis, files), files
        )

        async def notified() -> list[str]:
            reply = await hub.call(
                "GET", f"{TD}/notifications", token=si, params=[("maxResult", "100")]
            )
            assert reply.status == 200
            return [str(n["caseId"]) for n in reply.json()]

        async def purge() -> dict[str, int]:
            reply = await hub.call("POST", "/referential/v1/purge", token=admin)
            assert reply.status == 200
            return dict(reply.json())

        assert await notified() == [old["cases"][0]["id"]]
        hub.clock.advance(days=29)
        assert (await purge())["notifications_deleted"] == 0  # not yet 30 days old
        fresh = await deposit(
            hub, dila, folder_body("ETATCIVIL", "EC-NEW", world.saint_denis, files), files
        )
        hub.clock.advance(days=1, minutes=1)
        assert (await purge())["notifications_deleted"] == 1
        assert await notified() == [fresh["cases"][0]["id"]]  # the fresh one stays
        # The case itself is untouched (still open, never archived): only the reminder went.
        case = await hub.call("GET", f"{TD}/cases/{old['cases'][0]['id']}", token=si)
        assert case.status == 200
        [(subject, data)] = journaled(hub, "purge.notifications")
        assert subject == "ETATCIVIL" and data["reason"] == "retention"
        assert len(data["notifications"]) == 1  # type: ignore[arg-type]
        assert "EC-OLD" not in json.dumps(data)  # ids only, nothing of the dossier

    hub_run(scenario, token_ttl=timedelta(days=365))
